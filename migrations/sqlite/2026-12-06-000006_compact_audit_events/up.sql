-- Compact audit events (ADR 0008): ids, request ids and addresses as bytes when they parse
-- (else 0xFF and their text), times as microseconds since the epoch, actor type and outcome
-- as small codes, the hash as its 32 bytes, no stored prev_hash (it is the previous row's hash,
-- or the chain head's anchor for the first kept row), and only the indexes the audit API's
-- filters use. Every event keeps its seq, id, fields and hash: the hash is over the textual
-- record, which the stored form reproduces exactly.

CREATE TABLE audit_events_compact (
    seq INTEGER PRIMARY KEY NOT NULL,
    id BLOB NOT NULL,
    time BIGINT NOT NULL,
    actor_type SMALLINT NOT NULL,
    outcome SMALLINT NOT NULL,
    actor_id BLOB,
    actor_owner_account_id BLOB,
    action TEXT NOT NULL,
    target_type TEXT,
    target_id BLOB,
    namespace TEXT,
    request_id BLOB,
    ip BLOB,
    changes BLOB,
    hash BLOB NOT NULL
);

-- (`||` yields text in SQLite: hence the outer CASTs, so that the values are blobs.)
-- A canonical (lowercase, hyphenated) UUID not starting with ff becomes its 16 bytes; any
-- other text is kept behind a 0xFF byte. Addresses and changes are kept as text (0xFF, resp.
-- 0x00, in front); new events store them compactly.
INSERT INTO audit_events_compact
SELECT
    seq,
    CASE WHEN id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
          AND substr(id, 1, 2) <> 'ff'
         THEN unhex(replace(id, '-', '')) ELSE CAST(X'FF' || CAST(id AS BLOB) AS BLOB) END,
    CAST(strftime('%s', time) AS INTEGER) * 1000000
        + CASE WHEN instr(time, '.') > 0
               THEN CAST(substr(substr(time, instr(time, '.') + 1) || '000000', 1, 6) AS INTEGER)
               ELSE 0 END,
    CASE actor_type WHEN 'client' THEN 1 WHEN 'account' THEN 2 WHEN 'system' THEN 3 WHEN 'anonymous' THEN 4 END,
    CASE outcome WHEN 'success' THEN 1 WHEN 'denied' THEN 2 WHEN 'failure' THEN 3 END,
    CASE WHEN actor_id IS NULL THEN NULL
         WHEN actor_id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
              AND substr(actor_id, 1, 2) <> 'ff'
         THEN unhex(replace(actor_id, '-', '')) ELSE CAST(X'FF' || CAST(actor_id AS BLOB) AS BLOB) END,
    CASE WHEN actor_owner_account_id IS NULL THEN NULL
         WHEN actor_owner_account_id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
              AND substr(actor_owner_account_id, 1, 2) <> 'ff'
         THEN unhex(replace(actor_owner_account_id, '-', '')) ELSE CAST(X'FF' || CAST(actor_owner_account_id AS BLOB) AS BLOB) END,
    action,
    target_type,
    CASE WHEN target_id IS NULL THEN NULL
         WHEN target_id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
              AND substr(target_id, 1, 2) <> 'ff'
         THEN unhex(replace(target_id, '-', '')) ELSE CAST(X'FF' || CAST(target_id AS BLOB) AS BLOB) END,
    namespace,
    CASE WHEN request_id IS NULL THEN NULL
         WHEN request_id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
              AND substr(request_id, 1, 2) <> 'ff'
         THEN unhex(replace(request_id, '-', '')) ELSE CAST(X'FF' || CAST(request_id AS BLOB) AS BLOB) END,
    CASE WHEN ip IS NULL THEN NULL ELSE CAST(X'FF' || CAST(ip AS BLOB) AS BLOB) END,
    CASE WHEN changes IS NULL THEN NULL ELSE CAST(X'00' || CAST(changes AS BLOB) AS BLOB) END,
    unhex(hash)
FROM audit_events
ORDER BY seq;

DROP TABLE audit_events;
ALTER TABLE audit_events_compact RENAME TO audit_events;

-- Each filter of GET /api/v1/audit-events walks one of these newest first (partial where the
-- column is often empty). No index on id: no query looks an event up by it.
CREATE INDEX audit_events_actor_id ON audit_events (actor_id, seq) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_events_actor_owner ON audit_events (actor_owner_account_id, seq)
    WHERE actor_owner_account_id IS NOT NULL;
CREATE INDEX audit_events_target_id ON audit_events (target_id, seq) WHERE target_id IS NOT NULL;
CREATE INDEX audit_events_namespace ON audit_events (namespace, seq) WHERE namespace IS NOT NULL;
CREATE INDEX audit_events_action ON audit_events (action, seq);
CREATE INDEX audit_events_time ON audit_events (time);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

-- The anchor: the last event no longer stored (archived) and its hash, where verification
-- starts; 0 and the genesis hash while the chain is whole.
ALTER TABLE audit_chain_head ADD COLUMN anchor_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_chain_head ADD COLUMN anchor_hash TEXT NOT NULL
    DEFAULT '0000000000000000000000000000000000000000000000000000000000000000';
