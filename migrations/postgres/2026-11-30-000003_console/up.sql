-- The console's server-side sessions (backend for frontend): the browser holds only an
-- HttpOnly cookie; the tokens of the session stay here, sealed with the master key.
CREATE TABLE console_sessions (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    token_hash TEXT COLLATE "C" NOT NULL,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sso_session_id TEXT COLLATE "C",
    access_token BYTEA NOT NULL,
    access_expires_at TIMESTAMP NOT NULL,
    refresh_token BYTEA,
    created_at TIMESTAMP NOT NULL,
    refreshed_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX console_sessions_token_hash ON console_sessions (token_hash);
CREATE INDEX console_sessions_account ON console_sessions (account_id);
