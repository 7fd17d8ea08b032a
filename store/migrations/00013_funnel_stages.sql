-- The funnel report reads one narrow row per lead instead of aggregating
-- every candidate's status history and responses: lead_funnel holds, per
-- lead, its attribution, its first response and that one's form, the first
-- time it reached each stage (and every time, for a lead that reached one
-- more than once), its opportunity's time, and the span of all these times,
-- by which a range finds its leads through one index. Triggers on leads,
-- lead_status_history, responses and opportunities keep it; the view
-- lead_funnel_source computes the same rows from those tables, for the
-- backfill below and for the rare writes (a correction, a delete) that the
-- triggers answer by recomputing one lead.
--
-- The report's responses are counted from an index alone.
--
-- Also: the nurture scheduler's claim walks two index ranges that hold only
-- claimable enrollments (never put on the queue; lease run out), so the
-- enrollments on the queue right now are not read at every round.
--
-- Upgrading a big database: the backfill reads leads, lead_status_history,
-- responses and opportunities once each (about a minute at a million leads
-- on a small machine) and blocks their writes meanwhile; form capture's
-- inserts of responses wait too. Run it in a quiet hour. The indexes on
-- responses and enrollments can be built first with CREATE INDEX
-- CONCURRENTLY under the same names (see the README); this migration then
-- finds them.

-- +goose Up
CREATE TABLE lead_funnel (
    lead_id                uuid PRIMARY KEY,
    workspace_id           uuid NOT NULL,
    merged                 boolean NOT NULL,
    lead_source            text NOT NULL,
    campaign               text NOT NULL,
    created_at             timestamptz NOT NULL,
    -- The first response made into the lead (by received_at, then id).
    response_id            uuid,
    response_at            timestamptz,
    form_id                uuid,
    -- The first time the lead reached each stage; *_times every time it
    -- did, kept only once it did more than once (a recycled lead).
    nurturing_at           timestamptz,
    marketing_qualified_at timestamptz,
    sales_accepted_at      timestamptz,
    converted_at           timestamptz,
    nurturing_times        tstzmultirange,
    marketing_qualified_times tstzmultirange,
    sales_accepted_times   tstzmultirange,
    converted_times        tstzmultirange,
    opportunity_at         timestamptz,
    -- The earliest and latest of created_at, the stage times and
    -- opportunity_at: a lead with nothing in a range is outside this span.
    first_at               timestamptz NOT NULL,
    last_at                timestamptz NOT NULL,
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id) ON DELETE CASCADE
);

-- What lead_funnel holds, computed from the tables it follows.
CREATE VIEW lead_funnel_source AS
SELECT l.id AS lead_id, l.workspace_id, l.merged_into IS NOT NULL AS merged, l.lead_source, l.campaign,
    l.created_at, fr.id AS response_id, fr.received_at AS response_at, fr.form_id,
    h.nurturing_at, h.marketing_qualified_at, h.sales_accepted_at, h.converted_at,
    -- Only leads that reached a stage twice read their history again.
    CASE WHEN h.nurturing_n > 1 THEN (SELECT range_agg(tstzrange(s.at, s.at, '[]')) FROM lead_status_history s
        WHERE s.workspace_id = l.workspace_id AND s.lead_id = l.id AND s.to_status = 'nurturing') END AS nurturing_times,
    CASE WHEN h.marketing_qualified_n > 1 THEN (SELECT range_agg(tstzrange(s.at, s.at, '[]')) FROM lead_status_history s
        WHERE s.workspace_id = l.workspace_id AND s.lead_id = l.id AND s.to_status = 'marketing_qualified') END AS marketing_qualified_times,
    CASE WHEN h.sales_accepted_n > 1 THEN (SELECT range_agg(tstzrange(s.at, s.at, '[]')) FROM lead_status_history s
        WHERE s.workspace_id = l.workspace_id AND s.lead_id = l.id AND s.to_status = 'sales_accepted') END AS sales_accepted_times,
    CASE WHEN h.converted_n > 1 THEN (SELECT range_agg(tstzrange(s.at, s.at, '[]')) FROM lead_status_history s
        WHERE s.workspace_id = l.workspace_id AND s.lead_id = l.id AND s.to_status = 'converted') END AS converted_times,
    o.created_at AS opportunity_at,
    LEAST(l.created_at, h.first_at, o.created_at) AS first_at,
    GREATEST(l.created_at, h.last_at, o.created_at) AS last_at
FROM leads l
LEFT JOIN (
    SELECT DISTINCT ON (workspace_id, lead_id) workspace_id, lead_id, id, received_at, form_id
    FROM responses WHERE lead_id IS NOT NULL
    ORDER BY workspace_id, lead_id, received_at, id
) fr ON fr.workspace_id = l.workspace_id AND fr.lead_id = l.id
LEFT JOIN (
    SELECT workspace_id, lead_id,
        min(at) FILTER (WHERE to_status = 'nurturing') AS nurturing_at,
        min(at) FILTER (WHERE to_status = 'marketing_qualified') AS marketing_qualified_at,
        min(at) FILTER (WHERE to_status = 'sales_accepted') AS sales_accepted_at,
        min(at) FILTER (WHERE to_status = 'converted') AS converted_at,
        count(*) FILTER (WHERE to_status = 'nurturing') AS nurturing_n,
        count(*) FILTER (WHERE to_status = 'marketing_qualified') AS marketing_qualified_n,
        count(*) FILTER (WHERE to_status = 'sales_accepted') AS sales_accepted_n,
        count(*) FILTER (WHERE to_status = 'converted') AS converted_n,
        min(at) AS first_at, max(at) AS last_at
    FROM lead_status_history
    WHERE to_status IN ('nurturing', 'marketing_qualified', 'sales_accepted', 'converted')
    GROUP BY workspace_id, lead_id
) h ON h.workspace_id = l.workspace_id AND h.lead_id = l.id
LEFT JOIN opportunities o ON o.workspace_id = l.workspace_id AND o.lead_id = l.id;

-- +goose StatementBegin
-- Recomputes one lead's row from the tables it follows.
CREATE FUNCTION lead_funnel_refresh(p_lead uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM lead_funnel WHERE lead_id = p_lead;
    INSERT INTO lead_funnel SELECT * FROM lead_funnel_source WHERE lead_id = p_lead;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- times with at added: every time a stage was reached, once it was twice.
CREATE FUNCTION lead_funnel_times(times tstzmultirange, first timestamptz, at timestamptz)
RETURNS tstzmultirange LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN first IS NULL THEN NULL
        ELSE COALESCE(times, tstzmultirange(tstzrange(first, first, '[]'))) + tstzmultirange(tstzrange(at, at, '[]')) END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION lead_funnel_lead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO lead_funnel (lead_id, workspace_id, merged, lead_source, campaign, created_at, first_at, last_at)
        VALUES (NEW.id, NEW.workspace_id, NEW.merged_into IS NOT NULL, NEW.lead_source, NEW.campaign,
            NEW.created_at, NEW.created_at, NEW.created_at);
    ELSIF NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        PERFORM lead_funnel_refresh(NEW.id);
    ELSE
        UPDATE lead_funnel SET merged = NEW.merged_into IS NOT NULL, lead_source = NEW.lead_source, campaign = NEW.campaign
        WHERE lead_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
-- Named to run before lead_status_history (triggers run in name order), so
-- a new lead's first status finds its row.
CREATE TRIGGER lead_funnel_insert AFTER INSERT ON leads
    FOR EACH ROW EXECUTE FUNCTION lead_funnel_lead();
CREATE TRIGGER lead_funnel_update AFTER UPDATE OF lead_source, campaign, merged_into, created_at ON leads
    FOR EACH ROW WHEN (NEW.lead_source IS DISTINCT FROM OLD.lead_source OR NEW.campaign IS DISTINCT FROM OLD.campaign
        OR (NEW.merged_into IS NULL) <> (OLD.merged_into IS NULL) OR NEW.created_at IS DISTINCT FROM OLD.created_at)
    EXECUTE FUNCTION lead_funnel_lead();

-- +goose StatementBegin
CREATE FUNCTION lead_funnel_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM lead_funnel_refresh(OLD.lead_id);
        IF TG_OP = 'UPDATE' AND NEW.lead_id <> OLD.lead_id THEN
            PERFORM lead_funnel_refresh(NEW.lead_id);
        END IF;
    ELSIF NEW.to_status = 'nurturing' THEN
        UPDATE lead_funnel SET nurturing_times = lead_funnel_times(nurturing_times, nurturing_at, NEW.at),
            nurturing_at = LEAST(nurturing_at, NEW.at), first_at = LEAST(first_at, NEW.at), last_at = GREATEST(last_at, NEW.at)
        WHERE lead_id = NEW.lead_id AND workspace_id = NEW.workspace_id;
    ELSIF NEW.to_status = 'marketing_qualified' THEN
        UPDATE lead_funnel SET marketing_qualified_times = lead_funnel_times(marketing_qualified_times, marketing_qualified_at, NEW.at),
            marketing_qualified_at = LEAST(marketing_qualified_at, NEW.at), first_at = LEAST(first_at, NEW.at), last_at = GREATEST(last_at, NEW.at)
        WHERE lead_id = NEW.lead_id AND workspace_id = NEW.workspace_id;
    ELSIF NEW.to_status = 'sales_accepted' THEN
        UPDATE lead_funnel SET sales_accepted_times = lead_funnel_times(sales_accepted_times, sales_accepted_at, NEW.at),
            sales_accepted_at = LEAST(sales_accepted_at, NEW.at), first_at = LEAST(first_at, NEW.at), last_at = GREATEST(last_at, NEW.at)
        WHERE lead_id = NEW.lead_id AND workspace_id = NEW.workspace_id;
    ELSIF NEW.to_status = 'converted' THEN
        UPDATE lead_funnel SET converted_times = lead_funnel_times(converted_times, converted_at, NEW.at),
            converted_at = LEAST(converted_at, NEW.at), first_at = LEAST(first_at, NEW.at), last_at = GREATEST(last_at, NEW.at)
        WHERE lead_id = NEW.lead_id AND workspace_id = NEW.workspace_id;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
-- Only the stages the funnel counts; 'new', 'recycled' and the others cost
-- nothing.
CREATE TRIGGER lead_funnel_status AFTER INSERT ON lead_status_history
    FOR EACH ROW WHEN (NEW.to_status IN ('nurturing', 'marketing_qualified', 'sales_accepted', 'converted'))
    EXECUTE FUNCTION lead_funnel_status();
CREATE TRIGGER lead_funnel_status_change AFTER UPDATE OR DELETE ON lead_status_history
    FOR EACH ROW EXECUTE FUNCTION lead_funnel_status();

-- +goose StatementBegin
CREATE FUNCTION lead_funnel_response() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A response that leaves its lead (or changes) was perhaps its first.
    IF TG_OP <> 'INSERT' AND OLD.lead_id IS NOT NULL THEN
        UPDATE lead_funnel f SET (response_id, response_at, form_id) = (
            SELECT r.id, r.received_at, r.form_id FROM responses r
            WHERE r.workspace_id = f.workspace_id AND r.lead_id = f.lead_id
            ORDER BY r.received_at, r.id LIMIT 1)
        WHERE f.lead_id = OLD.lead_id AND f.response_id = OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.lead_id IS NOT NULL THEN
        UPDATE lead_funnel SET response_id = NEW.id, response_at = NEW.received_at, form_id = NEW.form_id
        WHERE lead_id = NEW.lead_id AND workspace_id = NEW.workspace_id
          AND (response_id IS NULL OR (NEW.received_at, NEW.id) < (response_at, response_id));
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
-- Capture inserts responses without a lead: its insert path only tests the
-- WHEN. The worker's update that names the lead is one upsert by key.
CREATE TRIGGER lead_funnel_response_insert AFTER INSERT ON responses
    FOR EACH ROW WHEN (NEW.lead_id IS NOT NULL) EXECUTE FUNCTION lead_funnel_response();
CREATE TRIGGER lead_funnel_response_update AFTER UPDATE OF lead_id, received_at, form_id ON responses
    FOR EACH ROW WHEN (NEW.lead_id IS DISTINCT FROM OLD.lead_id OR NEW.received_at IS DISTINCT FROM OLD.received_at
        OR NEW.form_id IS DISTINCT FROM OLD.form_id)
    EXECUTE FUNCTION lead_funnel_response();
CREATE TRIGGER lead_funnel_response_delete AFTER DELETE ON responses
    FOR EACH ROW WHEN (OLD.lead_id IS NOT NULL) EXECUTE FUNCTION lead_funnel_response();

-- +goose StatementBegin
CREATE FUNCTION lead_funnel_opportunity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE lead_funnel SET opportunity_at = NEW.created_at,
            first_at = LEAST(first_at, NEW.created_at), last_at = GREATEST(last_at, NEW.created_at)
        WHERE lead_id = NEW.lead_id AND workspace_id = NEW.workspace_id;
    ELSE
        PERFORM lead_funnel_refresh(OLD.lead_id);
        IF TG_OP = 'UPDATE' AND NEW.lead_id <> OLD.lead_id THEN
            PERFORM lead_funnel_refresh(NEW.lead_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER lead_funnel_opportunity_insert AFTER INSERT ON opportunities
    FOR EACH ROW EXECUTE FUNCTION lead_funnel_opportunity();
CREATE TRIGGER lead_funnel_opportunity_update AFTER UPDATE OF lead_id, created_at ON opportunities
    FOR EACH ROW WHEN (NEW.lead_id IS DISTINCT FROM OLD.lead_id OR NEW.created_at IS DISTINCT FROM OLD.created_at)
    EXECUTE FUNCTION lead_funnel_opportunity();
CREATE TRIGGER lead_funnel_opportunity_delete AFTER DELETE ON opportunities
    FOR EACH ROW EXECUTE FUNCTION lead_funnel_opportunity();

-- The backfill: one pass over each table, hashed. Compiling its plan (JIT)
-- takes longer than running it.
SET LOCAL work_mem = '256MB';
SET LOCAL jit = off;
INSERT INTO lead_funnel SELECT * FROM lead_funnel_source;
RESET work_mem;
RESET jit;

-- A range's leads: those whose span reaches into it, live ones only.
CREATE INDEX lead_funnel_span ON lead_funnel (workspace_id, last_at, first_at) WHERE NOT merged;
ANALYZE lead_funnel;

-- The report's responses, counted from the index alone: the range's
-- entries carry what the count filters and groups on.
CREATE INDEX IF NOT EXISTS responses_received_counts ON responses (workspace_id, received_at)
    INCLUDE (verdict, lead_source, campaign, form_id);
-- Replaced by the one above, which has the same keys.
DROP INDEX IF EXISTS responses_received;

-- The scheduler's two ranges per active sequence: due enrollments never put
-- on the queue, by due time; and those put there, by when, so only the ones
-- whose lease ran out are read.
CREATE INDEX IF NOT EXISTS enrollments_due_new ON enrollments (sequence_id, next_run_at)
    WHERE state = 'active' AND enqueued_at IS NULL;
CREATE INDEX IF NOT EXISTS enrollments_due_lease ON enrollments (sequence_id, enqueued_at)
    WHERE state = 'active' AND enqueued_at IS NOT NULL;
-- Replaced by the two above: walking it read every due enrollment on the
-- queue right now.
DROP INDEX IF EXISTS enrollments_due_sequence;

-- +goose Down
CREATE INDEX IF NOT EXISTS responses_received ON responses (workspace_id, received_at);
DROP INDEX IF EXISTS responses_received_counts;
CREATE INDEX IF NOT EXISTS enrollments_due_sequence ON enrollments (sequence_id, next_run_at)
    WHERE state = 'active';
DROP INDEX IF EXISTS enrollments_due_lease;
DROP INDEX IF EXISTS enrollments_due_new;
DROP TRIGGER lead_funnel_opportunity_delete ON opportunities;
DROP TRIGGER lead_funnel_opportunity_update ON opportunities;
DROP TRIGGER lead_funnel_opportunity_insert ON opportunities;
DROP TRIGGER lead_funnel_response_delete ON responses;
DROP TRIGGER lead_funnel_response_update ON responses;
DROP TRIGGER lead_funnel_response_insert ON responses;
DROP TRIGGER lead_funnel_status_change ON lead_status_history;
DROP TRIGGER lead_funnel_status ON lead_status_history;
DROP TRIGGER lead_funnel_update ON leads;
DROP TRIGGER lead_funnel_insert ON leads;
DROP FUNCTION lead_funnel_opportunity(), lead_funnel_response(), lead_funnel_status(), lead_funnel_lead(),
    lead_funnel_times(tstzmultirange, timestamptz, timestamptz), lead_funnel_refresh(uuid);
DROP VIEW lead_funnel_source;
DROP TABLE lead_funnel;
