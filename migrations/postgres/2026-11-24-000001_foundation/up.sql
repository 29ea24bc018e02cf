-- Namespaces, accounts, API clients and their secrets, the audit chain and idempotency keys.
-- Ids are UUID v7 text (time-ordered, so keyset paging by id is cheap). Times are UTC.

CREATE TABLE namespaces (
    slug TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    display_name TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE accounts (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    namespace TEXT COLLATE "C" NOT NULL REFERENCES namespaces (slug),
    username TEXT,
    -- Sign-in keys: NFKC + case folded, unique per namespace.
    username_key TEXT COLLATE "C",
    email TEXT,
    email_key TEXT COLLATE "C",
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    phone_number TEXT COLLATE "C",
    phone_number_verified BOOLEAN NOT NULL DEFAULT FALSE,
    name TEXT,
    given_name TEXT,
    family_name TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    permissions TEXT NOT NULL DEFAULT '[]',
    password_hash TEXT,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX accounts_namespace_username_key ON accounts (namespace, username_key);
CREATE UNIQUE INDEX accounts_namespace_email_key ON accounts (namespace, email_key);
CREATE UNIQUE INDEX accounts_namespace_phone_number ON accounts (namespace, phone_number);
CREATE INDEX accounts_namespace_id ON accounts (namespace, id);

CREATE TABLE clients (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    client_id TEXT COLLATE "C" NOT NULL,
    name TEXT NOT NULL,
    -- NULL once the owning account is deleted: such a client can no longer act.
    owner_account_id TEXT COLLATE "C" REFERENCES accounts (id) ON DELETE SET NULL,
    permissions TEXT NOT NULL DEFAULT '[]',
    grant_types TEXT NOT NULL DEFAULT '["client_credentials"]',
    redirect_uris TEXT NOT NULL DEFAULT '[]',
    password_grant_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    user_namespace TEXT COLLATE "C" REFERENCES namespaces (slug),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE UNIQUE INDEX clients_client_id ON clients (client_id);
CREATE INDEX clients_owner_account_id ON clients (owner_account_id, id);

CREATE TABLE client_secrets (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP
);
CREATE INDEX client_secrets_client_id ON client_secrets (client_id);

-- Append-only, hash-chained: hash = SHA-256(prev_hash, fields of the event).
CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY NOT NULL,
    id TEXT NOT NULL,
    time TIMESTAMP NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT,
    actor_owner_account_id TEXT,
    action TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    namespace TEXT,
    outcome TEXT NOT NULL,
    request_id TEXT,
    ip TEXT,
    changes TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE UNIQUE INDEX audit_events_id ON audit_events (id);
CREATE INDEX audit_events_actor_id ON audit_events (actor_id, seq);
CREATE INDEX audit_events_actor_owner ON audit_events (actor_owner_account_id, seq);
CREATE INDEX audit_events_target_id ON audit_events (target_id, seq);
CREATE INDEX audit_events_namespace ON audit_events (namespace, seq);
CREATE INDEX audit_events_time ON audit_events (time);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- The end of the chain: appenders lock this row, so the chain has one order on every replica.
CREATE TABLE audit_chain_head (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_chain_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Responses of POSTs made with an Idempotency-Key, encrypted under a key derived from it.
CREATE TABLE idempotency_keys (
    key_hash TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    location TEXT,
    body BYTEA NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
