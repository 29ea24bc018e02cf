//! A SCIM User (core schema and the enterprise extension) to and from an account.
//!
//! Columns the account has are the truth: `userName` is the username, `displayName` the name,
//! `name.givenName`/`familyName` the given and family names, `active` the opposite of disabled,
//! `externalId` its own column; the enterprise extension's attributes are account attributes
//! (`employeeNumber`, `costCenter`, `organization`, `division`, `department`, `manager` as the
//! manager's id). The rest of what the directory sends of the advertised schema (every email and
//! phone number with its type, `name.formatted`, `title`, …) is kept as sent in the account's
//! `scim` column, so the directory reads back what it wrote. The account's email is the primary
//! (else the first) email; its phone number the first valid E.164 number among the phone numbers,
//! primary first (others are kept but sign nobody in).

use gatehouse_api_types::{AccountCreate, AccountPatch};
use serde_json::{json, Map, Value};
use validator::Validate;

use super::filter::{member, ENTERPRISE_SCHEMA, USER_SCHEMA};
use super::{scim_error, time, version_tag, ScimType};
use crate::domain::accounts::{Account, Directory};
use crate::domain::Caller;
use crate::error::Result;

/// Attributes of the enterprise extension kept as account attributes (`manager` as its id).
pub const ENTERPRISE_ATTRIBUTES: [&str; 5] = ["employeeNumber", "costCenter", "organization", "division", "department"];

/// Core attributes kept as sent in the `scim` column.
const KEPT: [&str; 9] = [
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "emails",
    "phoneNumbers",
];

/// Every attribute name a User has, spelled canonically (for PATCH).
pub const KNOWN: &[&str] = &[
    "userName",
    "name",
    "formatted",
    "familyName",
    "givenName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "emails",
    "phoneNumbers",
    "value",
    "type",
    "primary",
    "display",
    "externalId",
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
    "groups",
];

/// What a User document says of an account: its fields and what the directory keeps.
pub struct UserState {
    /// `userName`, unless it is an email address: that is the account's email instead (a
    /// username holds no `@`; Entra ID sends the user principal name).
    pub username: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub attributes: Map<String, Value>,
    pub disabled: bool,
    pub directory: Directory,
}

fn text(value: Option<&Value>, field: &str) -> Result<Option<String>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(scim_error(ScimType::InvalidValue, format!("{field} must be a string"))),
    }
}

/// A boolean, also as Entra sends it: `"True"`, `"False"`.
fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// `+` and 7 to 15 digits once `tel:`, spaces, dashes, dots and parentheses are gone.
fn e164(number: &str) -> Option<String> {
    let number = number.trim();
    let number = number.strip_prefix("tel:").unwrap_or(number);
    let digits: String = number.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let rest = digits.strip_prefix('+')?;
    (rest.len() >= 7
        && rest.len() <= 15
        && rest.starts_with(|c: char| c != '0')
        && rest.chars().all(|c| c.is_ascii_digit()))
    .then(|| format!("+{rest}"))
}

/// A multi-valued attribute's values, each an object; `primary` made a boolean.
fn values(doc: &Value, name: &str) -> Result<Vec<Value>> {
    match member(doc, name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let Value::Object(object) = item else {
                    return Err(scim_error(ScimType::InvalidValue, format!("each of {name} must be an object")));
                };
                let mut object = object.clone();
                if let Some(key) = object.keys().find(|k| k.eq_ignore_ascii_case("primary")).cloned() {
                    let primary = boolean(&object[&key]).ok_or_else(|| {
                        scim_error(ScimType::InvalidValue, format!("{name}.primary must be a boolean"))
                    })?;
                    object.remove(&key);
                    object.insert("primary".into(), Value::Bool(primary));
                }
                Ok(Value::Object(object))
            })
            .collect(),
        Some(_) => Err(scim_error(ScimType::InvalidValue, format!("{name} must be an array"))),
    }
}

fn is_primary(value: &Value) -> bool {
    member(value, "primary").and_then(Value::as_bool).unwrap_or(false)
}

/// The primary value first, then the others in order.
fn primary_first(items: &[Value]) -> Vec<&Value> {
    let mut ordered: Vec<&Value> = items.iter().filter(|v| is_primary(v)).collect();
    ordered.extend(items.iter().filter(|v| !is_primary(v)));
    ordered
}

/// Reads a User document (a POST or PUT body, or a patched document). `attributes` are the
/// account's current attributes: those the extension does not name stay.
pub fn read(doc: &Value, attributes: &Map<String, Value>) -> Result<UserState> {
    let user_name = text(member(doc, "userName"), "userName")?
        .ok_or_else(|| scim_error(ScimType::InvalidValue, "userName is required"))?;
    let mut kept = Map::new();
    for name in KEPT {
        if let Some(value) = member(doc, name).filter(|v| !v.is_null()) {
            kept.insert(name.to_owned(), value.clone());
        }
    }
    let emails = values(doc, "emails")?;
    let phones = values(doc, "phoneNumbers")?;
    for (name, items) in [("emails", &emails), ("phoneNumbers", &phones)] {
        if items.is_empty() {
            kept.remove(name);
        } else {
            kept.insert(name.to_owned(), Value::Array(items.clone()));
        }
    }
    let primary_email = match primary_first(&emails).first() {
        Some(first) => Some(
            text(member(first, "value"), "emails.value")?
                .ok_or_else(|| scim_error(ScimType::InvalidValue, "emails.value is required"))?,
        ),
        None => None,
    };
    let (username, email) =
        if user_name.contains('@') { (None, Some(user_name)) } else { (Some(user_name), primary_email) };
    let mut phone_number = None;
    for phone in primary_first(&phones) {
        if let Some(number) = text(member(phone, "value"), "phoneNumbers.value")?.as_deref().and_then(e164) {
            phone_number = Some(number);
            break;
        }
    }
    let (mut given_name, mut family_name) = (None, None);
    match member(doc, "name") {
        None | Some(Value::Null) => {}
        Some(Value::Object(name)) => {
            let mut rest = Map::new();
            for (key, value) in name {
                if key.eq_ignore_ascii_case("givenName") {
                    given_name = text(Some(value), "name.givenName")?;
                } else if key.eq_ignore_ascii_case("familyName") {
                    family_name = text(Some(value), "name.familyName")?;
                } else if !value.is_null() {
                    let known = KNOWN
                        .iter()
                        .find(|k| k.eq_ignore_ascii_case(key))
                        .map_or_else(|| key.clone(), |k| (*k).to_owned());
                    rest.insert(known, value.clone());
                }
            }
            if !rest.is_empty() {
                kept.insert("name".into(), Value::Object(rest));
            }
        }
        Some(_) => return Err(scim_error(ScimType::InvalidValue, "name must be an object")),
    }
    let disabled = match member(doc, "active") {
        None | Some(Value::Null) => false,
        Some(value) => !boolean(value).ok_or_else(|| scim_error(ScimType::InvalidValue, "active must be a boolean"))?,
    };
    // Whether the directory stated `active`: an account it left unstated shows none (unless it
    // is disabled), so that a `remove` of `active` reads back as removed.
    kept.insert(
        "active".into(),
        if member(doc, "active").is_some_and(|v| !v.is_null()) { json!(!disabled) } else { Value::Null },
    );
    let mut attributes = attributes.clone();
    let extension = match member(doc, ENTERPRISE_SCHEMA) {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(value @ Value::Object(_)) => value.clone(),
        Some(_) => return Err(scim_error(ScimType::InvalidValue, "the enterprise extension must be an object")),
    };
    for name in ENTERPRISE_ATTRIBUTES {
        match text(member(&extension, name), name)? {
            Some(value) => attributes.insert(name.to_owned(), Value::String(value)),
            None => attributes.remove(name),
        };
    }
    let manager = match member(&extension, "manager") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(object @ Value::Object(_)) => text(member(object, "value"), "manager.value")?,
        Some(_) => return Err(scim_error(ScimType::InvalidValue, "manager must be an object")),
    };
    match manager {
        Some(id) => attributes.insert("manager".into(), Value::String(id)),
        None => attributes.remove("manager"),
    };
    let state = UserState {
        username,
        email,
        phone_number,
        name: text(member(doc, "displayName"), "displayName")?,
        given_name,
        family_name,
        attributes,
        disabled,
        directory: Directory { external_id: text(member(doc, "externalId"), "externalId")?, scim: kept },
    };
    state.create(false).validate()?;
    Ok(state)
}

impl UserState {
    /// The account to create (without a password: SCIM provisions, the person signs in later).
    pub fn create(&self, email_verified: bool) -> AccountCreate {
        AccountCreate {
            username: self.username.clone(),
            email: self.email.clone(),
            email_verified,
            phone_number: self.phone_number.clone(),
            phone_number_verified: false,
            name: self.name.clone(),
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            attributes: Some(self.attributes.clone()),
            disabled: self.disabled,
            password: None,
        }
    }

    /// The account's new fields, every one of them (a replacement).
    pub fn patch(&self) -> AccountPatch {
        AccountPatch {
            username: Some(self.username.clone()),
            email: Some(self.email.clone()),
            email_verified: None,
            phone_number: Some(self.phone_number.clone()),
            phone_number_verified: None,
            name: Some(self.name.clone()),
            given_name: Some(self.given_name.clone()),
            family_name: Some(self.family_name.clone()),
            attributes: Some(self.attributes.clone()),
            disabled: Some(self.disabled),
        }
    }
}

/// The attributes a directory reads but never writes (RFC 7643 §4.1.2's `groups`): a `PUT`
/// that carries them is read without them, a `PATCH` that names them is refused.
pub const READ_ONLY: &[&str] = &["groups"];

/// The `scim/v2` URL of another namespace, beside `base` (`…/scim/v2/{ns}`).
pub fn namespace_base(base: &str, namespace: &str) -> String {
    match base.rsplit_once('/') {
        Some((root, _)) => format!("{root}/{namespace}"),
        None => base.to_owned(),
    }
}

/// The account's groups (RFC 7643 §4.1.2, read-only): each group's id and `$ref` (in its own
/// namespace, which may not be the account's), and its name where `caller` may read that
/// namespace, as the Management API's `…/users/{id}/groups` shows them. Memberships are direct:
/// groups do not nest.
fn groups(account: &Account, base: &str, caller: &Caller) -> Vec<Value> {
    account
        .groups
        .iter()
        .map(|group| {
            let mut value = json!({
                "value": group.group_id,
                "$ref": format!("{}/Groups/{}", namespace_base(base, &group.namespace), group.group_id),
                "type": "direct",
            });
            if caller.may("users", "read", &group.namespace) {
                value["display"] = json!(group.name);
            }
            value
        })
        .collect()
}

/// The User document of `account` as `caller` sees it; `base` is its namespace's SCIM URL.
pub fn write(account: &Account, base: &str, caller: &Caller) -> Value {
    let mut doc = Map::new();
    let mut schemas = vec![json!(USER_SCHEMA)];
    doc.insert("id".into(), json!(account.id));
    if let Some(external_id) = &account.external_id {
        doc.insert("externalId".into(), json!(external_id));
    }
    let user_name = account.username.clone().or_else(|| account.email.clone()).or_else(|| account.phone_number.clone());
    doc.insert("userName".into(), json!(user_name.unwrap_or_else(|| account.id.to_string())));
    for (key, value) in &account.scim {
        if !["emails", "phoneNumbers", "name", "active"].contains(&key.as_str()) {
            doc.insert(key.clone(), value.clone());
        }
    }
    let mut name = account.scim.get("name").and_then(Value::as_object).cloned().unwrap_or_default();
    if let Some(given) = &account.given_name {
        name.insert("givenName".into(), json!(given));
    }
    if let Some(family) = &account.family_name {
        name.insert("familyName".into(), json!(family));
    }
    if !name.is_empty() {
        doc.insert("name".into(), Value::Object(name));
    }
    if let Some(display) = &account.name {
        doc.insert("displayName".into(), json!(display));
    }
    if account.disabled || account.scim.get("active") != Some(&Value::Null) {
        doc.insert("active".into(), json!(!account.disabled));
    }
    // The account's email and phone number win over what the directory last sent (the
    // Management API may have changed them since).
    let kept = |name: &str| account.scim.get(name).and_then(Value::as_array).cloned().unwrap_or_default();
    let emails = match &account.email {
        None => Vec::new(),
        // An email-shaped userName: the directory's emails are its own.
        Some(email) if account.username.is_none() => {
            let emails = kept("emails");
            if emails.is_empty() {
                vec![json!({ "value": email, "primary": true })]
            } else {
                emails
            }
        }
        Some(email) => {
            let emails = kept("emails");
            let holds = emails
                .iter()
                .any(|e| member(e, "value").and_then(Value::as_str).is_some_and(|v| v.eq_ignore_ascii_case(email)));
            if holds {
                emails
            } else {
                vec![json!({ "value": email, "primary": true })]
            }
        }
    };
    if !emails.is_empty() {
        doc.insert("emails".into(), Value::Array(emails));
    }
    let phones = kept("phoneNumbers");
    let number_of = |p: &Value| member(p, "value").and_then(Value::as_str).and_then(e164);
    let phones = match &account.phone_number {
        None => phones.into_iter().filter(|p| number_of(p).is_none()).collect(),
        Some(number) if phones.iter().any(|p| number_of(p).as_deref() == Some(number)) => phones,
        Some(number) => vec![json!({ "value": number, "primary": true })],
    };
    if !phones.is_empty() {
        doc.insert("phoneNumbers".into(), Value::Array(phones));
    }
    let groups = groups(account, base, caller);
    if !groups.is_empty() {
        doc.insert("groups".into(), Value::Array(groups));
    }
    let mut extension = Map::new();
    for name in ENTERPRISE_ATTRIBUTES {
        if let Some(value) = account.attributes.get(name).filter(|v| v.is_string()) {
            extension.insert(name.to_owned(), value.clone());
        }
    }
    if let Some(manager) = account.attributes.get("manager").filter(|v| v.is_string()) {
        extension.insert("manager".into(), json!({ "value": manager }));
    }
    if !extension.is_empty() {
        schemas.push(json!(ENTERPRISE_SCHEMA));
        doc.insert(ENTERPRISE_SCHEMA.into(), Value::Object(extension));
    }
    doc.insert("schemas".into(), Value::Array(schemas));
    doc.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": time(account.created_at),
            "lastModified": time(account.updated_at),
            "location": format!("{base}/Users/{}", account.id),
            "version": version_tag(account.version),
        }),
    );
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_read_as_e164_when_they_are() {
        assert_eq!(e164("tel:+1-201-555-0123").as_deref(), Some("+12015550123"));
        assert_eq!(e164("+33 (1) 23 45 67 89").as_deref(), Some("+33123456789"));
        assert_eq!(e164("0123456789"), None);
        assert_eq!(e164("+0123456789"), None);
        assert_eq!(e164("+12"), None);
    }

    #[test]
    fn a_document_is_read_into_fields_attributes_and_what_the_directory_keeps() {
        let doc = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "userName": "bjensen",
            "externalId": "ext-1",
            "displayName": "Babs Jensen",
            "name": { "givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen" },
            "emails": [{ "value": "b@home.org", "type": "home" }, { "value": "b@work.com", "type": "work", "primary": "True" }],
            "phoneNumbers": [{ "value": "555-0100", "type": "work" }, { "value": "+1 201 555 0123", "type": "mobile" }],
            "active": "False",
            "title": "Tour Guide",
            ENTERPRISE_SCHEMA: { "department": "Tours", "manager": { "value": "m-1" } }
        });
        let mut existing = Map::new();
        existing.insert("favourite".into(), json!("blue"));
        existing.insert("costCenter".into(), json!("old"));
        let state = read(&doc, &existing).unwrap();
        assert_eq!(state.email.as_deref(), Some("b@work.com"), "the primary email");
        assert_eq!(state.phone_number.as_deref(), Some("+12015550123"), "the first E.164 number");
        assert!(state.disabled);
        assert_eq!(state.attributes["department"], "Tours");
        assert_eq!(state.attributes["manager"], "m-1");
        assert_eq!(state.attributes["favourite"], "blue", "attributes SCIM does not name stay");
        assert!(!state.attributes.contains_key("costCenter"), "an extension attribute absent is removed");
        assert_eq!(state.directory.external_id.as_deref(), Some("ext-1"));
        assert_eq!(state.directory.scim["name"], json!({ "formatted": "Ms. Barbara J Jensen" }));
        assert_eq!(state.directory.scim["emails"][1]["primary"], true);
        assert!(read(&json!({ "userName": "" }), &Map::new()).is_err());
        let upn =
            read(&json!({ "userName": "ada@contoso.com", "emails": [{ "value": "a@x.io" }] }), &Map::new()).unwrap();
        assert_eq!((upn.username, upn.email.as_deref()), (None, Some("ada@contoso.com")), "an email-shaped userName");
        assert!(read(&json!({ "userName": "a", "active": "maybe" }), &Map::new()).is_err());
        assert!(read(&json!({ "userName": "a", "emails": [{ "value": "not an email" }] }), &Map::new()).is_err());
    }
}
