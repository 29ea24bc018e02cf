-- The time of the chain's newest event, kept on its head (issue 15): an append takes the head
-- and reads it, with this time, in one statement (`UPDATE … RETURNING`), where it read the
-- newest event in a second one. The newest event's time bounds the next events' (a time window
-- of the audit API is a seq range); 0 when the chain is empty or its newest event was archived.
ALTER TABLE audit_chain_head ADD COLUMN last_time BIGINT NOT NULL DEFAULT 0;
UPDATE audit_chain_head
SET last_time = COALESCE((SELECT time FROM audit_events WHERE audit_events.seq = audit_chain_head.seq), 0);
