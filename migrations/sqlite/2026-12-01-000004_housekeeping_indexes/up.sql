-- Indexes for housekeeping (server/src/housekeeping.rs): each sweep finds the rows that ended
-- by an index range instead of scanning tables that hold a row per sign-in, token or attempt.
-- On a large existing PostgreSQL database, create them beforehand with CREATE INDEX
-- CONCURRENTLY under these names; this migration then leaves them as they are.
CREATE INDEX IF NOT EXISTS authorization_requests_expires_at ON authorization_requests (expires_at);
CREATE INDEX IF NOT EXISTS authorization_codes_expires_at ON authorization_codes (expires_at);
CREATE INDEX IF NOT EXISTS refresh_tokens_expires_at ON refresh_tokens (expires_at);
CREATE INDEX IF NOT EXISTS revoked_access_tokens_expires_at ON revoked_access_tokens (expires_at);
CREATE INDEX IF NOT EXISTS sso_sessions_expires_at ON sso_sessions (expires_at);
CREATE INDEX IF NOT EXISTS console_sessions_expires_at ON console_sessions (expires_at);
CREATE INDEX IF NOT EXISTS verification_codes_expires_at ON verification_codes (expires_at);
CREATE INDEX IF NOT EXISTS auth_throttle_last_failure_at ON auth_throttle (last_failure_at);
