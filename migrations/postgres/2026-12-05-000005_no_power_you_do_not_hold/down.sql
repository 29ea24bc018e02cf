DROP INDEX refresh_tokens_account;
DROP TABLE consents;
ALTER TABLE clients DROP COLUMN registration_enabled;
ALTER TABLE clients DROP COLUMN skip_consent;
ALTER TABLE clients DROP COLUMN tokens_valid_after;
DROP INDEX accounts_registration_expires_at;
ALTER TABLE accounts DROP COLUMN registration_expires_at;
ALTER TABLE accounts DROP COLUMN tokens_valid_after;
