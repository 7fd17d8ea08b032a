-- A team's handoffs, for its manager's list: a manager sees the handoffs
-- owned by the team's members (through handoffs_owner) and those of the
-- team itself, whoever owns them. Without it the list of a small team
-- walks every handoff of the workspace.

-- +goose Up
CREATE INDEX IF NOT EXISTS handoffs_team ON handoffs (workspace_id, team_id, id);

-- +goose Down
DROP INDEX IF EXISTS handoffs_team;
