-- Reverts 0005_guest_payments.up.sql. IF EXISTS, so a half-applied revert can run again.
-- Guest intents and orders that no registration adopted have no user to belong to in the
-- older schema: they are deleted (Stripe keeps them; paybridgectl events replay cannot
-- bring them back without a user).
DELETE FROM orders WHERE user_id IS NULL;
DELETE FROM payment_intents WHERE user_id IS NULL;
ALTER TABLE orders
	DROP KEY IF EXISTS orders_guest,
	DROP COLUMN IF EXISTS guest_email,
	MODIFY user_id BIGINT UNSIGNED NOT NULL;
ALTER TABLE payment_intents
	DROP KEY IF EXISTS payment_intents_guest,
	DROP COLUMN IF EXISTS guest_email,
	MODIFY user_id BIGINT UNSIGNED NOT NULL;
DROP TABLE IF EXISTS rate_limits;
DROP TABLE IF EXISTS guest_customers;
