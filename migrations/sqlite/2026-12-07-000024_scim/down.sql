ALTER TABLE account_groups DROP COLUMN external_id;
ALTER TABLE accounts DROP COLUMN scim;
ALTER TABLE accounts DROP COLUMN external_id;
