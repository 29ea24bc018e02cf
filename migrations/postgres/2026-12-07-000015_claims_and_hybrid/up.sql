-- The `claims` request parameter (OIDC Core 5.5) travels from the authorization request to
-- its code and on to the refresh tokens issued for it (normalized JSON); hybrid responses
-- (`code id_token`) and response modes (`query`, `fragment`, `form_post`) are remembered on
-- the request; `hybrid_enabled` is switched on per client by an administrator.
ALTER TABLE authorization_requests ADD COLUMN claims TEXT;
ALTER TABLE authorization_requests ADD COLUMN response_type TEXT NOT NULL DEFAULT 'code';
ALTER TABLE authorization_requests ADD COLUMN response_mode TEXT NOT NULL DEFAULT 'query';
ALTER TABLE authorization_codes ADD COLUMN claims TEXT;
ALTER TABLE refresh_tokens ADD COLUMN claims TEXT;
ALTER TABLE clients ADD COLUMN hybrid_enabled BOOLEAN NOT NULL DEFAULT FALSE;
