-- New events store their changes and addresses in forms SQL cannot turn back into text
-- (ADR 0008): going back means restoring the backup taken before the upgrade.
DO $$ BEGIN RAISE EXCEPTION 'compact audit events cannot be migrated down: restore a backup'; END $$;
