DROP TRIGGER revocation_epoch_revocations ON revoked_access_tokens;
DROP FUNCTION bump_revocation_epoch();
DROP TABLE revocation_epoch;
