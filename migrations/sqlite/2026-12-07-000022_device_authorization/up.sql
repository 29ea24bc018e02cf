-- The device authorization grant (RFC 8628). A device asks at /oauth/device_authorization and
-- gets a device code (kept as its SHA-256 hash) and a user code (kept as a keyed hash of its
-- normalized 8 letters); the user enters the user code on the hosted page, signs in and approves
-- or denies; the device polls the token endpoint until then. `status`: pending, approved,
-- denied, used. The polling interval and the last poll are stored here so that `slow_down`
-- holds across replicas. An authorization request started from the page names its device
-- authorization (`authorization_requests.device_authorization_id`).
CREATE TABLE device_authorizations (
    id TEXT PRIMARY KEY NOT NULL,
    device_code_hash TEXT NOT NULL UNIQUE,
    user_code_hash TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    status TEXT NOT NULL,
    account_id TEXT,
    session_id TEXT,
    auth_time TIMESTAMP,
    amr TEXT,
    interval_seconds INTEGER NOT NULL,
    last_polled_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX device_authorizations_expires_at ON device_authorizations (expires_at);
ALTER TABLE authorization_requests ADD COLUMN device_authorization_id TEXT;
