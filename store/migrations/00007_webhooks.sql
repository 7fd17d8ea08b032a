-- Webhook deliveries on their own workers: a lease per claim, so that one
-- receiver's deliveries in flight can be counted and capped, and what the
-- last attempt saw, for the deliveries list.

-- +goose Up
ALTER TABLE webhook_deliveries
    -- Set while a claimed attempt is in flight; cleared by its outcome.
    ADD COLUMN leased_until    timestamptz,
    ADD COLUMN last_attempt_at timestamptz,
    -- The receiver's HTTP status at the last attempt; null when none came.
    ADD COLUMN last_status     integer;
-- Due deliveries are claimed per webhook, oldest due first.
DROP INDEX webhook_deliveries_pending;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (webhook_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (webhook_id, leased_until) WHERE leased_until IS NOT NULL;
-- A webhook's deliveries, newest first, for its deliveries list.
CREATE INDEX webhook_deliveries_recent ON webhook_deliveries (webhook_id, id);

-- +goose Down
DROP INDEX webhook_deliveries_recent, webhook_deliveries_leased, webhook_deliveries_due;
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
ALTER TABLE webhook_deliveries DROP COLUMN last_status, DROP COLUMN last_attempt_at, DROP COLUMN leased_until;
