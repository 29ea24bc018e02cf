//! Which clients received tokens in each sign-in session: those with a
//! `backchannel_logout_uri` get a logout token when the session ends (OpenID Connect
//! Back-Channel Logout). A row goes with its session or its client.
//!
//! The table is declared here rather than in `schema.rs`: only this module joins it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::ids::ClientUuid;
use super::schema::clients;
use super::{parse_uuid, to_db_time, Conn};
use crate::error::Result;

diesel::table! {
    sso_session_clients (session_id, client_id) {
        session_id -> Text,
        client_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(sso_session_clients, clients);

/// Remembers that `client` received tokens in session `session_id` (once).
pub fn record(conn: &mut Conn, session_id: &str, client: ClientUuid, now: DateTime<Utc>) -> Result<()> {
    let values = (
        sso_session_clients::session_id.eq(session_id),
        sso_session_clients::client_id.eq(client.to_string()),
        sso_session_clients::created_at.eq(to_db_time(now)),
    );
    native!(conn, |c| diesel::insert_into(sso_session_clients::table)
        .values(values)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

/// A client to send a logout token to for a session.
#[derive(Debug, Clone, PartialEq)]
pub struct LogoutTarget {
    pub session_id: String,
    pub client: Uuid,
    pub client_id: String,
    pub backchannel_logout_uri: String,
}

/// The clients of these sessions that take logout tokens (have a `backchannel_logout_uri`).
pub fn logout_targets(conn: &mut Conn, session_ids: &[String]) -> Result<Vec<LogoutTarget>> {
    if session_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String, String, Option<String>)> = sso_session_clients::table
        .inner_join(clients::table.on(clients::id.eq(sso_session_clients::client_id)))
        .filter(sso_session_clients::session_id.eq_any(session_ids))
        .filter(clients::backchannel_logout_uri.is_not_null())
        .order((sso_session_clients::session_id.asc(), clients::client_id.asc()))
        .select((sso_session_clients::session_id, clients::id, clients::client_id, clients::backchannel_logout_uri))
        .load(conn)?;
    rows.into_iter()
        .filter_map(|(session_id, id, client_id, uri)| uri.map(|uri| (session_id, id, client_id, uri)))
        .map(|(session_id, id, client_id, backchannel_logout_uri)| {
            Ok(LogoutTarget { session_id, client: parse_uuid(&id)?, client_id, backchannel_logout_uri })
        })
        .collect()
}
