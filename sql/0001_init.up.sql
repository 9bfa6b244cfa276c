-- paybridge schema, version 1. Applied by `paybridgectl migrate up`, which runs it one
-- statement at a time (DDL commits on its own), so every statement may run again after
-- a half-applied attempt: IF NOT EXISTS throughout.
--
-- Conventions: InnoDB, utf8mb4; a primary key on every table (Galera needs one); a
-- UNIQUE key on every Stripe id; money as BIGINT minor units beside a CHAR(3) lower-case
-- ISO currency; times as DATETIME(6) in UTC (paybridge's sessions run with time_zone
-- '+00:00', so CURRENT_TIMESTAMP(6) is UTC). Stripe ids, keys and slugs compare
-- byte for byte (utf8mb4_bin: Stripe ids are case-sensitive); names and descriptions use
-- utf8mb4_unicode_ci. Each row changed by Stripe events keeps the `created` time (Unix
-- seconds) of the event that last changed it in last_event_created, so older events are
-- ignored. Foreign keys never cascade: nothing a user did is ever deleted with them.

CREATE TABLE IF NOT EXISTS users (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	name VARCHAR(200) NOT NULL COLLATE utf8mb4_unicode_ci,
	-- As the user typed it (trimmed), for display and for Stripe.
	email VARCHAR(254) NOT NULL COLLATE utf8mb4_unicode_ci,
	-- LOWER(TRIM(email)) for uniqueness without regard to case. NULL exactly when the
	-- account is deleted: the tombstone keeps its row (and email) but frees the address
	-- for a new registration, since a UNIQUE key allows many NULLs.
	email_normalized VARCHAR(254) NULL COLLATE utf8mb4_bin,
	password_hash VARCHAR(255) NOT NULL COLLATE utf8mb4_bin,	-- PHC string (argon2id)
	role ENUM('user', 'admin') NOT NULL DEFAULT 'user',
	is_email_verified BOOLEAN NOT NULL DEFAULT FALSE,
	-- Carried in every JWT; bumped on password change and deletion to revoke tokens.
	token_version INT UNSIGNED NOT NULL DEFAULT 0,
	stripe_customer_id VARCHAR(255) NULL COLLATE utf8mb4_bin,
	stripe_customer_created_at DATETIME(6) NULL,
	-- The name and email last sent to Stripe: a customer.updated event carrying exactly
	-- these is our own change coming back, and changes nothing.
	last_pushed_name VARCHAR(200) NULL COLLATE utf8mb4_unicode_ci,
	last_pushed_email VARCHAR(254) NULL COLLATE utf8mb4_unicode_ci,
	-- created of the newest customer.* event applied (stale-event guard).
	stripe_customer_event_created BIGINT NOT NULL DEFAULT 0,
	deleted_at DATETIME(6) NULL,
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
	PRIMARY KEY (id),
	UNIQUE KEY users_email_normalized (email_normalized),
	UNIQUE KEY users_stripe_customer_id (stripe_customer_id),
	KEY users_created_at (created_at),
	CONSTRAINT users_email_is_normalized
		CHECK (email_normalized = LOWER(TRIM(email_normalized))),
	CONSTRAINT users_tombstone_frees_email
		CHECK ((deleted_at IS NULL) = (email_normalized IS NOT NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Failed logins per address, whether or not an account has it (so the throttle does
-- not reveal which addresses are registered).
CREATE TABLE IF NOT EXISTS login_throttle (
	email_normalized VARCHAR(254) NOT NULL COLLATE utf8mb4_bin,
	failures INT UNSIGNED NOT NULL DEFAULT 0,
	first_failure_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	blocked_until DATETIME(6) NULL,
	updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
	PRIMARY KEY (email_normalized),
	KEY login_throttle_updated_at (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS products (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	slug VARCHAR(100) NOT NULL COLLATE utf8mb4_bin,
	name VARCHAR(200) NOT NULL,
	description TEXT NULL,
	amount BIGINT NOT NULL,
	currency CHAR(3) NOT NULL COLLATE utf8mb4_bin,
	kind ENUM('one_time', 'recurring') NOT NULL DEFAULT 'one_time',
	recurring_interval ENUM('day', 'week', 'month', 'year') NULL,
	recurring_interval_count INT UNSIGNED NULL,
	stripe_product_id VARCHAR(255) NULL COLLATE utf8mb4_bin,
	stripe_price_id VARCHAR(255) NULL COLLATE utf8mb4_bin,
	active BOOLEAN NOT NULL DEFAULT TRUE,
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
	PRIMARY KEY (id),
	UNIQUE KEY products_slug (slug),
	UNIQUE KEY products_stripe_product_id (stripe_product_id),
	UNIQUE KEY products_stripe_price_id (stripe_price_id),
	CONSTRAINT products_amount CHECK (amount >= 0),
	CONSTRAINT products_currency CHECK (currency REGEXP '^[a-z]{3}$'),
	CONSTRAINT products_recurring
		CHECK ((kind = 'recurring') = (recurring_interval IS NOT NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS payment_intents (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	stripe_id VARCHAR(255) NOT NULL COLLATE utf8mb4_bin,
	user_id BIGINT UNSIGNED NOT NULL,
	-- NULL for an intent learned from Stripe (a checkout session's) without a product.
	product_id BIGINT UNSIGNED NULL,
	quantity INT UNSIGNED NOT NULL DEFAULT 1,
	amount BIGINT NOT NULL,
	currency CHAR(3) NOT NULL COLLATE utf8mb4_bin,
	status VARCHAR(40) NOT NULL COLLATE utf8mb4_bin,
	-- Handed back when a client repeats its Idempotency-Key.
	client_secret VARCHAR(255) NULL COLLATE utf8mb4_bin,
	last_error_code VARCHAR(100) NULL COLLATE utf8mb4_bin,
	stripe_checkout_session_id VARCHAR(255) NULL COLLATE utf8mb4_bin,
	last_event_created BIGINT NOT NULL DEFAULT 0,
	-- When the row was last brought up to date from Stripe (event or retrieval).
	refreshed_at DATETIME(6) NULL,
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
	PRIMARY KEY (id),
	UNIQUE KEY payment_intents_stripe_id (stripe_id),
	KEY payment_intents_user (user_id, created_at),
	KEY payment_intents_product (product_id),
	CONSTRAINT payment_intents_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
		ON DELETE RESTRICT ON UPDATE RESTRICT,
	CONSTRAINT payment_intents_product_fk FOREIGN KEY (product_id) REFERENCES products (id)
		ON DELETE RESTRICT ON UPDATE RESTRICT,
	CONSTRAINT payment_intents_amount CHECK (amount >= 0),
	CONSTRAINT payment_intents_quantity CHECK (quantity >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS checkout_sessions (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	stripe_id VARCHAR(255) NOT NULL COLLATE utf8mb4_bin,
	user_id BIGINT UNSIGNED NOT NULL,
	product_id BIGINT UNSIGNED NULL,
	quantity INT UNSIGNED NOT NULL DEFAULT 1,
	mode ENUM('payment', 'subscription', 'setup') NOT NULL,
	status VARCHAR(40) NOT NULL COLLATE utf8mb4_bin,		-- open, complete, expired
	payment_status VARCHAR(40) NOT NULL COLLATE utf8mb4_bin,	-- paid, unpaid, ...
	amount_total BIGINT NULL,
	currency CHAR(3) NULL COLLATE utf8mb4_bin,
	url VARCHAR(2048) NULL COLLATE utf8mb4_bin,			-- NULL once Stripe drops it
	stripe_payment_intent_id VARCHAR(255) NULL COLLATE utf8mb4_bin,
	stripe_subscription_id VARCHAR(255) NULL COLLATE utf8mb4_bin,
	expires_at DATETIME(6) NULL,
	last_event_created BIGINT NOT NULL DEFAULT 0,
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
	PRIMARY KEY (id),
	UNIQUE KEY checkout_sessions_stripe_id (stripe_id),
	KEY checkout_sessions_user (user_id, created_at),
	KEY checkout_sessions_payment_intent (stripe_payment_intent_id),
	KEY checkout_sessions_subscription (stripe_subscription_id),
	CONSTRAINT checkout_sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
		ON DELETE RESTRICT ON UPDATE RESTRICT,
	CONSTRAINT checkout_sessions_product_fk FOREIGN KEY (product_id) REFERENCES products (id)
		ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One order per payment intent, whichever of payment_intent.succeeded and
-- checkout.session.completed arrives first (the UNIQUE key decides). Orders outlive
-- their user's account.
CREATE TABLE IF NOT EXISTS orders (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	user_id BIGINT UNSIGNED NOT NULL,
	product_id BIGINT UNSIGNED NULL,
	quantity INT UNSIGNED NOT NULL DEFAULT 1,
	amount BIGINT NOT NULL,
	currency CHAR(3) NOT NULL COLLATE utf8mb4_bin,
	stripe_payment_intent_id VARCHAR(255) NOT NULL COLLATE utf8mb4_bin,
	stripe_checkout_session_id VARCHAR(255) NULL COLLATE utf8mb4_bin,
	status ENUM('paid', 'partially_refunded', 'refunded') NOT NULL DEFAULT 'paid',
	amount_refunded BIGINT NOT NULL DEFAULT 0,
	last_event_created BIGINT NOT NULL DEFAULT 0,
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
	PRIMARY KEY (id),
	UNIQUE KEY orders_stripe_payment_intent_id (stripe_payment_intent_id),
	KEY orders_user (user_id, created_at),
	KEY orders_checkout_session (stripe_checkout_session_id),
	CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
		ON DELETE RESTRICT ON UPDATE RESTRICT,
	CONSTRAINT orders_product_fk FOREIGN KEY (product_id) REFERENCES products (id)
		ON DELETE RESTRICT ON UPDATE RESTRICT,
	CONSTRAINT orders_amounts CHECK (amount >= 0 AND amount_refunded BETWEEN 0 AND amount)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS subscriptions (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	stripe_id VARCHAR(255) NOT NULL COLLATE utf8mb4_bin,
	user_id BIGINT UNSIGNED NOT NULL,
	product_id BIGINT UNSIGNED NULL,
	stripe_price_id VARCHAR(255) NOT NULL COLLATE utf8mb4_bin,
	stripe_checkout_session_id VARCHAR(255) NULL COLLATE utf8mb4_bin,
	quantity INT UNSIGNED NOT NULL DEFAULT 1,
	status VARCHAR(40) NOT NULL COLLATE utf8mb4_bin,
	current_period_start DATETIME(6) NULL,
	current_period_end DATETIME(6) NULL,
	cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE,
	canceled_at DATETIME(6) NULL,
	ended_at DATETIME(6) NULL,
	last_event_created BIGINT NOT NULL DEFAULT 0,
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
	PRIMARY KEY (id),
	UNIQUE KEY subscriptions_stripe_id (stripe_id),
	KEY subscriptions_user (user_id, created_at),
	CONSTRAINT subscriptions_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
		ON DELETE RESTRICT ON UPDATE RESTRICT,
	CONSTRAINT subscriptions_product_fk FOREIGN KEY (product_id) REFERENCES products (id)
		ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every Stripe event seen, inserted (a plain INSERT: 1062 means "already done") in the
-- same transaction as its effects, so each is applied exactly once.
CREATE TABLE IF NOT EXISTS stripe_events (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	stripe_event_id VARCHAR(255) NOT NULL COLLATE utf8mb4_bin,
	type VARCHAR(100) NOT NULL COLLATE utf8mb4_bin,
	api_version VARCHAR(40) NULL COLLATE utf8mb4_bin,
	event_created BIGINT NOT NULL,
	livemode BOOLEAN NOT NULL DEFAULT FALSE,
	-- data.object.id, to find an object's events (replay, reconcile).
	object_id VARCHAR(255) NULL COLLATE utf8mb4_bin,
	payload JSON NOT NULL,
	source ENUM('webhook', 'sync', 'replay') NOT NULL,
	received_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	processed_at DATETIME(6) NULL,
	PRIMARY KEY (id),
	UNIQUE KEY stripe_events_event_id (stripe_event_id),
	KEY stripe_events_created (event_created),
	KEY stripe_events_object (object_id),
	KEY stripe_events_type (type, event_created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The durable outbox of calls to Stripe. A job is inserted in the same transaction as
-- the change that needs it; workers on any host claim due jobs with
-- SELECT ... FOR UPDATE SKIP LOCKED on (status, run_after), lease them, and on failure
-- set run_after to the next backoff; after max_attempts a job is 'dead'. A 'running' job
-- whose lease_until has passed belongs to a worker that died and is claimed again.
CREATE TABLE IF NOT EXISTS stripe_jobs (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	kind VARCHAR(40) NOT NULL COLLATE utf8mb4_bin,	-- create_customer, update_customer, ...
	user_id BIGINT UNSIGNED NULL,
	-- Sent to Stripe as Idempotency-Key on every attempt; UNIQUE also makes enqueueing
	-- the same work twice a conflict.
	idempotency_key VARCHAR(255) NOT NULL COLLATE utf8mb4_bin,
	payload JSON NULL,
	status ENUM('pending', 'running', 'done', 'dead') NOT NULL DEFAULT 'pending',
	attempts INT UNSIGNED NOT NULL DEFAULT 0,
	max_attempts INT UNSIGNED NOT NULL DEFAULT 12,
	run_after DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	lease_until DATETIME(6) NULL,
	leased_by VARCHAR(64) NULL COLLATE utf8mb4_bin,	-- host:pid of the claiming worker
	first_attempt_at DATETIME(6) NULL,
	last_error TEXT NULL,
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
	done_at DATETIME(6) NULL,
	PRIMARY KEY (id),
	UNIQUE KEY stripe_jobs_idempotency_key (idempotency_key),
	KEY stripe_jobs_due (status, run_after),
	KEY stripe_jobs_lease (status, lease_until),
	-- Finding a user's pending update_customer job to coalesce into it.
	KEY stripe_jobs_user (user_id, kind, status),
	CONSTRAINT stripe_jobs_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
		ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Responses of our own POST endpoints, by the client's Idempotency-Key. A row is
-- inserted before the work (response_status NULL: in progress), so a concurrent repeat
-- conflicts on the UNIQUE key instead of doing the work twice.
CREATE TABLE IF NOT EXISTS api_idempotency (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	user_id BIGINT UNSIGNED NOT NULL,
	idempotency_key VARCHAR(255) NOT NULL COLLATE utf8mb4_bin,
	-- SHA-256 hex of method, path and body: the same key with another request is a 409.
	request_hash CHAR(64) NOT NULL COLLATE utf8mb4_bin,
	response_status SMALLINT UNSIGNED NULL,
	response_body MEDIUMTEXT NULL,
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	completed_at DATETIME(6) NULL,
	PRIMARY KEY (id),
	UNIQUE KEY api_idempotency_key (user_id, idempotency_key),
	KEY api_idempotency_created (created_at),
	CONSTRAINT api_idempotency_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
		ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Small named values that must survive restarts, e.g. the /v1/events sync cursor.
CREATE TABLE IF NOT EXISTS sync_state (
	name VARCHAR(64) NOT NULL COLLATE utf8mb4_bin,
	value VARCHAR(255) NOT NULL COLLATE utf8mb4_bin,
	updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
	PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Written by the migrator after each migration: checksum is the SHA-256 (hex) of the
-- migration's .up.sql as embedded in the paybridgectl that applied it.
CREATE TABLE IF NOT EXISTS schema_migrations (
	version INT UNSIGNED NOT NULL,
	name VARCHAR(200) NOT NULL COLLATE utf8mb4_bin,
	checksum CHAR(64) NOT NULL COLLATE utf8mb4_bin,
	applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
