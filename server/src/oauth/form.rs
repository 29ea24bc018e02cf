//! `application/x-www-form-urlencoded` parameters, as OAuth wants them: a parameter given
//! twice is an error, and an empty value counts as absent (RFC 6749 3.1).
//!
//! Parsing is linear in the input and stops at [`MAX_PARAMETERS`]: a form arrives before anyone
//! is authenticated and is parsed on an async worker, so its cost must be bounded by its size.

use std::collections::HashSet;

use super::OAuthError;

/// More parameters than any OAuth or hosted-page request has (about twenty at most).
pub const MAX_PARAMETERS: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// The body of a back-channel endpoint's POST (token, PAR, revocation, introspection): a
    /// bounded form-urlencoded body, parsed; any failure is `invalid_request`.
    pub async fn read(req: &actix_web::HttpRequest, payload: actix_web::web::Payload) -> Result<Form, OAuthError> {
        let body = crate::shell::read_body(
            req,
            payload.into_inner(),
            crate::shell::BODY_LIMIT,
            &["application/x-www-form-urlencoded"],
        )
        .await
        .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
        Form::parse(&body)
    }

    pub fn parse(body: &[u8]) -> Result<Form, OAuthError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for (name, value) in form_urlencoded::parse(body) {
            if pairs.len() == MAX_PARAMETERS {
                return Err(OAuthError::invalid_request(format!("more than {MAX_PARAMETERS} parameters")));
            }
            if !seen.insert(name.clone().into_owned()) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter '{}' is given more than once",
                    shorten(&name)
                )));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Form(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// Every parameter, in the order given (empty values too).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// A form of parameters known to be distinct (a pushed request, rebuilt).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Form {
        Form(pairs)
    }

    /// The parameters, form-urlencoded (what [`Form::parse`] reads back).
    pub fn encode(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.0 {
            out.append_pair(name, value);
        }
        out.finish()
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| OAuthError::invalid_request(format!("parameter '{name}' is required")))
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_and_empty_values_are_absent() {
        let form = Form::parse(b"grant_type=client_credentials&scope=&x=a%20b").unwrap();
        assert_eq!(form.get("grant_type"), Some("client_credentials"));
        assert_eq!(form.get("scope"), None);
        assert_eq!(form.get("x"), Some("a b"));
        assert!(Form::parse(b"a=1&a=2").is_err());
    }

    #[test]
    fn the_number_of_parameters_is_bounded() {
        let at_limit: Vec<String> = (0..MAX_PARAMETERS).map(|i| format!("p{i}=v")).collect();
        assert!(Form::parse(at_limit.join("&").as_bytes()).is_ok());
        let over: Vec<String> = (0..=MAX_PARAMETERS).map(|i| format!("p{i}=v")).collect();
        let refused = Form::parse(over.join("&").as_bytes()).unwrap_err();
        assert!(refused.description.contains("more than"), "{}", refused.description);
    }
}
