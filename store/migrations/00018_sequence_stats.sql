-- The sequence builder's per-step counts read a sequence's newest
-- enrollments and their messages from indexes alone, never a table end to
-- end.
--
-- Upgrading a big database: as for 00010, the indexes can be built first
-- with CREATE INDEX CONCURRENTLY under the same names (see the README).

-- +goose Up
-- A sequence's enrollments, newest first, with the state and step the
-- counts need.
CREATE INDEX IF NOT EXISTS enrollments_sequence_recent ON enrollments (workspace_id, sequence_id, id DESC)
    INCLUDE (state, step_key);
-- An enrollment's messages, with what became of each.
CREATE INDEX IF NOT EXISTS messages_enrollment ON messages (enrollment_id)
    INCLUDE (step_key, sent_at, opened_at, clicked_at)
    WHERE enrollment_id IS NOT NULL;

-- +goose Down
DROP INDEX IF EXISTS messages_enrollment;
DROP INDEX IF EXISTS enrollments_sequence_recent;
