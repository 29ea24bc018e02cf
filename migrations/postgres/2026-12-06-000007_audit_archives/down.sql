DROP TRIGGER IF EXISTS audit_events_no_delete ON audit_events;
DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
DROP FUNCTION audit_events_delete_archived_only();
DROP TABLE audit_archive_lock;
DROP TABLE audit_archives;
DROP FUNCTION audit_archives_append_only();
DROP TABLE audit_signing_keys;
