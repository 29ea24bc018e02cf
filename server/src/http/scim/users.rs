//! `/scim/v2/{ns}/Users`: accounts, through `domain::accounts` like the Management API's users
//! (the same grants, power checks and audit events: `user.create`, `user.update`,
//! `user.delete`). A `PATCH` is applied to the User document and then handled as a `PUT`.

use serde_json::Value;

use super::filter::ENTERPRISE_SCHEMA;
use super::list::{all_pages, found, Narrowing, Query};
use super::resource::{same_id, Change, Resource};
use super::user_doc::{self, UserState};
use crate::db::Conn;
use crate::domain::accounts::{self, Account, Search};
use crate::domain::{Caller, Context, Precondition};
use crate::error::Result;

/// The `Users` resource type.
pub struct Users;

impl Resource for Users {
    const COLLECTION: &'static str = "Users";
    const NOUN: &'static str = "user";
    type Stored = Account;

    fn id(account: &Account) -> uuid::Uuid {
        account.id
    }

    fn version(account: &Account) -> i64 {
        account.version
    }

    fn document(account: &Account, base: &str, caller: &Caller) -> Value {
        user_doc::write(account, base, caller)
    }

    fn get(conn: &mut Conn, ctx: &Context, ns: &str, id: uuid::Uuid) -> Result<Account> {
        accounts::get(conn, ctx, ns, id)
    }

    fn read(conn: &mut Conn, ctx: &Context, ns: &str, query: &Query) -> Result<Vec<Account>> {
        read_accounts(conn, ctx, ns, &query.narrowing())
    }

    fn apply(
        conn: &mut Conn,
        ctx: &Context,
        ns: &str,
        base: &str,
        change: Change,
        condition: Option<&Precondition>,
    ) -> Result<Option<Account>> {
        match change {
            Change::Create(body) => {
                let state = user_doc::read(&body, &serde_json::Map::new())?;
                accounts::create_with(conn, ctx, ns, state.create(false), None, Some(state.directory)).map(Some)
            }
            Change::Replace(id, body) => {
                same_id(&body, id)?;
                let current = accounts::get(conn, ctx, ns, id)?;
                let state = user_doc::read(&body, &current.attributes)?;
                store(conn, ctx, ns, id, &state, condition).map(Some)
            }
            Change::Patch(id, operations) => {
                let current = accounts::get(conn, ctx, ns, id)?;
                Precondition::check(condition, current.version)?;
                super::patch::refuse_read_only(&operations, user_doc::READ_ONLY)?;
                let mut doc = user_doc::write(&current, base, &ctx.caller);
                super::patch::apply(&mut doc, &operations, &[ENTERPRISE_SCHEMA], user_doc::KNOWN)?;
                same_id(&doc, id)?;
                let state = user_doc::read(&doc, &current.attributes)?;
                // Compared with the version read above: a change in between is a 412, not lost.
                let read_at = Precondition { any: false, etags: vec![Precondition::etag(current.version)] };
                store(conn, ctx, ns, id, &state, Some(&read_at)).map(Some)
            }
            Change::Delete(id) => accounts::delete(conn, ctx, ns, id, condition).map(|()| None),
        }
    }
}

/// The accounts of `namespace` that `narrowing` reads (the caller needs `users:read@<ns>`),
/// each once, in id order.
fn read_accounts(conn: &mut Conn, ctx: &Context, namespace: &str, narrowing: &Narrowing) -> Result<Vec<Account>> {
    ctx.caller.authorize("users", "read", namespace)?;
    let mut lookup = |part: &Narrowing| {
        let search = match part {
            Narrowing::Id(None) => return Ok(Vec::new()),
            Narrowing::Id(Some(id)) => return found(accounts::get(conn, ctx, namespace, *id)),
            Narrowing::SignInPrefix(prefix) => Search { prefix: Some(prefix.clone()), ..Search::default() },
            Narrowing::ExternalId(id) => Search { external_id: Some(id.clone()), ..Search::default() },
            Narrowing::Everything | Narrowing::Union(_) => Search::default(),
        };
        all_pages(|page| accounts::list(conn, ctx, namespace, &search, page))
    };
    narrowing.read(&mut lookup, |account| account.id)
}

/// Writes `state` over account `id`, as the Management API's update does.
fn store(
    conn: &mut Conn,
    ctx: &Context,
    ns: &str,
    id: uuid::Uuid,
    state: &UserState,
    condition: Option<&Precondition>,
) -> Result<Account> {
    accounts::update_with(conn, ctx, ns, id, state.patch(), Some(state.directory.clone()), condition)
}
