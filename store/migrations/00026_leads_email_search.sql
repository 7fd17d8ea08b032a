-- The console's lead search finds part of an address (lower(email) LIKE
-- '%...%') beside the name and company (fuzzy_key): without an index of its
-- own that arm made every search read the workspace's leads newest first
-- until a page was full, all of them for a rare needle.
--
-- On a big database build it first, without blocking writes:
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS leads_email_trgm ON leads
--       USING gin (lower(email) gin_trgm_ops) WHERE merged_into IS NULL;

-- +goose Up
CREATE INDEX IF NOT EXISTS leads_email_trgm ON leads USING gin (lower(email) gin_trgm_ops) WHERE merged_into IS NULL;

-- +goose Down
DROP INDEX IF EXISTS leads_email_trgm;
