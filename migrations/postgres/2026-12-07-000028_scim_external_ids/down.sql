DROP INDEX account_groups_external_id;
DROP INDEX accounts_external_id;
