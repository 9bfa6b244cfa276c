-- Guest (intake) payments (issue 9), behind guest_payments = on. Runs one statement at a
-- time and may run again after a half-applied attempt: IF NOT EXISTS throughout.
--
-- A guest's intent and order belong to no user yet: user_id is NULL and guest_email
-- (trimmed, lower case) says whose it is. When someone registers with that address the
-- rows are given to the new user (user_id set) and guest_email stays, for the record.
-- Every row has one or the other; services/payments.c never writes a row with neither.
ALTER TABLE payment_intents
	MODIFY user_id BIGINT UNSIGNED NULL,
	ADD COLUMN IF NOT EXISTS guest_email VARCHAR(254) NULL COLLATE utf8mb4_bin
		AFTER user_id,
	ADD KEY IF NOT EXISTS payment_intents_guest (guest_email);
ALTER TABLE orders
	MODIFY user_id BIGINT UNSIGNED NULL,
	ADD COLUMN IF NOT EXISTS guest_email VARCHAR(254) NULL COLLATE utf8mb4_bin
		AFTER user_id,
	ADD KEY IF NOT EXISTS orders_guest (guest_email);

-- The Stripe customer of a guest address, found by exact email or created with
-- metadata[source]=guest: the cache that spares a Stripe search per guest payment, and
-- what a registration with the address adopts.
CREATE TABLE IF NOT EXISTS guest_customers (
	email_normalized VARCHAR(254) NOT NULL COLLATE utf8mb4_bin,
	stripe_customer_id VARCHAR(255) NOT NULL COLLATE utf8mb4_bin,
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	PRIMARY KEY (email_normalized),
	KEY guest_customers_customer (stripe_customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Fixed-window counters shared by every worker and host: a bucket ("guest-email:…",
-- "guest-ip:…") counts hits since window_start, and starts again once its window ends.
CREATE TABLE IF NOT EXISTS rate_limits (
	bucket VARCHAR(300) NOT NULL COLLATE utf8mb4_bin,
	window_start DATETIME(6) NOT NULL,
	hits INT UNSIGNED NOT NULL,
	PRIMARY KEY (bucket),
	KEY rate_limits_window (window_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
