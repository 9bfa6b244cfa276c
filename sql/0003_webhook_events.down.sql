-- Reverts 0003_webhook_events.up.sql. IF EXISTS, so a half-applied revert can run again.
ALTER TABLE subscriptions
	DROP COLUMN IF EXISTS invoice_event_created,
	DROP COLUMN IF EXISTS latest_invoice_status,
	DROP COLUMN IF EXISTS latest_invoice_id;
DROP TABLE IF EXISTS payment_refunds;
DROP TABLE IF EXISTS stripe_event_failures;
