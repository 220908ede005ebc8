-- 004: what an idempotency key was used for, so reusing a key for different content is refused
-- (409) instead of silently returning the earlier group.
ALTER TABLE update_groups ADD COLUMN request_sha256 BLOB;
