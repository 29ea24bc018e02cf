//! Unit tests of the SCIM filter and path parser (`filter.rs`).

use serde_json::json;

use super::*;

fn path(name: &str) -> AttrPath {
    AttrPath { uri: None, name: name.into(), sub: None }
}

fn user() -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "id": "2819c223",
        "userName": "Bjensen",
        "active": true,
        "name": { "familyName": "Jensen", "givenName": "Barbara" },
        "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
        ],
        "meta": { "lastModified": "2011-05-13T04:42:34Z", "resourceType": "User" },
        ENTERPRISE_SCHEMA: { "employeeNumber": "701984", "manager": { "value": "26118915" } }
    })
}

fn check(filter: &str) -> bool {
    parse(filter).unwrap_or_else(|e| panic!("{filter}: {e:?}")).matches(&user())
}

#[test]
fn parses_the_rfc_examples() {
    assert_eq!(
        parse(r#"userName Eq "john""#).unwrap(),
        Filter::Compare(path("userName"), Op::Eq, CompValue::Str("john".into()))
    );
    for text in [
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        "title pr",
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        "members[value eq \"x\"] and age ge -1.5e3",
    ] {
        assert!(parse(text).is_ok(), "{text}");
    }
}

#[test]
fn and_binds_tighter_than_or_and_not_tighter_than_and() {
    let f = parse(r#"a pr or b pr and not (c pr)"#).unwrap();
    assert_eq!(
        f,
        Filter::Or(
            Box::new(Filter::Present(path("a"))),
            Box::new(Filter::And(
                Box::new(Filter::Present(path("b"))),
                Box::new(Filter::Not(Box::new(Filter::Present(path("c")))))
            ))
        )
    );
}

#[test]
fn refuses_malformed_filters() {
    for text in [
        "",
        "userName",
        r#"userName eq"#,
        r#"userName xx "a""#,
        r#"userName eq "unterminated"#,
        r#"(userName eq "a""#,
        r#"userName eq "a")"#,
        r#"emails[type eq "work""#,
        r#"userName eq "a" and"#,
        r#"userName eq bare"#,
        r#"1abc eq "a""#,
        r#"name.given.x eq "a""#,
        "a eq 1e999",
    ] {
        assert!(parse(text).is_err(), "{text} should be refused");
    }
    let deep = format!("{}a pr{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    assert!(parse(&deep).is_err());
    let nots = format!("{}a pr{}", "not (".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    assert!(parse(&nots).is_err());
    assert!(parse(&"a pr and ".repeat(1000)).is_err(), "too long");
}

#[test]
fn evaluates_operators_case_insensitively() {
    assert!(check(r#"username eq "bjensen""#));
    assert!(check(r#"USERNAME EQ "BJENSEN""#));
    assert!(!check(r#"userName ne "bjensen""#));
    assert!(check(r#"name.familyName co "ense""#));
    assert!(check(r#"name.givenName sw "bar""#));
    assert!(check(r#"name.givenName ew "ARA""#));
    assert!(check(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#));
    assert!(check(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#));
    assert!(!check(r#"meta.lastModified lt "2011-05-13T04:42:34Z""#));
    assert!(check(r#"meta.lastModified le "2011-05-13T04:42:34Z""#));
    assert!(check("active eq true"));
    assert!(!check("active eq false"));
    assert!(!check("title pr"));
    assert!(check("emails pr"));
    assert!(check(r#"emails co "jensen.org""#), "a multi-valued attribute compares each value");
    assert!(check(r#"emails.type eq "home""#));
    assert!(check(r#"emails[type eq "work" and value co "@example.com"]"#));
    assert!(!check(r#"emails[type eq "home" and value co "@example.com"]"#));
    assert!(check(r#"not (emails[type eq "other"])"#));
    assert!(check(r#"id eq "2819c223""#));
    assert!(!check(r#"id eq "2819C223""#), "id is case-exact");
    assert!(check(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj""#));
    assert!(check(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#));
    assert!(check(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#));
    assert!(check(r#"(userName eq "x" or userName eq "bjensen") and not (active eq false)"#));
    assert!(!check("userName eq null"));
}

#[test]
fn parses_patch_paths() {
    let p = parse_path(r#"emails[type eq "work"].value"#).unwrap();
    assert_eq!(p.attr, path("emails"));
    assert_eq!(p.sub.as_deref(), Some("value"));
    assert!(p.filter.unwrap().matches(&json!({"type": "Work"})));
    let p = parse_path(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#).unwrap();
    assert_eq!(p.attr, path("members"));
    assert!(p.sub.is_none());
    let p = parse_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager").unwrap();
    assert_eq!(p.attr.uri.as_deref(), Some(ENTERPRISE_SCHEMA));
    assert_eq!(p.attr.name, "manager");
    let p = parse_path("name.givenName").unwrap();
    assert_eq!(p.attr.sub.as_deref(), Some("givenName"));
    for bad in ["", "emails[", "emails]x[", r#"emails[type eq "w"]x"#, "a b", r#"name.x[type eq "w"]"#] {
        assert!(parse_path(bad).is_err(), "{bad}");
    }
}
