DROP TRIGGER credential_epoch_clients ON clients;
DROP TRIGGER credential_epoch_secrets ON client_secrets;
DROP TRIGGER credential_epoch_accounts ON accounts;
DROP TRIGGER credential_epoch_groups ON account_groups;
DROP TRIGGER credential_epoch_members ON group_members;
DROP FUNCTION bump_credential_epoch();
DROP TABLE credential_epoch;
