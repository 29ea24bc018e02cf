//! `POST /oauth/par`: pushed authorization requests (RFC 9126). A client authenticates as at
//! the token endpoint (secret, `private_key_jwt`, or none for a public client), pushes the
//! parameters of an authorization request, which are checked as `/oauth/authorize` would check
//! them, and receives a `request_uri` (`urn:ietf:params:oauth:request_uri:…`) that works once,
//! for 60 seconds, for that client alone, on every replica (it is kept in the database, by
//! hash). `/oauth/authorize` then takes the pushed parameters and nothing else. A pushed
//! `request` (a signed request object, RFC 9101) is verified and unpacked here: its parameters
//! are what is stored, marked as signed.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::authorize::{validate, Via};
use super::endpoints::client_of;
use super::form::Form;
use super::token_endpoint::proof_header;
use super::{request_object, OAuthError};
use crate::db::ids::{ClientId, ClientUuid};
use crate::db::{self, Conn};
use crate::domain::audit::NewEvent;
use crate::domain::crypto::{random_token, token_hash};
use crate::domain::dpop;
use crate::error::Result;
use crate::shell::{self, AppState};

pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request can be redeemed.
pub const LIFETIME_SECONDS: i64 = 60;
/// The page shown for a `request_uri` that cannot be redeemed.
pub const UNKNOWN: &str =
    "The pushed authorization request is unknown, expired, already used, or not this application's.";

/// Parameters of the push that authenticate the client, not part of the authorization request.
const CLIENT_AUTHENTICATION: [&str; 3] = ["client_secret", "client_assertion", "client_assertion_type"];

/// `POST /oauth/par`.
pub async fn push(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> std::result::Result<HttpResponse, OAuthError> {
    let form = Form::read(&req, payload).await?;
    let proof = proof_header(&req)?;
    let client = client_of(&req, &state, &form).await?;
    if form.get("client_id").is_some_and(|id| id != client.client_id) {
        return Err(OAuthError::invalid_request("client_id is not the authenticated client's"));
    }
    let origin = shell::origin(&req);
    // A request object: its parameters, and only those (RFC 9101); else the pushed ones.
    let signed = form.get("request").is_some();
    let parameters = match signed {
        true => request_object::unpack_pushed(&state, client.id, &form, &origin).await?,
        false => form,
    };
    let mut pairs: Vec<(String, String)> = parameters
        .pairs()
        .filter(|(name, _)| !CLIENT_AUTHENTICATION.contains(name))
        .map(|(n, v)| (n.into(), v.into()))
        .collect();
    pairs.retain(|(name, _)| name != "client_id");
    pairs.push(("client_id".into(), client.client_id.clone()));
    // A DPoP proof with the push binds the code to its key, as `dpop_jkt` would (RFC 9449 §10.1).
    if let Some(proof) = proof {
        let jkt = pushed_proof(&state, &proof).await?;
        if parameters.get("dpop_jkt").is_some_and(|given| given != jkt) {
            return Err(OAuthError::invalid_dpop_proof("DPoP proof: its key is not the dpop_jkt parameter's"));
        }
        pairs.retain(|(name, _)| name != "dpop_jkt");
        pairs.push(("dpop_jkt".into(), jkt));
    }
    let pushed = Form::from_pairs(pairs);
    let worker = state.clone();
    let checked = state
        .db
        .run(move |conn| Ok(validate(conn, &worker.oauth, &pushed, Via { pushed: true, signed })?.map(|_| pushed)))
        .await?;
    let pushed = checked.map_err(|refusal| refusal.oauth_error())?;

    let token = random_token(32);
    let hash = token_hash(&token);
    let expires_at = db::now() + chrono::Duration::seconds(LIFETIME_SECONDS);
    state
        .db
        .write(move |conn| {
            db::pushed_requests::insert(conn, &hash, ClientUuid(client.id), &pushed.encode(), signed, expires_at)?;
            db::audit::append(
                conn,
                vec![NewEvent::new(client.actor.clone(), "oauth.par")
                    .target("client", client.id)
                    .request(origin.request_id.clone(), origin.ip.clone())
                    .changes(json!({ "client_id": client.client_id, "scope": pushed.get("scope") }))],
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({ "request_uri": format!("{REQUEST_URI_PREFIX}{token}"), "expires_in": LIFETIME_SECONDS })))
}

/// The key of a pushed request's DPoP proof, checked (no nonce needed here) and recorded once.
async fn pushed_proof(state: &web::Data<AppState>, proof: &str) -> std::result::Result<String, OAuthError> {
    let parsed = dpop::parse(proof).map_err(OAuthError::invalid_dpop_proof)?;
    let url = state.oauth.settings.url("/oauth/par");
    let request = dpop::Request { method: "POST", url: &url, access_token: None, nonce_required: false };
    dpop::check(&parsed, &request, &dpop::Nonces::new(&state.oauth.master), db::now())
        .map_err(OAuthError::from_dpop)?;
    let worker = state.clone();
    let jkt = parsed.jkt.clone();
    if !db::blocking(move || dpop::accept_once(&worker.db, &mut *worker.db.get()?, &parsed)).await? {
        return Err(OAuthError::invalid_dpop_proof("DPoP proof: replayed (its jti was used before)"));
    }
    Ok(jkt)
}

/// The parameters pushed under `request_uri` by the client `client_id` names, taken once, and
/// whether they came in a signed request object; none when the URI is not one of ours,
/// expired, was used, or another client pushed it.
pub fn redeem(
    conn: &mut Conn,
    state: &AppState,
    client_id: Option<&str>,
    request_uri: &str,
) -> Result<Option<(Form, bool)>> {
    let (Some(client_id), Some(token)) = (client_id, request_uri.strip_prefix(REQUEST_URI_PREFIX)) else {
        return Ok(None);
    };
    let Some(client) = db::clients::get_by_client_id(conn, ClientId(client_id))? else { return Ok(None) };
    let taken = state.db.write_blocking(conn, |conn| {
        db::pushed_requests::take(conn, &token_hash(token), ClientUuid(client.client.id), db::now())
    })?;
    // Stored by the push, which parsed them: they parse again.
    Ok(taken.and_then(|(parameters, signed)| Some((Form::parse(parameters.as_bytes()).ok()?, signed))))
}
