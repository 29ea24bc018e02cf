-- private_key_jwt (RFC 7523): a client's public keys, inline or by URL, and the assertions
-- seen (by the hash of client_id and jti), so that an assertion is accepted once on every
-- replica.
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;

CREATE TABLE client_assertions (
    id TEXT PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX client_assertions_expires_at ON client_assertions (expires_at);
