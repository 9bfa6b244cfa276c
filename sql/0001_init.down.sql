-- Reverts 0001_init.up.sql: drops every table it created, children before the tables
-- their foreign keys point at. IF EXISTS, so a half-applied revert can run again.
-- This destroys all data: `paybridgectl migrate down` is for development and tests.

DROP TABLE IF EXISTS api_idempotency;
DROP TABLE IF EXISTS stripe_jobs;
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS subscriptions;
DROP TABLE IF EXISTS checkout_sessions;
DROP TABLE IF EXISTS payment_intents;
DROP TABLE IF EXISTS products;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS login_throttle;
DROP TABLE IF EXISTS stripe_events;
DROP TABLE IF EXISTS sync_state;
DROP TABLE IF EXISTS schema_migrations;
