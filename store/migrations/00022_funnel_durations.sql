-- The funnel report's medians sort each lead's time between two stages.
-- Computed in the report, every duration went through extract(epoch ...),
-- whose numeric result costs about as much to make and turn into float8 as
-- the sort itself, twice over (once for its group's median, once for the
-- total's). lead_funnel now keeps them, in seconds, as stored generated
-- columns: the same float8 the report computed, made once when the row is
-- written, never by the triggers or the view, which stay as 00013 made
-- them (an INSERT of the view's columns fills these).
--
-- Upgrading a big database: adding the columns rewrites lead_funnel (about
-- ten seconds at a million leads) and blocks the writes its triggers follow
-- (leads, lead_status_history, responses made into a lead, opportunities)
-- meanwhile. Capture's inserts of new responses do not wait.

-- +goose Up
ALTER TABLE lead_funnel
    -- From the lead's first response to the lead.
    ADD COLUMN lead_secs float8
        GENERATED ALWAYS AS (extract(epoch FROM created_at - response_at)::float8) STORED,
    ADD COLUMN nurturing_secs float8
        GENERATED ALWAYS AS (extract(epoch FROM nurturing_at - created_at)::float8) STORED,
    ADD COLUMN marketing_qualified_secs float8
        GENERATED ALWAYS AS (extract(epoch FROM marketing_qualified_at - nurturing_at)::float8) STORED,
    ADD COLUMN sales_accepted_secs float8
        GENERATED ALWAYS AS (extract(epoch FROM sales_accepted_at - marketing_qualified_at)::float8) STORED,
    ADD COLUMN opportunity_secs float8
        GENERATED ALWAYS AS (extract(epoch FROM opportunity_at - sales_accepted_at)::float8) STORED,
    ADD COLUMN converted_secs float8
        GENERATED ALWAYS AS (extract(epoch FROM converted_at - opportunity_at)::float8) STORED;
ANALYZE lead_funnel;

-- +goose Down
ALTER TABLE lead_funnel DROP COLUMN converted_secs, DROP COLUMN opportunity_secs, DROP COLUMN sales_accepted_secs,
    DROP COLUMN marketing_qualified_secs, DROP COLUMN nurturing_secs, DROP COLUMN lead_secs;
