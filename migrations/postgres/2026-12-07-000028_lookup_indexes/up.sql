-- SCIM filters on externalId (issue 17, ADR 0018): Entra ID and Okta look an account or a group
-- up by the directory's own identifier before they create it; the lookup reads an index, not
-- the namespace.
CREATE INDEX accounts_external_id ON accounts (namespace, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX account_groups_external_id ON account_groups (namespace, external_id) WHERE external_id IS NOT NULL;
-- Only accounts registered and not yet confirmed expire (issue 15): the index that housekeeping
-- reads held an entry for every account, written with each of them (an import of a million
-- accounts wrote a million NULL entries).
DROP INDEX accounts_registration_expires_at;
CREATE INDEX accounts_registration_expires_at ON accounts (registration_expires_at)
    WHERE registration_expires_at IS NOT NULL;
