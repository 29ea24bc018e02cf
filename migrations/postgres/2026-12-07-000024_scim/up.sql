-- SCIM 2.0 provisioning (issue 17, ADR 0018): what a directory says of an account or a group
-- that the account model has no column for. `external_id` is the provisioning client's own
-- identifier (SCIM `externalId`); `scim` keeps the SCIM attributes no column holds (every
-- email and phone number as sent, `name.formatted`, `title`, …) as JSON text, so that a
-- directory reads back what it wrote.
ALTER TABLE accounts ADD COLUMN external_id TEXT;
ALTER TABLE accounts ADD COLUMN scim TEXT NOT NULL DEFAULT '{}';
ALTER TABLE account_groups ADD COLUMN external_id TEXT;
