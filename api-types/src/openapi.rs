//! Schemas that describe some strings of the API more closely than `String` does, for the
//! OpenAPI document only: the request types keep plain strings (so that a wrong value gets a
//! `400` from its field check, listing every bad field at once) and point their documentation
//! here with `value_type`. Each pattern says exactly what the matching check in
//! [`crate::checks`] accepts. The fixed value sets of OAuth are enums with their own schemas,
//! in [`crate::protocol`].

use utoipa::ToSchema;

/// A grant `<resource>:<action>@<namespace>`; each part may be `*`.
#[derive(ToSchema)]
#[schema(pattern = r"^(namespaces|users|permissions|clients|audit|keys|\*):(read|write|\*)@(\*|[a-z][a-z0-9-]{1,62})$")]
pub struct Grant(pub String);

/// An absolute redirect URI without a fragment: `https`, `http` on a loopback host, or a
/// private-use scheme in reverse-domain form (RFC 8252).
#[derive(ToSchema)]
#[schema(
    pattern = r#"^((https://[A-Za-z0-9.-]+|http://(localhost|127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|\[::1\]))(:[0-9]{1,5})?([/?][!"$-~]{0,1900})?|[a-z][a-z0-9+-]{0,30}(\.[a-z0-9+-]{1,30}){1,5}:/[!"$-~]{0,1800})$"#
)]
pub struct RedirectUri(pub String);

/// An account attribute released as a claim: 1 to 64 of `[A-Za-z0-9_.-]`.
#[derive(ToSchema)]
#[schema(pattern = r"^[A-Za-z0-9_.-]{1,64}$")]
pub struct AttributeName(pub String);

/// An audit event's outcome.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Denied,
    Failure,
}

/// One row of a bulk import: an [`AccountImport`](crate::AccountImport). Rows are checked one
/// by one, so any other JSON value is taken as well and reported as that row's failure in the
/// result's `errors`.
pub struct ImportRow;

impl utoipa::PartialSchema for ImportRow {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, SchemaType};
        AnyOfBuilder::new()
            .item(utoipa::openapi::Ref::from_schema_name("AccountImport"))
            .item(ObjectBuilder::new().schema_type(SchemaType::AnyValue))
            .description(Some("An AccountImport; any other value fails alone, reported by its index"))
            .into()
    }
}

impl ToSchema for ImportRow {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        schemas.push(("AccountImport".to_owned(), <crate::AccountImport as utoipa::PartialSchema>::schema()));
        <crate::AccountImport as ToSchema>::schemas(schemas);
    }
}
