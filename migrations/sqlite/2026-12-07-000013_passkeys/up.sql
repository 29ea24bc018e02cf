-- WebAuthn passkeys (issue 14, ADR 0013). A passkey is a row of `account_factors` of kind
-- `webauthn`: `public_data` holds the credential as webauthn-rs stores it (public key, counter,
-- backup flags: nothing to seal), `credential_id` its id (base64url) so that a passwordless
-- sign-in finds it and no credential is registered twice, `sign_count` the authenticator's
-- signature counter, which only moves forward (accepting an assertion is a conditional update).
ALTER TABLE account_factors ADD COLUMN credential_id TEXT;
ALTER TABLE account_factors ADD COLUMN sign_count BIGINT;
CREATE UNIQUE INDEX account_factors_credential ON account_factors (credential_id);

-- A challenge between the server and a browser: a WebAuthn ceremony (webauthn-rs's state: the
-- challenge, the credentials allowed) or a TOTP secret being enrolled (sealed), bound to an
-- authorization request (hosted sign-in) or to an account (self-service), used once (deleted
-- when answered) and expiring. In the database, not in memory: the answer may reach another
-- replica.
CREATE TABLE factor_challenges (
    id TEXT PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL,
    request_id TEXT,
    account_id TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX factor_challenges_expiry ON factor_challenges (expires_at);
