//! JSON request bodies of the Management API, read as `http::extract::Json` reads them
//! (`parse_json`: errors named by field) and then checked by their `validator` rules (names,
//! emails, E.164 numbers, grants, redirect URIs, attribute claims, group names, …). The first byte picks
//! the body type. Properties: no panic; a refusal names a field; a create body that is valid
//! serializes to one that parses and is valid again; account sign-in names fold stably.
#![no_main]

use gatehouse::domain::accounts::Account;
use gatehouse::domain::names;
use gatehouse::error::Error;
use gatehouse::http::extract::parse_json;
use gatehouse_api_types as api;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use validator::Validate;

fn read<T: DeserializeOwned + Validate + Serialize>(body: &[u8]) -> Option<T> {
    let value: T = match parse_json(body) {
        Ok(value) => value,
        Err(Error::Invalid { errors, .. }) => {
            // (The field may be "": an unknown member `""` is reported under its own name.)
            assert!(errors.len() == 1 && !errors[0].message.is_empty());
            return None;
        }
        Err(other) => panic!("a body is refused as invalid, not {other:?}"),
    };
    if let Err(e) = value.validate() {
        let Error::Invalid { errors, .. } = Error::from(e) else { panic!("validation errors are 400s") };
        assert!(!errors.is_empty() && errors.iter().all(|e| !e.field.is_empty() && !e.message.is_empty()));
        return None;
    }
    let again = serde_json::to_vec(&value).expect("serializes");
    let back: T =
        parse_json(&again).unwrap_or_else(|e| panic!("{} no longer parses: {e:?}", String::from_utf8_lossy(&again)));
    assert!(back.validate().is_ok(), "{} no longer validates", String::from_utf8_lossy(&again));
    Some(value)
}

fn folds_stably(name: &str) {
    let once = names::fold(name);
    assert_eq!(names::fold(&once), once, "fold is not stable for {name:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else { return };
    match kind % 13 {
        0 => {
            if let Some(input) = read::<api::AccountCreate>(body) {
                if let Ok(account) = Account::new("customers", input, None) {
                    assert!(account.username.is_some() || account.email.is_some() || account.phone_number.is_some());
                    for name in account.username.iter().chain(account.email.iter()) {
                        folds_stably(name);
                    }
                    let _ = (
                        account.username_key(),
                        account.email_key(),
                        account.to_api(),
                        account.audit_view(),
                        account.etag(),
                    );
                }
            }
        }
        1 => {
            let _ = read::<api::ClientCreate>(body);
        }
        2 => {
            let _ = parse_json::<api::AccountPatch>(body).map(|p| p.validate());
        }
        3 => {
            let _ = parse_json::<api::ClientPatch>(body).map(|p| p.validate());
        }
        4 => {
            let _ = read::<api::NamespaceCreate>(body);
        }
        5 => {
            let _ = parse_json::<api::NamespacePatch>(body).map(|p| p.validate());
        }
        6 => {
            if let Some(p) = read::<api::Permissions>(body) {
                let grants = gatehouse::domain::parse_request_grants("permissions", &p.permissions)
                    .expect("validated grants parse");
                assert_eq!(grants.len(), p.permissions.len());
            }
        }
        7 => {
            let _ = read::<api::PasswordSet>(body);
        }
        8 => {
            let _ = read::<api::SecretRotate>(body);
        }
        9 => {
            let _ = parse_json::<api::ProfilePatch>(body).map(|p| p.validate());
        }
        10 => {
            let _ = read::<api::GroupCreate>(body);
        }
        11 => {
            let _ = parse_json::<api::GroupPatch>(body).map(|p| p.validate());
        }
        _ => {
            let _ = read::<api::PasswordChange>(body);
            if let Ok(name) = std::str::from_utf8(body) {
                folds_stably(name);
            }
        }
    }
});
