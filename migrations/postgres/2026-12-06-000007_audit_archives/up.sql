-- Retention with signed archives: the audit signing key, the archives written so far, the lock
-- that lets one replica archive at a time, and the one deletion the audit chain allows.

-- Ed25519; the private half sealed with the master key, the public half published.
CREATE TABLE audit_signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    public_key TEXT NOT NULL,
    private_key BYTEA NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- One row per archived segment: the events first_seq..last_seq left the live chain into it.
CREATE TABLE audit_archives (
    first_seq BIGINT PRIMARY KEY NOT NULL,
    last_seq BIGINT NOT NULL UNIQUE,
    first_prev_hash TEXT NOT NULL,
    last_hash TEXT NOT NULL,
    events BIGINT NOT NULL,
    segment TEXT NOT NULL,
    segment_sha256 TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    kid TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CHECK (last_seq >= first_seq AND events = last_seq - first_seq + 1)
);
CREATE FUNCTION audit_archives_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit archives are append-only';
END;
$$;
CREATE TRIGGER audit_archives_no_change BEFORE UPDATE OR DELETE ON audit_archives
FOR EACH ROW EXECUTE FUNCTION audit_archives_append_only();
CREATE TRIGGER audit_archives_no_truncate BEFORE TRUNCATE ON audit_archives
FOR EACH STATEMENT EXECUTE FUNCTION audit_archives_append_only();

-- A lease: the replica named in holder archives until expires_at.
CREATE TABLE audit_archive_lock (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    holder TEXT,
    expires_at TIMESTAMP
);
INSERT INTO audit_archive_lock (id, holder, expires_at) VALUES (1, NULL, NULL);

-- An event may leave the chain only once an archive holds it (the archive's row is written in
-- the same transaction as the deletion); every other delete, any update and TRUNCATE still fail.
CREATE FUNCTION audit_events_delete_archived_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Archives do not overlap: the one that starts last at or before the event is the only
    -- one that can hold it (one index probe per deleted row, however many archives there are).
    IF COALESCE((SELECT last_seq FROM audit_archives WHERE first_seq <= OLD.seq
                 ORDER BY first_seq DESC LIMIT 1), 0) >= OLD.seq THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only';
END;
$$;
DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_delete_archived_only();
