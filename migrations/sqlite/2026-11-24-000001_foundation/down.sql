DROP TABLE idempotency_keys;
DROP TABLE audit_chain_head;
DROP TABLE audit_events;
DROP TABLE client_secrets;
DROP TABLE clients;
DROP TABLE accounts;
DROP TABLE namespaces;
