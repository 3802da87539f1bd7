-- Identity key rotation without refused tokens (issue 14): a rotated key is published at once
-- but signs only from signs_from (Unix ms), once every cache of the key set has had it;
-- signs_until (Unix ms, null for the newest key) is when a later key takes over. Which key
-- signs is derived from these stored times, so every node agrees. retires_at stays "published
-- until" (signs_until + 24 h). Keys made before this migration signed from their creation.
ALTER TABLE identity_keys ADD COLUMN signs_from INTEGER NOT NULL DEFAULT 0;
ALTER TABLE identity_keys ADD COLUMN signs_until INTEGER;
UPDATE identity_keys SET signs_from = created_at;
UPDATE identity_keys SET signs_until = retires_at - 86400000 WHERE retires_at IS NOT NULL;
