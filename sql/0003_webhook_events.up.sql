-- Webhook processing (issue 7): what a failed event left behind, refunds that arrive
-- before their order, and the invoice state of subscriptions. Runs one statement at a
-- time and may run again after a half-applied attempt: IF NOT EXISTS throughout.

-- An event whose effects failed is rolled back, stripe_events included, so its failure
-- is kept here, written outside that transaction: Stripe retries for three days, and
-- `paybridgectl events list --failed` shows what keeps failing. resolved_at is set in
-- the transaction that finally applies the event.
CREATE TABLE IF NOT EXISTS stripe_event_failures (
	stripe_event_id VARCHAR(255) NOT NULL COLLATE utf8mb4_bin,
	type VARCHAR(100) NOT NULL COLLATE utf8mb4_bin,
	source ENUM('webhook', 'sync', 'replay') NOT NULL,
	attempts INT UNSIGNED NOT NULL DEFAULT 0,
	last_error VARCHAR(500) NULL COLLATE utf8mb4_bin,
	first_failed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	last_failed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	resolved_at DATETIME(6) NULL,
	PRIMARY KEY (stripe_event_id),
	KEY stripe_event_failures_open (resolved_at, last_failed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The refunded amount of a payment intent's charge as charge.refunded last said, kept
-- whether or not the order exists yet: an order created later starts refunded. Refunds
-- only grow, so the largest amount seen is the newest.
CREATE TABLE IF NOT EXISTS payment_refunds (
	stripe_payment_intent_id VARCHAR(255) NOT NULL COLLATE utf8mb4_bin,
	stripe_charge_id VARCHAR(255) NULL COLLATE utf8mb4_bin,
	amount_refunded BIGINT NOT NULL,
	last_event_created BIGINT NOT NULL DEFAULT 0,
	created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
	PRIMARY KEY (stripe_payment_intent_id),
	CONSTRAINT payment_refunds_amount CHECK (amount_refunded >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- invoice.paid and invoice.payment_failed: the newest invoice of a subscription and
-- whether it was paid, with its own stale-event guard (invoices and subscription changes
-- are separate streams of events).
ALTER TABLE subscriptions
	ADD COLUMN IF NOT EXISTS latest_invoice_id VARCHAR(255) NULL COLLATE utf8mb4_bin
		AFTER ended_at,
	ADD COLUMN IF NOT EXISTS latest_invoice_status VARCHAR(40) NULL COLLATE utf8mb4_bin
		AFTER latest_invoice_id,
	ADD COLUMN IF NOT EXISTS invoice_event_created BIGINT NOT NULL DEFAULT 0
		AFTER latest_invoice_status;
