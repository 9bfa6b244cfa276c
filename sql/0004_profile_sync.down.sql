-- Reverts 0004_profile_sync.up.sql. IF EXISTS, so a half-applied revert can run again.
ALTER TABLE users
	DROP COLUMN IF EXISTS last_pushed_at,
	DROP COLUMN IF EXISTS customer_generation,
	DROP COLUMN IF EXISTS profile_version;
