DROP TABLE factor_challenges;
DROP INDEX account_factors_credential;
ALTER TABLE account_factors DROP COLUMN sign_count;
ALTER TABLE account_factors DROP COLUMN credential_id;
