//! The failures of the request types' `validator` rules as the API reports them: one
//! [`FieldError`] per failed rule, named by its path (`permissions`, `rows[2].email`), sorted
//! by field. The server answers a `400` with these; the console checks a form with the same
//! rules before sending it, and shows the same messages.

use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::FieldError;

/// The field errors of `errors`, sorted by field.
pub fn collect_field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut fields = Vec::new();
    collect("", errors, &mut fields);
    fields.sort_by(|a, b| a.field.cmp(&b.field));
    fields
}

/// The field errors of `value`'s rules (none when it is valid).
pub fn field_errors_of(value: &impl Validate) -> Vec<FieldError> {
    value.validate().err().map(|errors| collect_field_errors(&errors)).unwrap_or_default()
}

fn collect(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
        match kind {
            ValidationErrorsKind::Field(list) => out.extend(list.iter().map(|e| FieldError {
                field: path.clone(),
                message:
                    e.message.as_ref().map(|m| m.to_string()).unwrap_or_else(|| format!("is invalid ({})", e.code)),
            })),
            ValidationErrorsKind::Struct(inner) => collect(&path, inner, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(&format!("{path}[{index}]"), inner, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountCreate, NamespaceCreate};

    #[test]
    fn every_failed_rule_is_named_by_its_field_in_order() {
        let namespace = NamespaceCreate { slug: "Bad Slug".into(), display_name: String::new() };
        let fields: Vec<String> = field_errors_of(&namespace).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["display_name", "slug"]);
        let account = AccountCreate { phone_number: Some("0800".into()), ..Default::default() };
        assert_eq!(field_errors_of(&account)[0].message, "must be an E.164 number such as +14155550123");
    }
}
