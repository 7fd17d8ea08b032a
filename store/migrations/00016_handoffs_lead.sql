-- A lead's handoffs, whatever their status: the console's lead timeline
-- reads their events through it (the existing indexes on lead_id cover the
-- open and the rejected ones only).

-- +goose Up
CREATE INDEX IF NOT EXISTS handoffs_lead ON handoffs (workspace_id, lead_id);

-- +goose Down
DROP INDEX IF EXISTS handoffs_lead;
