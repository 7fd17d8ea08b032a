-- Periodic claims read only the rows they can take: a backlog they must
-- leave alone (escalated handoffs still open, enrollments of a paused
-- sequence, messages on the queue or deferred) stays out of the index
-- range they walk every second.
--
-- Upgrading a big database: as for 00010, the indexes can be built first
-- with CREATE INDEX CONCURRENTLY under the same names (see the README).

-- +goose Up
-- When a handoff was first escalated to a manager, kept by the trigger
-- below from its 'escalated' event, whichever code path records it.
ALTER TABLE handoffs ADD COLUMN escalated_at timestamptz;
UPDATE handoffs h SET escalated_at = e.at
FROM (SELECT handoff_id, min(at) AS at FROM handoff_events WHERE action = 'escalated' GROUP BY handoff_id) e
WHERE e.handoff_id = h.id;

-- +goose StatementBegin
CREATE FUNCTION handoffs_mark_escalated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE handoffs SET escalated_at = NEW.at WHERE id = NEW.handoff_id AND escalated_at IS NULL;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER handoff_events_escalated AFTER INSERT ON handoff_events
    FOR EACH ROW WHEN (NEW.action = 'escalated') EXECUTE FUNCTION handoffs_mark_escalated();

-- The SLA job's open handoffs that can still be escalated, by deadline.
CREATE INDEX IF NOT EXISTS handoffs_sla_unescalated ON handoffs (sla_due_at)
    WHERE status = 'open' AND escalated_at IS NULL;
-- The scheduler walks active sequences and each one's due enrollments, so
-- a paused sequence's enrollments are never read, and come back with their
-- schedule as it was when the sequence resumes.
CREATE INDEX IF NOT EXISTS enrollments_due_sequence ON enrollments (sequence_id, next_run_at)
    WHERE state = 'active';
-- Replaced by the one above; only the claim read it.
DROP INDEX IF EXISTS enrollments_due;
-- Queued messages never claimed, oldest first; and those whose lease or
-- deferral has run out, by when it did.
CREATE INDEX IF NOT EXISTS messages_queued_new ON messages (created_at)
    WHERE status = 'queued' AND enqueued_at IS NULL;
CREATE INDEX IF NOT EXISTS messages_queued_lease ON messages (enqueued_at)
    WHERE status = 'queued';
-- Replaced by the two above: walking it in created_at order read every
-- message on the queue or deferred.
DROP INDEX IF EXISTS messages_queued;

-- +goose Down
CREATE INDEX IF NOT EXISTS messages_queued ON messages (created_at) WHERE status = 'queued';
DROP INDEX IF EXISTS messages_queued_lease;
DROP INDEX IF EXISTS messages_queued_new;
CREATE INDEX IF NOT EXISTS enrollments_due ON enrollments (next_run_at) WHERE state = 'active';
DROP INDEX IF EXISTS enrollments_due_sequence;
DROP INDEX IF EXISTS handoffs_sla_unescalated;
DROP TRIGGER handoff_events_escalated ON handoff_events;
DROP FUNCTION handoffs_mark_escalated();
ALTER TABLE handoffs DROP COLUMN escalated_at;
