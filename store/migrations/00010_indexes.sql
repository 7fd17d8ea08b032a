-- Indexes for the funnel report and for the periodic jobs, so that neither
-- reads more than the rows it answers with at a million leads.
--
-- Upgrading a big database: a plain CREATE INDEX blocks writes to its table
-- while it builds (on responses, that is form capture). Before running
-- `leadflow migrate up` on a large, live database, build these indexes with
-- CREATE INDEX CONCURRENTLY under the same names (the statements are in the
-- README's upgrade notes); this migration then finds them and only records
-- itself. Check that none was left invalid by an interrupted build first:
--   SELECT indexrelid::regclass FROM pg_index WHERE NOT indisvalid;

-- +goose Up
-- The funnel's candidates: leads and opportunities created in the range,
-- responses received in it.
CREATE INDEX IF NOT EXISTS leads_created ON leads (workspace_id, created_at);
CREATE INDEX IF NOT EXISTS opportunities_created ON opportunities (workspace_id, created_at);
CREATE INDEX IF NOT EXISTS responses_received ON responses (workspace_id, received_at);
-- The funnel's per-lead lookups, each answered from the index alone: every
-- stage a lead reached and when; its first response and that one's form.
CREATE INDEX IF NOT EXISTS lead_status_history_lead ON lead_status_history (workspace_id, lead_id, to_status, at);
CREATE INDEX IF NOT EXISTS responses_lead_first ON responses (workspace_id, lead_id, received_at, id) INCLUDE (form_id);
-- Decay walks live leads by the age of their score: merged leads keep their
-- last score for ever and would otherwise be read again at every run.
CREATE INDEX IF NOT EXISTS leads_scored_at_live ON leads (scored_at) WHERE score <> 0 AND merged_into IS NULL;
DROP INDEX IF EXISTS leads_scored_at;
-- The SLA job skips handoffs already escalated: a small index of just those
-- answers it without reading every handoff's events.
CREATE INDEX IF NOT EXISTS handoff_events_escalated ON handoff_events (handoff_id) WHERE action = 'escalated';

-- +goose Down
DROP INDEX IF EXISTS handoff_events_escalated;
CREATE INDEX IF NOT EXISTS leads_scored_at ON leads (scored_at) WHERE score <> 0;
DROP INDEX IF EXISTS leads_scored_at_live;
DROP INDEX IF EXISTS responses_lead_first;
DROP INDEX IF EXISTS lead_status_history_lead;
DROP INDEX IF EXISTS responses_received;
DROP INDEX IF EXISTS opportunities_created;
DROP INDEX IF EXISTS leads_created;
