ALTER TABLE authorization_requests DROP COLUMN device_authorization_id;
DROP TABLE device_authorizations;
