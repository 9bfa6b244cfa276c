-- Failed logins are counted per (address, client) as well as per address, so that one
-- client guessing cannot lock the owner out (services/accounts.h has the policy). A row
-- with client = '' is the address's ceiling across every client; the others hold one
-- client's streak, client being its IP address (an IPv6 client's /64).
--
-- The rows there are per-address streaks under the old policy, which would mean
-- something else as ceilings: they are dropped. Throttle state is short-lived, so this
-- costs at most one streak per address being guessed during the upgrade.
DELETE FROM login_throttle;
ALTER TABLE login_throttle
	ADD COLUMN client VARCHAR(45) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT ''
		AFTER email_normalized,
	DROP PRIMARY KEY,
	ADD PRIMARY KEY (email_normalized, client);
