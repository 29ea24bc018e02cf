-- Events appended after this migration store no id (it is derived) and name their actors,
-- targets, actions and namespaces by code (ADR 0010): going back means restoring the backup
-- taken before the upgrade.
SELECT * FROM "audit names cannot be migrated down: restore a backup";
