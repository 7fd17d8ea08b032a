-- Stuck work becomes visible: a response whose processing keeps failing is
-- counted, and after a set number of attempts it is marked failed with its
-- last error instead of waiting as pending for ever.

-- +goose Up
ALTER TABLE responses
    ADD COLUMN attempts   integer NOT NULL DEFAULT 0,
    ADD COLUMN last_error text NOT NULL DEFAULT '',
    ADD COLUMN failed_at  timestamptz;
ALTER TABLE responses DROP CONSTRAINT responses_status_check;
ALTER TABLE responses ADD CONSTRAINT responses_status_check
    CHECK (status IN ('pending', 'processed', 'held', 'awaiting_confirmation', 'failed'));
-- The failed list in the API, newest failure first.
CREATE INDEX responses_failed ON responses (workspace_id, failed_at DESC, id) WHERE status = 'failed';

-- +goose Down
DROP INDEX responses_failed;
UPDATE responses SET status = 'pending' WHERE status = 'failed';
ALTER TABLE responses DROP CONSTRAINT responses_status_check;
ALTER TABLE responses ADD CONSTRAINT responses_status_check
    CHECK (status IN ('pending', 'processed', 'held', 'awaiting_confirmation'));
ALTER TABLE responses DROP COLUMN failed_at, DROP COLUMN last_error, DROP COLUMN attempts;
