-- The funnel counts the opportunities sales makes from scratch (no lead
-- behind them) apart from the stages: by workspace and creation time, over
-- those rows alone, however many opportunities came from leads.

-- +goose Up
CREATE INDEX IF NOT EXISTS opportunities_from_scratch ON opportunities (workspace_id, created_at)
    WHERE lead_id IS NULL;

-- +goose Down
DROP INDEX IF EXISTS opportunities_from_scratch;
