-- Every change of a lead's score or grade, with what moved it, for the
-- console's lead timeline. Scoring writes a row in the statement that
-- changes the score (SetLeadScore); a rescore that lands on the same score
-- and grade writes none, and decay writes one only once it has moved the
-- score far enough (see the README).
--
-- Upgrading a big database: the backfill reads leads once and writes one
-- row per scored lead, its score as it stands (the score before it is not
-- known).

-- +goose Up
CREATE TABLE lead_score_history (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id uuid NOT NULL,
    lead_id      uuid NOT NULL,
    at           timestamptz NOT NULL,
    score        integer NOT NULL,
    grade        text NOT NULL,
    -- NULL: not known (scored before the history was kept).
    old_score    integer,
    old_grade    text,
    -- What moved it: an engagement event (of event_kind), a change of the
    -- fields fit rules read, a change of the scoring rules, time (decay),
    -- a recompute of every lead; '' when not known.
    cause        text NOT NULL DEFAULT ''
        CHECK (cause IN ('', 'engagement', 'fit', 'rules', 'decay', 'recompute')),
    event_kind   text NOT NULL DEFAULT '',
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id) ON DELETE CASCADE
);
-- A lead's changes, newest first: the timeline and the latest recorded
-- score decay compares with.
CREATE INDEX lead_score_history_lead ON lead_score_history (workspace_id, lead_id, at DESC, id DESC);

INSERT INTO lead_score_history (workspace_id, lead_id, at, score, grade)
    SELECT workspace_id, id, scored_at, score, grade FROM leads
    WHERE scored_at IS NOT NULL AND (score <> 0 OR grade <> '') AND merged_into IS NULL;

-- +goose Down
DROP TABLE lead_score_history;
