-- Request objects (JAR, RFC 9101): a client may be held to signed request objects, and a
-- pushed request remembers whether its parameters came in one (for that rule at redemption).
ALTER TABLE clients ADD COLUMN require_signed_request_object BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE pushed_authorization_requests ADD COLUMN signed BOOLEAN NOT NULL DEFAULT FALSE;
