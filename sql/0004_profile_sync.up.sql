-- Profile sync both ways (issue 8). Runs one statement at a time and may run again after
-- a half-applied attempt: IF NOT EXISTS throughout.
--
-- profile_version: bumped by every change of name or email made here. An
-- update_customer job sends the values current when it runs, under an Idempotency-Key
-- derived from this version, so a retry of the same values is replayed by Stripe and
-- new values always get a new key.
--
-- customer_generation: bumped when the user's Stripe customer is deleted in Stripe
-- (customer.deleted) or found gone by paybridgectl reconcile. The create_customer job of
-- generation G > 0 has its own Idempotency-Key, so the next payment path creates a new
-- customer instead of being replayed the deleted one.
--
-- last_pushed_at: when Stripe last confirmed last_pushed_name and last_pushed_email
-- (our push, or an edit made in Stripe and applied here). Profile changes that follow a
-- push closely wait for the coalescing window instead of each calling Stripe.
ALTER TABLE users
	ADD COLUMN IF NOT EXISTS profile_version INT UNSIGNED NOT NULL DEFAULT 0
		AFTER token_version,
	ADD COLUMN IF NOT EXISTS customer_generation INT UNSIGNED NOT NULL DEFAULT 0
		AFTER stripe_customer_created_at,
	ADD COLUMN IF NOT EXISTS last_pushed_at DATETIME(6) NULL
		AFTER last_pushed_email;
