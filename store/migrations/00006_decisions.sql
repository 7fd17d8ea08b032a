-- Decisions that stick: a rejected lead waits for a cooldown and new
-- engagement before the criteria hand it off again; criteria that fail at
-- run time are deactivated with the reason, and the deactivation is kept.

-- +goose Up
ALTER TABLE assignment_settings
    ADD COLUMN requalify_cooldown_seconds bigint NOT NULL DEFAULT 2592000
        CHECK (requalify_cooldown_seconds >= 0);

-- Rescoring finds a lead's last rejection here.
CREATE INDEX handoffs_lead_rejected ON handoffs (lead_id, decided_at) WHERE status = 'rejected';

-- Why a version stopped being active when the system (not a person) stopped
-- it: the expression blew its budget or failed on a lead.
ALTER TABLE criteria
    ADD COLUMN deactivated_at     timestamptz,
    ADD COLUMN deactivated_reason text NOT NULL DEFAULT '';

-- The criteria's audit trail: activations and deactivations, by whom.
CREATE TABLE criteria_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id uuid NOT NULL,
    criteria_id  uuid NOT NULL,
    action       text NOT NULL CHECK (action IN ('activated', 'deactivated')),
    actor        text NOT NULL,
    reason       text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (workspace_id, criteria_id) REFERENCES criteria (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX criteria_events_criteria ON criteria_events (criteria_id, id);

-- +goose Down
DROP TABLE criteria_events;
ALTER TABLE criteria DROP COLUMN deactivated_at, DROP COLUMN deactivated_reason;
DROP INDEX handoffs_lead_rejected;
ALTER TABLE assignment_settings DROP COLUMN requalify_cooldown_seconds;
