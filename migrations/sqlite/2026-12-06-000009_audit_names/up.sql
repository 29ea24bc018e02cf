-- Audit names (ADR 0010): the actor, owner and target ids, actions, namespaces and target types
-- of audit events are few values repeated millions of times. Each is stored once in
-- audit_names and events name it by a small code, in the row and in every index. New events
-- store no id (it is derived from the database's id_salt, their seq and time); migrated events
-- keep theirs. The (time) index is gone: a time bound is found by a binary search over seq.
-- Every event keeps its seq, fields and hash.

-- kind: 1 an id (actors, owners, targets), 2 an action, 3 a namespace, 4 a target type.
-- value: ids packed as the events stored them (16 bytes, or 0xFF and text), the rest UTF-8.
-- Append-only: a code, once given, names its value for good.
CREATE TABLE audit_names (
    code INTEGER PRIMARY KEY NOT NULL,
    kind SMALLINT NOT NULL,
    value BLOB NOT NULL,
    UNIQUE (kind, value)
);
CREATE TRIGGER audit_names_no_update BEFORE UPDATE ON audit_names
BEGIN SELECT RAISE(ABORT, 'audit names are append-only'); END;
CREATE TRIGGER audit_names_no_delete BEFORE DELETE ON audit_names
BEGIN SELECT RAISE(ABORT, 'audit names are append-only'); END;

INSERT INTO audit_names (kind, value)
SELECT 1, v FROM (
    SELECT actor_id AS v FROM audit_events WHERE actor_id IS NOT NULL
    UNION SELECT actor_owner_account_id FROM audit_events WHERE actor_owner_account_id IS NOT NULL
    UNION SELECT target_id FROM audit_events WHERE target_id IS NOT NULL
) ORDER BY v;
INSERT INTO audit_names (kind, value)
SELECT DISTINCT 2, CAST(action AS BLOB) FROM audit_events ORDER BY 2;
INSERT INTO audit_names (kind, value)
SELECT DISTINCT 3, CAST(namespace AS BLOB) FROM audit_events WHERE namespace IS NOT NULL ORDER BY 2;
INSERT INTO audit_names (kind, value)
SELECT DISTINCT 4, CAST(target_type AS BLOB) FROM audit_events WHERE target_type IS NOT NULL ORDER BY 2;

CREATE TABLE audit_events_named (
    seq INTEGER PRIMARY KEY NOT NULL,
    time BIGINT NOT NULL,
    actor INTEGER,
    actor_owner INTEGER,
    target INTEGER,
    action INTEGER NOT NULL,
    namespace INTEGER,
    target_type INTEGER,
    actor_type SMALLINT NOT NULL,
    outcome SMALLINT NOT NULL,
    id BLOB,
    request_id BLOB,
    ip BLOB,
    changes BLOB,
    hash BLOB NOT NULL
);

INSERT INTO audit_events_named
SELECT
    e.seq,
    e.time,
    (SELECT code FROM audit_names WHERE kind = 1 AND value = e.actor_id),
    (SELECT code FROM audit_names WHERE kind = 1 AND value = e.actor_owner_account_id),
    (SELECT code FROM audit_names WHERE kind = 1 AND value = e.target_id),
    (SELECT code FROM audit_names WHERE kind = 2 AND value = CAST(e.action AS BLOB)),
    (SELECT code FROM audit_names WHERE kind = 3 AND value = CAST(e.namespace AS BLOB)),
    (SELECT code FROM audit_names WHERE kind = 4 AND value = CAST(e.target_type AS BLOB)),
    e.actor_type,
    e.outcome,
    e.id,
    e.request_id,
    e.ip,
    e.changes,
    e.hash
FROM audit_events e
ORDER BY e.seq;

DROP TABLE audit_events;
ALTER TABLE audit_events_named RENAME TO audit_events;

-- Each filter of GET /api/v1/audit-events walks one of these newest first.
CREATE INDEX audit_events_actor ON audit_events (actor, seq) WHERE actor IS NOT NULL;
CREATE INDEX audit_events_actor_owner ON audit_events (actor_owner, seq) WHERE actor_owner IS NOT NULL;
CREATE INDEX audit_events_target ON audit_events (target, seq) WHERE target IS NOT NULL;
CREATE INDEX audit_events_namespace ON audit_events (namespace, seq) WHERE namespace IS NOT NULL;
CREATE INDEX audit_events_action ON audit_events (action, seq);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN COALESCE((SELECT last_seq FROM audit_archives WHERE first_seq <= OLD.seq
                ORDER BY first_seq DESC LIMIT 1), 0) < OLD.seq
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

-- The salt that new events' ids are derived from (with their seq and time): random, one per
-- database, never changed.
ALTER TABLE audit_chain_head ADD COLUMN id_salt BLOB NOT NULL DEFAULT X'';
UPDATE audit_chain_head SET id_salt = randomblob(16);
