-- No path to power one does not hold (docs/security.md): consent per account and client,
-- per-client switches for consent and self-registration, and the times before which a
-- principal's access tokens no longer count (a password set, a secret rotated without overlap).

ALTER TABLE accounts ADD COLUMN tokens_valid_after TIMESTAMP;
-- A self-registration whose address is not verified yet; it holds its sign-in names until then.
ALTER TABLE accounts ADD COLUMN registration_expires_at TIMESTAMP;
CREATE INDEX accounts_registration_expires_at ON accounts (registration_expires_at);

ALTER TABLE clients ADD COLUMN tokens_valid_after TIMESTAMP;
-- A first-party application whose users are not asked to consent (set by an administrator).
ALTER TABLE clients ADD COLUMN skip_consent BOOLEAN NOT NULL DEFAULT FALSE;
-- Whether its sign-in page offers self-registration into its user namespace.
ALTER TABLE clients ADD COLUMN registration_enabled BOOLEAN NOT NULL DEFAULT FALSE;
-- The console is Gatehouse's own application; applications that signed users into a namespace
-- other than `system` offered registration before this switch existed, and keep doing so.
UPDATE clients SET skip_consent = TRUE WHERE client_id = 'console';
UPDATE clients SET registration_enabled = TRUE
    WHERE user_namespace IS NOT NULL AND user_namespace <> 'system' AND grant_types LIKE '%authorization_code%';

-- What an account allowed an application: the scopes it consented to.
CREATE TABLE consents (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, client_id)
);
CREATE INDEX consents_client ON consents (client_id);

-- Revoking what an account holds (a password set, a consent withdrawn) finds its tokens.
CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id, client_id);
