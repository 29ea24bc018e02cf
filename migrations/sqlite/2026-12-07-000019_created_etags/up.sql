-- A create answers with its resource's ETag; a replay with the same Idempotency-Key too.
ALTER TABLE idempotency_keys ADD COLUMN etag TEXT;
