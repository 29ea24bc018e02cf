-- The revocation epoch (ADR 0026): see the SQLite migration of the same name. A table of its own,
-- not a column of credential_epoch: a revocation does not wait for a change of power's row lock.
CREATE TABLE revocation_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO revocation_epoch (id, epoch) VALUES (1, 0);

CREATE FUNCTION bump_revocation_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE revocation_epoch SET epoch = epoch + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER revocation_epoch_revocations AFTER INSERT OR UPDATE ON revoked_access_tokens
FOR EACH STATEMENT EXECUTE FUNCTION bump_revocation_epoch();
