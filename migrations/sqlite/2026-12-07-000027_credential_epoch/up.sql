-- The credential epoch (ADR 0020): a counter moved in the same transaction as every change that
-- can alter what a client's credential authenticates as: the client's own columns that
-- authentication reads, its secrets, its owner's grants and state, the owner's groups and their
-- grants. Each replica caches authenticated credentials under the epoch it read before loading
-- them and probes the epoch on every request, so a change takes effect at the next request on
-- every replica. Triggers, not application code, move it: no code path can forget to.
CREATE TABLE credential_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO credential_epoch (id, epoch) VALUES (1, 0);

CREATE TRIGGER credential_epoch_clients_update
AFTER UPDATE OF id, client_id, owner_account_id, permissions, grant_types, disabled,
    token_endpoint_auth_method, access_token_ttl, access_token_alg, tokens_valid_after, jwks,
    jwks_uri, dpop_bound_access_tokens ON clients
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER credential_epoch_clients_delete AFTER DELETE ON clients
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;

CREATE TRIGGER credential_epoch_secrets_insert AFTER INSERT ON client_secrets
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER credential_epoch_secrets_update AFTER UPDATE ON client_secrets
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER credential_epoch_secrets_delete AFTER DELETE ON client_secrets
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;

CREATE TRIGGER credential_epoch_accounts_update
AFTER UPDATE OF id, namespace, username, permissions, disabled ON accounts
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER credential_epoch_accounts_delete AFTER DELETE ON accounts
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;

CREATE TRIGGER credential_epoch_groups_update AFTER UPDATE OF id, name, permissions ON account_groups
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER credential_epoch_groups_delete AFTER DELETE ON account_groups
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;

CREATE TRIGGER credential_epoch_members_insert AFTER INSERT ON group_members
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER credential_epoch_members_update AFTER UPDATE ON group_members
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER credential_epoch_members_delete AFTER DELETE ON group_members
BEGIN UPDATE credential_epoch SET epoch = epoch + 1 WHERE id = 1; END;
