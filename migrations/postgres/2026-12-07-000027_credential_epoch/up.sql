-- The credential epoch (ADR 0020): see the SQLite migration of the same name. Statement-level
-- triggers: one bump per statement, whatever the number of rows it changes.
CREATE TABLE credential_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO credential_epoch (id, epoch) VALUES (1, 0);

CREATE FUNCTION bump_credential_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER credential_epoch_clients
AFTER UPDATE OF id, client_id, owner_account_id, permissions, grant_types, disabled,
    token_endpoint_auth_method, access_token_ttl, access_token_alg, tokens_valid_after, jwks,
    jwks_uri, dpop_bound_access_tokens OR DELETE ON clients
FOR EACH STATEMENT EXECUTE FUNCTION bump_credential_epoch();

CREATE TRIGGER credential_epoch_secrets AFTER INSERT OR UPDATE OR DELETE ON client_secrets
FOR EACH STATEMENT EXECUTE FUNCTION bump_credential_epoch();

CREATE TRIGGER credential_epoch_accounts
AFTER UPDATE OF id, namespace, username, permissions, disabled OR DELETE ON accounts
FOR EACH STATEMENT EXECUTE FUNCTION bump_credential_epoch();

CREATE TRIGGER credential_epoch_groups AFTER UPDATE OF id, name, permissions OR DELETE ON account_groups
FOR EACH STATEMENT EXECUTE FUNCTION bump_credential_epoch();

CREATE TRIGGER credential_epoch_members AFTER INSERT OR UPDATE OR DELETE ON group_members
FOR EACH STATEMENT EXECUTE FUNCTION bump_credential_epoch();
