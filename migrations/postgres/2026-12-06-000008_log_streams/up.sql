-- Log streams: receivers of the audit chain. Each keeps a cursor (the last sequence number
-- delivered), a claim that lapses (so two replicas never deliver one stream at once and a
-- crashed replica's claim expires), and its delivery status. The signing secret is sealed with
-- the master key.
CREATE TABLE log_streams (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    -- The account a stream delivers for: it delivers only while this account holds audit:read@*.
    owner_account_id TEXT,
    url TEXT NOT NULL,
    filter TEXT NOT NULL,
    secret BYTEA NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    cursor_seq BIGINT NOT NULL,
    -- The last event of a batch that failed: its retry is the same batch, up to here.
    pending_last_seq BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    last_attempt_at TIMESTAMP,
    last_success_at TIMESTAMP,
    failing_since TIMESTAMP,
    last_error TEXT
);
