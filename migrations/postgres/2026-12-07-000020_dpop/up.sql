-- DPoP (RFC 9449, ADR 0016). Proofs already accepted, under a hash of their key's thumbprint
-- and jti, kept until they are too old to be accepted anyway (housekeeping deletes the rest):
-- a proof counts once, on every replica.
CREATE TABLE dpop_proofs (
    id TEXT PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX dpop_proofs_expires_at ON dpop_proofs (expires_at);
-- A client whose token requests must carry a proof.
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT FALSE;
-- The key (RFC 7638 thumbprint) an authorization request (dpop_jkt), its code and a refresh
-- token are bound to.
ALTER TABLE authorization_requests ADD COLUMN dpop_jkt TEXT;
ALTER TABLE authorization_codes ADD COLUMN dpop_jkt TEXT;
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT;
