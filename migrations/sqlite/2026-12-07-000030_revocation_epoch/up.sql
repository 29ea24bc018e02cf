-- The revocation epoch (ADR 0026): a counter moved in the same transaction as every revocation
-- of an access token. A replica that found a token not revoked remembers it under the epoch it
-- read before looking, and trusts that answer only while the epoch stands, so a revocation on
-- any replica reaches the next request on every replica. The epoch is read in the same statement
-- as the credential epoch (one round trip for both). A deleted revocation moves nothing: it only
-- forgets a token that has expired, and the replicas remember only "not revoked".
CREATE TABLE revocation_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO revocation_epoch (id, epoch) VALUES (1, 0);

CREATE TRIGGER revocation_epoch_insert AFTER INSERT ON revoked_access_tokens
BEGIN UPDATE revocation_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER revocation_epoch_update AFTER UPDATE ON revoked_access_tokens
BEGIN UPDATE revocation_epoch SET epoch = epoch + 1 WHERE id = 1; END;
