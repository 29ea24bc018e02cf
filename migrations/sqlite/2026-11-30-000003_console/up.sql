-- The console's server-side sessions (backend for frontend): the browser holds only an
-- HttpOnly cookie; the tokens of the session stay here, sealed with the master key.
CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sso_session_id TEXT,
    access_token BLOB NOT NULL,
    access_expires_at TIMESTAMP NOT NULL,
    refresh_token BLOB,
    created_at TIMESTAMP NOT NULL,
    refreshed_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX console_sessions_token_hash ON console_sessions (token_hash);
CREATE INDEX console_sessions_account ON console_sessions (account_id);
