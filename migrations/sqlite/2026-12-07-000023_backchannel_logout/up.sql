-- OpenID Connect Back-Channel Logout 1.0: where a client receives logout tokens, and which
-- clients received tokens in each sign-in session (they get a logout token when it ends).
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE sso_session_clients (
    session_id TEXT NOT NULL REFERENCES sso_sessions (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (session_id, client_id)
);
CREATE INDEX sso_session_clients_client_id ON sso_session_clients (client_id);
