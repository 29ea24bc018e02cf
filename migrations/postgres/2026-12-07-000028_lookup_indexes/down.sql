DROP INDEX accounts_registration_expires_at;
CREATE INDEX accounts_registration_expires_at ON accounts (registration_expires_at);
DROP INDEX account_groups_external_id;
DROP INDEX accounts_external_id;
