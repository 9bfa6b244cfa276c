-- A failure is resolved by its event's row (issue 15). Runs one statement at a time and
-- may run again after a half-applied attempt: IF EXISTS / IF NOT EXISTS throughout.
--
-- A failure is open while its event has no stripe_events row (repo/events.h): the
-- transaction that applies the event no longer writes resolved_at, which cost every
-- event a round trip. The open failures are found by last_failed_at.
ALTER TABLE stripe_event_failures
	DROP KEY IF EXISTS stripe_event_failures_open,
	DROP COLUMN IF EXISTS resolved_at,
	ADD KEY IF NOT EXISTS stripe_event_failures_last (last_failed_at);
