-- A person's handoffs, newest first (GET /handoffs for a rep, paged on the
-- time-ordered id): handoffs_owner is ordered by created_at, so the planner
-- chose between sorting a rep's handoffs and reading the workspace's newest
-- first until a page was full, and at some statistics took the second
-- (10,000 rows read for a page of 51). This index serves the filter and the
-- order together.
--
-- On a big database build it first, without blocking writes:
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS handoffs_owner_id ON handoffs (workspace_id, owner_id, id);

-- +goose Up
CREATE INDEX IF NOT EXISTS handoffs_owner_id ON handoffs (workspace_id, owner_id, id);

-- +goose Down
DROP INDEX IF EXISTS handoffs_owner_id;
