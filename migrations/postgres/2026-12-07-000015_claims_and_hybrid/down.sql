ALTER TABLE clients DROP COLUMN hybrid_enabled;
ALTER TABLE refresh_tokens DROP COLUMN claims;
ALTER TABLE authorization_codes DROP COLUMN claims;
ALTER TABLE authorization_requests DROP COLUMN response_mode;
ALTER TABLE authorization_requests DROP COLUMN response_type;
ALTER TABLE authorization_requests DROP COLUMN claims;
