ALTER TABLE audit_chain_head DROP COLUMN last_time;
