-- Pushed authorization requests (RFC 9126): the parameters a client pushed, kept 60 s under
-- the hash of their request_uri, bound to the client that pushed them, redeemed once (the
-- row is deleted when an authorization request uses it), on every replica.
CREATE TABLE pushed_authorization_requests (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    parameters TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX pushed_authorization_requests_expires_at ON pushed_authorization_requests (expires_at);
ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests BOOLEAN NOT NULL DEFAULT FALSE;
