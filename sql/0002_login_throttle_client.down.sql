-- Reverts 0002_login_throttle_client.up.sql: back to one row per address. The per-client
-- rows go (the ceiling rows are what the old policy keyed on), then the column.
DELETE FROM login_throttle WHERE client <> '';
ALTER TABLE login_throttle
	DROP PRIMARY KEY,
	DROP COLUMN client,
	ADD PRIMARY KEY (email_normalized);
