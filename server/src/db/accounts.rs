//! Accounts: lookups by id, by sign-in name and by contact (compared case-folded, NFKC), keyset-paged
//! search, versioned updates, and the unverified registrations housekeeping removes.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use gatehouse_api_types::grant::Grant;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::groups::{self, GroupGrants};
use super::ids::AccountId;
use super::schema::{account_groups, accounts, group_members};
use super::{
    fold, from_db_time, from_json_text, grant_strings, parse_stored_grants, parse_uuid, prefix_upper_bound, to_db_time,
    to_json_text, Conn, Unique,
};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: Uuid,
    pub namespace: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone_number: Option<String>,
    pub phone_number_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub attributes: Map<String, Value>,
    /// The account's own grants (what `…/users/{id}/permissions` sets).
    pub permissions: Vec<Grant>,
    /// The groups the account is a member of, with their grants, read with it (what it holds
    /// beyond its own grants: `domain::accounts::Account::power`).
    pub groups: Vec<GroupGrants>,
    /// PHC string; never leaves the server.
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Access tokens issued before this time no longer count (set when its password changes).
    pub tokens_valid_after: Option<DateTime<Utc>>,
    /// A self-registration not verified by then gives up its sign-in names.
    pub registration_expires_at: Option<DateTime<Utc>>,
    /// A provisioning directory's own identifier of the account (SCIM `externalId`).
    pub external_id: Option<String>,
    /// The SCIM attributes no column holds, as the directory sent them (ADR 0018).
    pub scim: Map<String, Value>,
}

impl Account {
    /// The `username_key` column: the username folded ([`fold`]).
    pub fn username_key(&self) -> Option<String> {
        self.username.as_deref().map(fold)
    }

    /// The `email_key` column: the email address folded ([`fold`]).
    pub fn email_key(&self) -> Option<String> {
        self.email.as_deref().map(fold)
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = accounts, treat_none_as_null = true)]
pub(super) struct Row {
    pub id: String,
    pub namespace: String,
    pub username: Option<String>,
    pub username_key: Option<String>,
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub email_verified: bool,
    pub phone_number: Option<String>,
    pub phone_number_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub attributes: String,
    pub permissions: String,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub tokens_valid_after: Option<NaiveDateTime>,
    pub registration_expires_at: Option<NaiveDateTime>,
    pub external_id: Option<String>,
    pub scim: String,
}

impl Row {
    pub(super) fn into_account(self) -> Result<Account> {
        Ok(Account {
            id: parse_uuid(&self.id)?,
            namespace: self.namespace,
            username: self.username,
            email: self.email,
            email_verified: self.email_verified,
            phone_number: self.phone_number,
            phone_number_verified: self.phone_number_verified,
            name: self.name,
            given_name: self.given_name,
            family_name: self.family_name,
            attributes: from_json_text(&self.attributes)?,
            permissions: parse_stored_grants(&from_json_text::<Vec<String>>(&self.permissions)?),
            groups: Vec::new(),
            password_hash: self.password_hash,
            disabled: self.disabled,
            version: self.version,
            created_at: from_db_time(self.created_at),
            updated_at: from_db_time(self.updated_at),
            tokens_valid_after: self.tokens_valid_after.map(from_db_time),
            registration_expires_at: self.registration_expires_at.map(from_db_time),
            external_id: self.external_id,
            scim: from_json_text(&self.scim)?,
        })
    }

    fn from_account(a: &Account) -> Result<Row> {
        Ok(Row {
            id: a.id.to_string(),
            namespace: a.namespace.clone(),
            username: a.username.clone(),
            username_key: a.username_key(),
            email: a.email.clone(),
            email_key: a.email_key(),
            email_verified: a.email_verified,
            phone_number: a.phone_number.clone(),
            phone_number_verified: a.phone_number_verified,
            name: a.name.clone(),
            given_name: a.given_name.clone(),
            family_name: a.family_name.clone(),
            attributes: to_json_text(&a.attributes)?,
            permissions: to_json_text(&grant_strings(&a.permissions))?,
            password_hash: a.password_hash.clone(),
            disabled: a.disabled,
            version: a.version,
            created_at: to_db_time(a.created_at),
            updated_at: to_db_time(a.updated_at),
            tokens_valid_after: a.tokens_valid_after.map(to_db_time),
            registration_expires_at: a.registration_expires_at.map(to_db_time),
            external_id: a.external_id.clone(),
            scim: to_json_text(&a.scim)?,
        })
    }
}

/// Accounts from their rows, each with the groups it is a member of (one statement for all).
fn with_groups(conn: &mut Conn, rows: Vec<Row>) -> Result<Vec<Account>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut held = groups::grants_of(conn, &ids)?;
    rows.into_iter()
        .map(|row| {
            let groups = held.remove(&row.id).unwrap_or_default();
            row.into_account().map(|account| Account { groups, ..account })
        })
        .collect()
}

fn one_with_groups(conn: &mut Conn, row: Option<Row>) -> Result<Option<Account>> {
    Ok(with_groups(conn, row.into_iter().collect())?.pop())
}

pub fn insert(conn: &mut Conn, account: &Account) -> Result<()> {
    diesel::insert_into(accounts::table).values(Row::from_account(account)?).execute(conn)?;
    Ok(())
}

/// Rows per multi-row `INSERT` of accounts: 23 columns each, below SQLite's 32,766 bound
/// parameters (and PostgreSQL's 65,535).
const INSERT_ROWS: usize = 1_000;
/// Keys per lookup of who holds a sign-in name.
const LOOKUP_KEYS: usize = 500;

/// A sign-in name column with a unique index per namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SignInName {
    Username,
    Email,
    PhoneNumber,
}

impl SignInName {
    fn key(self, account: &Account) -> Option<String> {
        match self {
            SignInName::Username => account.username_key(),
            SignInName::Email => account.email_key(),
            SignInName::PhoneNumber => account.phone_number.clone(),
        }
    }

    fn field(self) -> &'static str {
        match self {
            SignInName::Username => "username",
            SignInName::Email => "email",
            SignInName::PhoneNumber => "phone_number",
        }
    }
}

/// The id of an inserted row, as a raw statement returns it.
#[derive(QueryableByName)]
struct InsertedId {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// Every column of `accounts`, in the order of [`insert_unnested`]'s arrays (a unit test holds
/// it to `schema.rs`).
const UNNESTED_COLUMNS: &str = "id, namespace, username, username_key, email, email_key, email_verified, \
     phone_number, phone_number_verified, name, given_name, family_name, attributes, permissions, \
     password_hash, disabled, version, created_at, updated_at, tokens_valid_after, \
     registration_expires_at, external_id, scim";

/// PostgreSQL: `rows` in one `INSERT … SELECT FROM unnest(<one array per column>) ON CONFLICT
/// DO NOTHING RETURNING id`. Its text is short and the same for any number of rows, so parsing
/// and planning it is cheap (diesel prepares a `sql_query` anew on every call, see `db::fixed`;
/// a multi-row `VALUES` of 1,000 rows and 23 columns, parsed and planned for every chunk, was a
/// fifth of PostgreSQL's time in an import). Rows are
/// inserted in order, so a row that repeats an earlier row's sign-in name is the one skipped.
fn insert_unnested(c: &mut diesel::PgConnection, rows: Vec<Row>) -> Result<Vec<String>> {
    use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamp};
    macro_rules! column {
        ($name:ident) => {
            rows.iter().map(|r| r.$name.clone()).collect::<Vec<_>>()
        };
    }
    let query = diesel::sql_query(
        "INSERT INTO accounts (".to_owned()
            + UNNESTED_COLUMNS
            + ") SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::bool[], $8::text[], $9::bool[], $10::text[], $11::text[], $12::text[], $13::text[], \
             $14::text[], $15::text[], $16::bool[], $17::int8[], $18::timestamp[], $19::timestamp[], \
             $20::timestamp[], $21::timestamp[], $22::text[], $23::text[]) \
             ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind::<Array<Text>, _>(column!(id))
    .bind::<Array<Text>, _>(column!(namespace))
    .bind::<Array<Nullable<Text>>, _>(column!(username))
    .bind::<Array<Nullable<Text>>, _>(column!(username_key))
    .bind::<Array<Nullable<Text>>, _>(column!(email))
    .bind::<Array<Nullable<Text>>, _>(column!(email_key))
    .bind::<Array<Bool>, _>(column!(email_verified))
    .bind::<Array<Nullable<Text>>, _>(column!(phone_number))
    .bind::<Array<Bool>, _>(column!(phone_number_verified))
    .bind::<Array<Nullable<Text>>, _>(column!(name))
    .bind::<Array<Nullable<Text>>, _>(column!(given_name))
    .bind::<Array<Nullable<Text>>, _>(column!(family_name))
    .bind::<Array<Text>, _>(column!(attributes))
    .bind::<Array<Text>, _>(column!(permissions))
    .bind::<Array<Nullable<Text>>, _>(column!(password_hash))
    .bind::<Array<Bool>, _>(column!(disabled))
    .bind::<Array<BigInt>, _>(column!(version))
    .bind::<Array<Timestamp>, _>(column!(created_at))
    .bind::<Array<Timestamp>, _>(column!(updated_at))
    .bind::<Array<Nullable<Timestamp>>, _>(column!(tokens_valid_after))
    .bind::<Array<Nullable<Timestamp>>, _>(column!(registration_expires_at))
    .bind::<Array<Nullable<Text>>, _>(column!(external_id))
    .bind::<Array<Text>, _>(column!(scim));
    Ok(query.load::<InsertedId>(c)?.into_iter().map(|row| row.id).collect())
}

/// Inserts `accounts` in order, each as if on its own: one that takes a sign-in name already
/// taken (before it, by an earlier one of them or an existing account) is skipped and gets the
/// error its own `INSERT` would have got. A few multi-row `INSERT … ON CONFLICT DO NOTHING
/// RETURNING id`, then, only if some were skipped, one lookup per sign-in name for why.
pub fn insert_each(conn: &mut Conn, accounts: &[Account]) -> Result<Vec<Result<()>>> {
    let mut inserted: HashSet<String> = HashSet::with_capacity(accounts.len());
    for chunk in accounts.chunks(INSERT_ROWS) {
        let rows = chunk.iter().map(Row::from_account).collect::<Result<Vec<Row>>>()?;
        match conn {
            Conn::Pg(c) => inserted.extend(insert_unnested(c, rows)?),
            // diesel writes a multi-row INSERT for SQLite only when no value is DEFAULT and
            // otherwise runs one statement per row, each expecting its row back; SQLite's
            // statements run in-process, so one per row, each answering zero or one id.
            Conn::Sqlite(c) => {
                for row in &rows {
                    inserted.extend(
                        diesel::insert_into(accounts::table)
                            .values(row)
                            .on_conflict_do_nothing()
                            .returning(accounts::id)
                            .get_results::<String>(c)?,
                    );
                }
            }
        }
    }
    let skipped: Vec<(usize, &Account)> =
        accounts.iter().enumerate().filter(|(_, a)| !inserted.contains(&a.id.to_string())).collect();
    if skipped.is_empty() {
        return Ok(accounts.iter().map(|_| Ok(())).collect());
    }
    // The unique index each database checks first names the field: PostgreSQL checks them in
    // the order they were made, SQLite the other way round.
    let order = match conn {
        Conn::Pg(_) => [SignInName::Username, SignInName::Email, SignInName::PhoneNumber],
        Conn::Sqlite(_) => [SignInName::PhoneNumber, SignInName::Email, SignInName::Username],
    };
    let namespace = &skipped[0].1.namespace;
    let mut holders: HashMap<(SignInName, String), String> = HashMap::new();
    for name in order {
        let keys: Vec<String> = skipped.iter().filter_map(|(_, a)| name.key(a)).collect();
        for keys in keys.chunks(LOOKUP_KEYS) {
            let query = accounts::table.filter(accounts::namespace.eq(namespace));
            let found: Vec<(Option<String>, String)> = match name {
                SignInName::Username => query
                    .filter(accounts::username_key.eq_any(keys))
                    .select((accounts::username_key, accounts::id))
                    .load(conn)?,
                SignInName::Email => query
                    .filter(accounts::email_key.eq_any(keys))
                    .select((accounts::email_key, accounts::id))
                    .load(conn)?,
                SignInName::PhoneNumber => query
                    .filter(accounts::phone_number.eq_any(keys))
                    .select((accounts::phone_number, accounts::id))
                    .load(conn)?,
            };
            holders.extend(found.into_iter().filter_map(|(key, id)| Some(((name, key?), id))));
        }
    }
    // A name counts as taken by an existing account or one inserted before, not after.
    let position: HashMap<String, usize> = accounts.iter().enumerate().map(|(i, a)| (a.id.to_string(), i)).collect();
    let mut outcomes: Vec<Result<()>> = accounts.iter().map(|_| Ok(())).collect();
    for (at, account) in skipped {
        let taken = order.into_iter().find(|name| {
            name.key(account)
                .and_then(|key| holders.get(&(*name, key)))
                .is_some_and(|holder| position.get(holder).is_none_or(|p| *p < at))
        });
        outcomes[at] = Err(Error::Conflict(match taken {
            Some(name) => format!("{} is already taken", name.field()),
            None => "the resource already exists".into(),
        }));
    }
    Ok(outcomes)
}

/// The account with the id `$key` and the groups it is in: a row per group, or one row in none.
/// The joins go left to right. SQLite runs a parenthesised join on the right of a LEFT JOIN
/// (`accounts LEFT JOIN (group_members JOIN account_groups)`) by materialising it first: every
/// membership of every account, for each read (`tests::the_lookups_search_by_key`).
macro_rules! account_with_groups {
    ($key:expr) => {
        accounts::table
            .left_join(group_members::table)
            .left_join(account_groups::table.on(account_groups::id.eq(group_members::group_id)))
            .filter(accounts::id.eq($key))
            .select((Row::as_select(), groups::GROUP_GRANTS_COLUMNS.nullable()))
            .order(group_members::group_id.asc())
    };
}

pub fn get(conn: &mut Conn, id: AccountId) -> Result<Option<Account>> {
    // Every Management API request about an account runs this: one statement for the account
    // and the groups it is in (a row per group, or one row in none), a round trip less on
    // PostgreSQL than reading them apart; on the concrete connection (see `native!`), whose
    // statement cache knows the query by its type and so never builds its SQL again (through
    // `Conn`, building it was a tenth of a read's CPU).
    let key = id.to_string();
    let rows: Vec<(Row, Option<groups::GroupGrantsRow>)> = native!(conn, |c| account_with_groups!(&key).load(c))?;
    let mut rows = rows.into_iter();
    let Some((row, first)) = rows.next() else { return Ok(None) };
    let groups = GroupGrants::from_joined(std::iter::once(first).chain(rows.map(|(_, group)| group)))?;
    row.into_account().map(|account| Some(Account { groups, ..account }))
}

/// How many accounts whose username, email or phone starts with a searched prefix are read
/// from each of the three indexes before the search walks the namespace in id order instead.
/// Past this many matches of one key they are dense enough for the walk to fill a page soon
/// (at most `limit` × accounts / `PREFIX_PROBE` rows read); below it, the walk could read the
/// whole namespace for a page that is never filled (a prefix that matches nothing: ~50 ms of
/// CPU at 200,000 accounts, `bench/lookups.sh`), so the matches are gathered from the indexes.
const PREFIX_PROBE: i64 = 2_000;

/// Accounts of a namespace in id order after `after`, optionally those whose username, email
/// or phone number starts with the folded `prefix` (matched as index ranges), and those a
/// directory knows by `external_id`.
pub fn search(
    conn: &mut Conn,
    namespace: &str,
    prefix: Option<&str>,
    external_id: Option<&str>,
    disabled: Option<bool>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Account>> {
    search_probing(conn, Search { namespace, prefix, external_id, disabled, after, limit }, PREFIX_PROBE)
}

/// What [`search`] asks for.
#[derive(Clone, Copy)]
struct Search<'a> {
    namespace: &'a str,
    prefix: Option<&'a str>,
    external_id: Option<&'a str>,
    disabled: Option<bool>,
    after: Option<&'a str>,
    limit: i64,
}

/// [`search`], reading at most `probe` matches of each key from its index (see [`PREFIX_PROBE`]).
fn search_probing(conn: &mut Conn, s: Search<'_>, probe: i64) -> Result<Vec<Account>> {
    let mut query = accounts::table
        .filter(accounts::namespace.eq(s.namespace))
        .select(Row::as_select())
        .order(accounts::id.asc())
        .limit(s.limit)
        .into_boxed();
    if let Some(prefix) = s.prefix {
        let upper = prefix_upper_bound(prefix);
        match prefix_matches(conn, s.namespace, (prefix, &upper), probe)? {
            // Few enough to gather: the page is taken among them, by their ids.
            Some(ids) => query = query.filter(accounts::id.eq_any(ids)),
            None => {
                query = query.filter(
                    (accounts::username_key.ge(prefix).and(accounts::username_key.lt(upper.clone())))
                        .or(accounts::email_key.ge(prefix).and(accounts::email_key.lt(upper.clone())))
                        .or(accounts::phone_number.ge(prefix).and(accounts::phone_number.lt(upper))),
                );
            }
        }
    }
    if let Some(external_id) = s.external_id {
        query = query.filter(accounts::external_id.eq(external_id));
    }
    if let Some(disabled) = s.disabled {
        query = query.filter(accounts::disabled.eq(disabled));
    }
    if let Some(after) = s.after {
        query = query.filter(accounts::id.gt(after));
    }
    let rows = query.load(conn)?;
    with_groups(conn, rows)
}

/// The ids of the accounts of `namespace` whose username, email or phone number is in the
/// range of a prefix (`prefix`, `upper`), read from the three indexes; None as soon as one of
/// them holds more than `probe` (counted on the index alone, before any row is read).
fn prefix_matches(
    conn: &mut Conn,
    namespace: &str,
    (prefix, upper): (&str, &str),
    probe: i64,
) -> Result<Option<Vec<String>>> {
    use diesel::dsl::sql;
    use diesel::sql_types::Integer;
    macro_rules! in_range {
        ($key:expr) => {
            accounts::table.filter(accounts::namespace.eq(namespace)).filter($key.ge(prefix).and($key.lt(upper)))
        };
    }
    macro_rules! within_probe {
        ($key:expr) => {
            in_range!($key).select(sql::<Integer>("1")).limit(probe + 1).load::<i32>(conn)?.len() as i64 <= probe
        };
    }
    if !(within_probe!(accounts::username_key)
        && within_probe!(accounts::email_key)
        && within_probe!(accounts::phone_number))
    {
        return Ok(None);
    }
    let mut ids = in_range!(accounts::username_key).select(accounts::id).load::<String>(conn)?;
    ids.extend(in_range!(accounts::email_key).select(accounts::id).load::<String>(conn)?);
    ids.extend(in_range!(accounts::phone_number).select(accounts::id).load::<String>(conn)?);
    ids.sort_unstable();
    ids.dedup();
    Ok(Some(ids))
}

/// Writes `account` if its stored version is still `expected_version` (else 412).
pub fn update(conn: &mut Conn, account: &Account, expected_version: i64) -> Result<()> {
    let changed =
        diesel::update(accounts::table.find(account.id.to_string()).filter(accounts::version.eq(expected_version)))
            .set(Row::from_account(account)?)
            .execute(conn)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    Ok(())
}

pub fn delete(conn: &mut Conn, id: AccountId) -> Result<()> {
    diesel::delete(accounts::table.find(id.to_string())).execute(conn)?;
    Ok(())
}

pub fn count_in_namespace(conn: &mut Conn, namespace: &str) -> Result<i64> {
    Ok(accounts::table.filter(accounts::namespace.eq(namespace)).count().get_result(conn)?)
}

pub fn count_all(conn: &mut Conn) -> Result<i64> {
    Ok(accounts::table.count().get_result(conn)?)
}

/// The account that signs in with `name` in `namespace`: by username, or by email or phone
/// number only once verified. `name` is compared folded.
pub fn find_by_sign_in(conn: &mut Conn, namespace: &str, name: &str) -> Result<Option<Account>> {
    let key = fold(name.trim());
    let query = accounts::table.filter(accounts::namespace.eq(namespace)).select(Row::as_select());
    let row = if key.contains('@') {
        query.filter(accounts::email_key.eq(&key)).filter(accounts::email_verified.eq(true)).unique(conn)?
    } else if key.starts_with('+') {
        query.filter(accounts::phone_number.eq(&key)).filter(accounts::phone_number_verified.eq(true)).unique(conn)?
    } else {
        query.filter(accounts::username_key.eq(&key)).unique(conn)?
    };
    one_with_groups(conn, row)
}

/// The account of `namespace` with this email address or phone number, verified or not.
pub fn find_by_contact(conn: &mut Conn, namespace: &str, contact: &str) -> Result<Option<Account>> {
    let key = fold(contact.trim());
    let query = accounts::table.filter(accounts::namespace.eq(namespace)).select(Row::as_select());
    let row = if key.starts_with('+') {
        query.filter(accounts::phone_number.eq(&key)).unique(conn)?
    } else {
        query.filter(accounts::email_key.eq(&key)).unique(conn)?
    };
    one_with_groups(conn, row)
}

/// Replaces a password hash (after a successful sign-in with outdated parameters).
pub fn set_password_hash(conn: &mut Conn, id: AccountId, password_hash: &str) -> Result<()> {
    diesel::update(accounts::table.find(id.to_string()))
        .set(accounts::password_hash.eq(password_hash))
        .execute(conn)?;
    Ok(())
}

/// Up to `limit` self-registrations whose time to be verified ended before `before`.
pub fn expired_registrations(
    conn: &mut Conn,
    before: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<Vec<Account>> {
    let rows = accounts::table
        .filter(accounts::registration_expires_at.lt(to_db_time(before)))
        .select(Row::as_select())
        .limit(limit)
        .load(conn)?;
    with_groups(conn, rows)
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use super::*;

    /// A prefix search answers the same pages whether it gathers the matches from the indexes
    /// or walks the namespace in id order (a probe of 2 forces the walk for every prefix that
    /// matches more than two accounts by one key).
    #[test]
    fn a_prefix_search_pages_alike_by_either_path() {
        use diesel::connection::SimpleConnection;
        let dir = tempfile::tempdir().unwrap();
        let (_, mut conn) = crate::db::tests::migrated_sqlite(&dir);
        let mut sql = String::from(
            "INSERT INTO namespaces (slug, display_name, version, created_at, updated_at, mfa) \
             VALUES ('n', 'N', 1, '2026-12-07 00:00:00', '2026-12-07 00:00:00', 'optional');",
        );
        for i in 0..60 {
            let (user, mail) = match i % 3 {
                0 => (format!("ann{i:02}"), format!("x{i:02}@example.com")),
                1 => (format!("bob{i:02}"), format!("ann{i:02}@example.com")),
                _ => (format!("cy{i:02}"), format!("cy{i:02}@example.com")),
            };
            sql.push_str(&format!(
                "INSERT INTO accounts (id, namespace, username, username_key, email, email_key, email_verified, \
                 phone_number_verified, attributes, permissions, disabled, version, created_at, updated_at, scim) \
                 VALUES ('{:08}-0000-7000-8000-{:012}', 'n', '{user}', '{user}', '{mail}', '{mail}', false, false, \
                 '{{}}', '[]', {}, 1, '2026-12-07 00:00:00', '2026-12-07 00:00:00', '{{}}');",
                (i * 7919) % 100,
                i,
                i % 5 == 0
            ));
        }
        let Conn::Sqlite(c) = &mut conn else { unreachable!() };
        c.batch_execute(&sql).unwrap();
        let ids = |accounts: Vec<Account>| accounts.into_iter().map(|a| a.id.to_string()).collect::<Vec<_>>();
        for prefix in ["ann", "ann1", "bob", "cy", "zzz", "", "x5"] {
            for disabled in [None, Some(true), Some(false)] {
                let search = |conn: &mut Conn, after: Option<&str>, probe| {
                    let s =
                        Search { namespace: "n", prefix: Some(prefix), external_id: None, disabled, after, limit: 4 };
                    ids(search_probing(conn, s, probe).unwrap())
                };
                let (mut gathered, mut walked) = (Vec::new(), Vec::new());
                for (pages, probe) in [(&mut gathered, 1000), (&mut walked, 2)] {
                    let mut after: Option<String> = None;
                    loop {
                        let page = search(&mut conn, after.as_deref(), probe);
                        if page.is_empty() {
                            break;
                        }
                        after = page.last().cloned();
                        pages.push(page);
                    }
                }
                assert_eq!(gathered, walked, "prefix {prefix:?}, disabled {disabled:?}");
                // "ann": 20 usernames and 20 emails; "ann1": 3 usernames (12, 15, 18) and 4 emails
                // (10, 13, 16, 19); "x5": the emails of 51, 54 and 57.
                let expected = match prefix {
                    "ann" => 40,
                    "ann1" => 7,
                    "bob" | "cy" => 20,
                    "zzz" => 0,
                    "" => 60,
                    "x5" => 3,
                    _ => unreachable!(),
                };
                let found: usize = gathered.iter().map(Vec::len).sum();
                if disabled.is_none() {
                    assert_eq!(found, expected, "prefix {prefix:?}");
                }
            }
        }
    }

    /// The read of an account with its groups searches each table by key on SQLite: no table
    /// is scanned or materialised whatever its size (checked by the query plan of the bundled
    /// SQLite).
    #[test]
    fn the_lookups_search_by_key() {
        let key = String::new();
        let sql = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&account_with_groups!(&key)).to_string();
        crate::db::tests::assert_searches_by_key(&sql);
    }

    /// The PostgreSQL import's `INSERT … SELECT FROM unnest(…)` names every column of
    /// `accounts`, in the schema's order (which the binds and the `Row` follow): a column added
    /// to the table fails here until the statement has it too.
    #[test]
    fn the_unnested_insert_names_every_column_in_order() {
        let schema = include_str!("schema.rs");
        let table = schema.split("accounts (id) {").nth(1).expect("the accounts table").split('}').next().unwrap();
        let columns: Vec<&str> =
            table.lines().filter_map(|l| l.trim().split(" ->").next()).filter(|c| !c.is_empty()).collect();
        let named: Vec<&str> = super::UNNESTED_COLUMNS.split(',').map(str::trim).collect();
        assert_eq!(named, columns);
    }
}
