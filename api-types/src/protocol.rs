//! The fixed value sets of OAuth that the API carries as strings: grant types, token endpoint
//! authentication methods, signing algorithms and the states of a signing key. Each is an enum
//! defined once here, for the server, the console and the OpenAPI document alike. Its JSON is
//! exactly its protocol string; any other string is refused with the message the `400` names
//! the field with (see [`UnknownValue`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string outside one of these sets. Its text is the message a `400` gives for the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue(pub String);

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnknownValue {}

/// Declares one value set: the enum, its protocol strings (`as_str`, `FromStr`, `Display`,
/// serde) and, with the `openapi` feature, its schema: a string enum named `$schema_name`.
macro_rules! protocol_values {
    (
        $(#[$attr:meta])*
        pub enum $name:ident (schema $schema_name:literal) {
            $($(#[$variant_attr:meta])* $variant:ident = $text:literal,)+
        }
        unknown($unknown:pat) => $message:expr;
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$variant_attr])* $variant,)+
        }

        impl $name {
            /// Every value, in the order the API documents them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The protocol string.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(text: &str) -> Result<Self, UnknownValue> {
                match text {
                    $($text => Ok($name::$variant),)+
                    $unknown => Err(UnknownValue($message)),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some($name::ALL.iter().map(|value| value.as_str())))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($schema_name)
            }
        }
    };
}

protocol_values! {
    /// An OAuth grant type a client may use at the token endpoint.
    pub enum GrantType (schema "GrantType") {
        ClientCredentials = "client_credentials",
        AuthorizationCode = "authorization_code",
        RefreshToken = "refresh_token",
        /// The resource owner password grant, switched on by `password_grant_enabled` alone.
        Password = "password",
        /// The device authorization grant (RFC 8628): a CLI or TV shows a code the user enters
        /// on the hosted page at `/oauth/device`, and polls the token endpoint meanwhile.
        DeviceCode = "urn:ietf:params:oauth:grant-type:device_code",
    }
    unknown(text) => format!(
        "unknown grant type '{}'; expected one of {}",
        crate::checks::shorten(text),
        GrantType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
    );
}

protocol_values! {
    /// How a client authenticates at the token endpoint; `none` is a public client (no secret,
    /// PKCE required); `private_key_jwt` signs an assertion with a key of its `jwks` or
    /// `jwks_uri` (RFC 7523) and has no secret.
    pub enum TokenEndpointAuthMethod (schema "TokenEndpointAuthMethod") {
        ClientSecretBasic = "client_secret_basic",
        ClientSecretPost = "client_secret_post",
        None = "none",
        PrivateKeyJwt = "private_key_jwt",
    }
    unknown(_) => "must be client_secret_basic, client_secret_post, private_key_jwt or none".to_owned();
}

impl TokenEndpointAuthMethod {
    /// Whether a client of this method authenticates with a secret.
    pub fn uses_secret(self) -> bool {
        matches!(self, TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost)
    }
}

protocol_values! {
    /// A JWS algorithm Gatehouse signs tokens with (a client's `access_token_alg`, a key's `alg`).
    #[allow(clippy::upper_case_acronyms)]
    pub enum SigningAlg (schema "AccessTokenAlg") {
        RS256 = "RS256",
        ES256 = "ES256",
        EdDSA = "EdDSA",
    }
    unknown(_) => "must be RS256, ES256 or EdDSA".to_owned();
}

protocol_values! {
    /// Where a signing key is in its rotation: published before it signs (`next`), signing
    /// (`current`), verifying what it signed (`previous`), or no longer published (`retired`).
    pub enum KeyState (schema "KeyState") {
        Next = "next",
        Current = "current",
        Previous = "previous",
        Retired = "retired",
    }
    unknown(text) => format!("unknown key state '{}'", crate::checks::shorten(text));
}

protocol_values! {
    /// What the authorization endpoint returns: a code, or (hybrid, for clients with
    /// `hybrid_enabled`) a code and an ID token. Responses that carry an access token through the
    /// browser are never offered (RFC 9700).
    pub enum ResponseType (schema "ResponseType") {
        Code = "code",
        CodeIdToken = "code id_token",
    }
    unknown(_) => "must be code or code id_token".to_owned();
}

impl ResponseType {
    /// Reads a `response_type` parameter: its values in any order.
    pub fn parse_parameter(text: &str) -> Option<ResponseType> {
        let mut values: Vec<&str> = text.split(' ').filter(|v| !v.is_empty()).collect();
        values.sort_unstable();
        match values.as_slice() {
            ["code"] => Some(ResponseType::Code),
            ["code", "id_token"] => Some(ResponseType::CodeIdToken),
            _ => None,
        }
    }
}

protocol_values! {
    /// How the authorization response travels back to the application: the redirect URI's query
    /// (`code` alone), its fragment (hybrid's default), or a form the browser posts to it.
    pub enum ResponseMode (schema "ResponseMode") {
        Query = "query",
        Fragment = "fragment",
        FormPost = "form_post",
    }
    unknown(_) => "must be query, fragment or form_post".to_owned();
}

/// Deserializes a list of protocol values, naming the list field (not the item) when one is
/// unknown, as its field check did when the values were plain strings.
pub(crate) fn value_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = UnknownValue>,
{
    let texts = Vec::<String>::deserialize(deserializer)?;
    texts.iter().map(|text| text.parse()).collect::<Result<_, _>>().map_err(serde::de::Error::custom)
}

/// [`value_list`] in a patch: absent or `null` is `None`.
pub(crate) fn optional_value_list<'de, D, T>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = UnknownValue>,
{
    let texts = Option::<Vec<String>>::deserialize(deserializer)?;
    texts
        .map(|texts| texts.iter().map(|text| text.parse()).collect::<Result<_, _>>().map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_the_protocol_string() {
        for alg in SigningAlg::ALL {
            let json = serde_json::to_string(alg).unwrap();
            assert_eq!(json, format!("\"{}\"", alg.as_str()));
            assert_eq!(serde_json::from_str::<SigningAlg>(&json).unwrap(), *alg);
        }
        assert_eq!(
            serde_json::to_value(GrantType::ALL).unwrap(),
            serde_json::json!([
                "client_credentials",
                "authorization_code",
                "refresh_token",
                "password",
                "urn:ietf:params:oauth:grant-type:device_code"
            ])
        );
        assert_eq!("none".parse(), Ok(TokenEndpointAuthMethod::None));
        assert_eq!("previous".parse(), Ok(KeyState::Previous));
        assert_eq!(format!("{:<6}|", SigningAlg::ES256), "ES256 |", "Display pads like a str");
    }

    #[test]
    fn unknown_values_keep_the_field_check_messages() {
        let error = |json: &str| serde_json::from_str::<SigningAlg>(json).unwrap_err().to_string();
        assert!(error("\"HS256\"").starts_with("must be RS256, ES256 or EdDSA"), "{}", error("\"HS256\""));
        assert!(error("5").starts_with("invalid type: integer `5`, expected a string"));
        assert_eq!(
            "implicit".parse::<GrantType>().unwrap_err().0,
            "unknown grant type 'implicit'; expected one of client_credentials, authorization_code, refresh_token, \
             password, urn:ietf:params:oauth:grant-type:device_code"
        );
        assert!("rs256".parse::<SigningAlg>().is_err(), "exact strings only");
    }
}
