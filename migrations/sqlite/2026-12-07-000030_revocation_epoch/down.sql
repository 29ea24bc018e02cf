DROP TRIGGER revocation_epoch_update;
DROP TRIGGER revocation_epoch_insert;
DROP TABLE revocation_epoch;
