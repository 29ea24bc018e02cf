-- Second factors (issue 14). A factor has a kind (`totp` today; `webauthn` next), a name its
-- owner chose, and either a secret sealed with the master key (TOTP: the shared key, sealed to
-- the factor's id) or public credential data (WebAuthn: the credential as JSON). `last_step`
-- is the last TOTP time step accepted, so a code is accepted once.
CREATE TABLE account_factors (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    secret BLOB,
    public_data TEXT,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    last_step BIGINT
);
CREATE INDEX account_factors_account ON account_factors (account_id);

-- Recovery codes: ten single-use codes per account, stored as keyed hashes (HMAC-SHA-256 with a
-- key derived from the master key; each code carries 50 random bits).
CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    PRIMARY KEY (account_id, code_hash)
);

-- Per-namespace policy: `optional` or `required`.
ALTER TABLE namespaces ADD COLUMN mfa TEXT NOT NULL DEFAULT 'optional';

-- How a sign-in was made (RFC 8176 `amr` values, space-separated), carried from the SSO
-- session to the codes and refresh tokens it issues, for the ID token's `amr` and `acr`.
ALTER TABLE sso_sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE authorization_codes ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE refresh_tokens ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

-- A sign-in between its password and its second factor, kept with its authorization request
-- (and so bound to the browser's authz cookie, expiring with it): the account whose password
-- was accepted, the step it is at (`verify`, `enrol`, `enrolled`), the TOTP secret being
-- enrolled (sealed to the request), the ACR the request asks for.
ALTER TABLE authorization_requests ADD COLUMN mfa_account_id TEXT;
ALTER TABLE authorization_requests ADD COLUMN mfa_stage TEXT;
ALTER TABLE authorization_requests ADD COLUMN enrol_secret BLOB;
ALTER TABLE authorization_requests ADD COLUMN acr_values TEXT;
