DROP TRIGGER IF EXISTS audit_events_no_delete;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
DROP TABLE audit_archive_lock;
DROP TABLE audit_archives;
DROP TABLE audit_signing_keys;
