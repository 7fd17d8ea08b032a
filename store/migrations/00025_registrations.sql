-- Event registrations can be cancelled (by the person, through the link in
-- their confirmation, or by marketing), which promotes the first person on
-- the waitlist, and attendance is recorded. Attending is an engagement
-- event scoring gives points to.

-- +goose Up
ALTER TABLE event_registrations DROP CONSTRAINT event_registrations_status_check;
ALTER TABLE event_registrations
    ADD CONSTRAINT event_registrations_status_check
        CHECK (status IN ('registered', 'waitlisted', 'cancelled', 'attended')),
    -- Who cancelled ("person" through the signed link, or the actor who did)
    -- and when; when a waitlisted registration took a place; when attended.
    ADD COLUMN cancelled_at timestamptz,
    ADD COLUMN cancelled_by text NOT NULL DEFAULT '',
    ADD COLUMN promoted_at  timestamptz,
    ADD COLUMN attended_at  timestamptz;
-- An event's registrations of one status, in the order they came: the
-- waitlist's queue, and the paged lists.
CREATE INDEX IF NOT EXISTS event_registrations_event_status
    ON event_registrations (workspace_id, event_id, status, created_at, id);

-- New workspaces score attendance; workspaces that never changed their
-- points (still the old defaults) get the new kind's points too.
ALTER TABLE scoring_rules ALTER COLUMN points SET DEFAULT
    '{"form_submitted": 10, "event_registered": 15, "event_attended": 20, "email_opened": 2, "email_clicked": 5, "unsubscribed": -20, "bounced": -10}';
UPDATE scoring_rules SET points = points || '{"event_attended": 20}'
WHERE points = '{"form_submitted": 10, "event_registered": 15, "email_opened": 2, "email_clicked": 5, "unsubscribed": -20, "bounced": -10}'::jsonb;

-- +goose Down
UPDATE scoring_rules SET points = points - 'event_attended'
WHERE points = '{"form_submitted": 10, "event_registered": 15, "event_attended": 20, "email_opened": 2, "email_clicked": 5, "unsubscribed": -20, "bounced": -10}'::jsonb;
ALTER TABLE scoring_rules ALTER COLUMN points SET DEFAULT
    '{"form_submitted": 10, "event_registered": 15, "email_opened": 2, "email_clicked": 5, "unsubscribed": -20, "bounced": -10}';
DROP INDEX IF EXISTS event_registrations_event_status;
-- A cancelled registration gave its place away; an attended one held it.
DELETE FROM event_registrations WHERE status = 'cancelled';
UPDATE event_registrations SET status = 'registered' WHERE status = 'attended';
ALTER TABLE event_registrations DROP CONSTRAINT event_registrations_status_check;
ALTER TABLE event_registrations
    DROP COLUMN cancelled_at,
    DROP COLUMN cancelled_by,
    DROP COLUMN promoted_at,
    DROP COLUMN attended_at,
    ADD CONSTRAINT event_registrations_status_check CHECK (status IN ('registered', 'waitlisted'));
