//! The public halves of the audit signing keys, which sign the manifests of audit archives.

use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::audit_keys;
use crate::error::Result;
use crate::http::auth::Api;

/// An audit signing key: the public key that verifies the signatures of archive manifests
/// (each manifest names its `key_id` and carries its public key; compare both with this list).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditSigningKey {
    /// RFC 7638 JWK thumbprint of the key (the manifests' `key_id`).
    pub kid: String,
    /// Always `Ed25519`.
    #[schema(example = "Ed25519")]
    pub algorithm: String,
    /// The 32-byte Ed25519 public key, base64url without padding (the `x` of its OKP JWK).
    pub public_key: String,
    pub created_at: DateTime<Utc>,
}

/// The audit signing keys, newest first (needs `audit:read@*`: the keys serve whoever
/// verifies the whole audit log, and only such a caller can read the archived events; empty
/// until the first archive creates a key).
#[utoipa::path(
    get,
    path = "/api/v1/audit-keys",
    tag = "audit",
    operation_id = "list_audit_keys",
    responses((status = 200, body = Vec<AuditSigningKey>))
)]
pub async fn list(api: Api) -> Result<HttpResponse> {
    let keys = api
        .read(|conn, ctx| {
            ctx.caller.authorize("audit", "read", "*")?;
            audit_keys::list(conn)
        })
        .await?;
    let keys: Vec<AuditSigningKey> = keys
        .into_iter()
        .map(|k| AuditSigningKey {
            kid: k.kid,
            algorithm: audit_keys::ALGORITHM.to_owned(),
            public_key: k.public_key,
            created_at: k.created_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(keys))
}
