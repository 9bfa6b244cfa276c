-- Reverts 0006_webhook_trips.up.sql. IF EXISTS / IF NOT EXISTS, so a half-applied revert
-- can run again. resolved_at comes back for the failures whose event was applied since.
ALTER TABLE stripe_event_failures
	DROP KEY IF EXISTS stripe_event_failures_last,
	ADD COLUMN IF NOT EXISTS resolved_at DATETIME(6) NULL AFTER last_failed_at,
	ADD KEY IF NOT EXISTS stripe_event_failures_open (resolved_at, last_failed_at);
UPDATE stripe_event_failures f JOIN stripe_events e ON e.stripe_event_id = f.stripe_event_id
	SET f.resolved_at = COALESCE(e.processed_at, e.received_at)
	WHERE f.resolved_at IS NULL;
