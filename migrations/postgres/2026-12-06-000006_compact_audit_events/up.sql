-- Compact audit events (ADR 0008): ids, request ids and addresses as bytes when they parse
-- (else 0xFF and their text), times as microseconds since the epoch, actor type and outcome
-- as small codes, the hash as its 32 bytes, no stored prev_hash (it is the previous row's hash,
-- or the chain head's anchor for the first kept row), and only the indexes the audit API's
-- filters use. Every event keeps its seq, id, fields and hash: the hash is over the textual
-- record, which the stored form reproduces exactly. Fixed-width columns first (no padding).

CREATE FUNCTION pg_temp.audit_id(t TEXT) RETURNS BYTEA LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN t IS NULL THEN NULL
                WHEN t ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' AND left(t, 2) <> 'ff'
                THEN decode(replace(t, '-', ''), 'hex')
                ELSE '\xff'::bytea || convert_to(t, 'UTF8') END
$$;

CREATE TABLE audit_events_compact (
    seq BIGINT PRIMARY KEY NOT NULL,
    time BIGINT NOT NULL,
    actor_type SMALLINT NOT NULL,
    outcome SMALLINT NOT NULL,
    id BYTEA NOT NULL,
    actor_id BYTEA,
    actor_owner_account_id BYTEA,
    action TEXT NOT NULL,
    target_type TEXT,
    target_id BYTEA,
    namespace TEXT,
    request_id BYTEA,
    ip BYTEA,
    changes BYTEA,
    hash BYTEA NOT NULL
);

-- Addresses and changes of existing events are kept as text (0xFF, resp. 0x00, in front);
-- new events store them compactly.
INSERT INTO audit_events_compact
SELECT
    seq,
    (extract(epoch FROM time) * 1000000)::BIGINT,
    CASE actor_type WHEN 'client' THEN 1 WHEN 'account' THEN 2 WHEN 'system' THEN 3 WHEN 'anonymous' THEN 4 END,
    CASE outcome WHEN 'success' THEN 1 WHEN 'denied' THEN 2 WHEN 'failure' THEN 3 END,
    pg_temp.audit_id(id),
    pg_temp.audit_id(actor_id),
    pg_temp.audit_id(actor_owner_account_id),
    action,
    target_type,
    pg_temp.audit_id(target_id),
    namespace,
    pg_temp.audit_id(request_id),
    CASE WHEN ip IS NULL THEN NULL ELSE '\xff'::bytea || convert_to(ip, 'UTF8') END,
    CASE WHEN changes IS NULL THEN NULL ELSE '\x00'::bytea || convert_to(changes, 'UTF8') END,
    decode(hash, 'hex')
FROM audit_events
ORDER BY seq;

DROP TABLE audit_events;
ALTER TABLE audit_events_compact RENAME TO audit_events;
ALTER INDEX audit_events_compact_pkey RENAME TO audit_events_pkey;

-- Each filter of GET /api/v1/audit-events walks one of these newest first (partial where the
-- column is often empty). No index on id: no query looks an event up by it.
CREATE INDEX audit_events_actor_id ON audit_events (actor_id, seq) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_events_actor_owner ON audit_events (actor_owner_account_id, seq)
    WHERE actor_owner_account_id IS NOT NULL;
CREATE INDEX audit_events_target_id ON audit_events (target_id, seq) WHERE target_id IS NOT NULL;
CREATE INDEX audit_events_namespace ON audit_events (namespace, seq) WHERE namespace IS NOT NULL;
CREATE INDEX audit_events_action ON audit_events (action, seq);
CREATE INDEX audit_events_time ON audit_events (time);

CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- The anchor: the last event no longer stored (archived) and its hash, where verification
-- starts; 0 and the genesis hash while the chain is whole.
ALTER TABLE audit_chain_head ADD COLUMN anchor_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_chain_head ADD COLUMN anchor_hash TEXT NOT NULL
    DEFAULT '0000000000000000000000000000000000000000000000000000000000000000';
