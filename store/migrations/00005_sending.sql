-- Sending: well-formed Message-IDs, and nurture work that keeps failing
-- becomes visible instead of being retried for ever.

-- +goose Up
-- Handoff notices stored their Message-ID with its angle brackets, which
-- bounce reports (matched on the bare id@host) never found.
UPDATE messages SET message_id = btrim(message_id, '<>')
WHERE message_id LIKE '<%' OR message_id LIKE '%>';

-- A step that failed attempts times in a row (last_error says why); after
-- the set number the enrollment is failed, waiting at that step for
-- someone to retry it. A failed enrollment still counts as the lead's one
-- enrollment in the sequence, so retrying it never makes two.
ALTER TABLE enrollments
    ADD COLUMN attempts   integer NOT NULL DEFAULT 0,
    ADD COLUMN last_error text NOT NULL DEFAULT '';
ALTER TABLE enrollments DROP CONSTRAINT enrollments_state_check;
ALTER TABLE enrollments ADD CONSTRAINT enrollments_state_check
    CHECK (state IN ('active', 'completed', 'exited', 'failed'));
DROP INDEX enrollments_one_active;
CREATE UNIQUE INDEX enrollments_one_active ON enrollments (sequence_id, lead_id) WHERE state IN ('active', 'failed');
CREATE INDEX enrollments_failed ON enrollments (workspace_id, id) WHERE state = 'failed';

-- A message's attempts when it was last retried by hand: it fails again
-- only after the set number of attempts more.
ALTER TABLE messages ADD COLUMN attempts_before_retry integer NOT NULL DEFAULT 0;
CREATE INDEX messages_failed ON messages (workspace_id, id) WHERE status = 'failed';

-- +goose Down
DROP INDEX messages_failed;
ALTER TABLE messages DROP COLUMN attempts_before_retry;
DROP INDEX enrollments_failed;
UPDATE enrollments SET state = 'active' WHERE state = 'failed';
DROP INDEX enrollments_one_active;
CREATE UNIQUE INDEX enrollments_one_active ON enrollments (sequence_id, lead_id) WHERE state = 'active';
ALTER TABLE enrollments DROP CONSTRAINT enrollments_state_check;
ALTER TABLE enrollments ADD CONSTRAINT enrollments_state_check
    CHECK (state IN ('active', 'completed', 'exited'));
ALTER TABLE enrollments DROP COLUMN last_error, DROP COLUMN attempts;
