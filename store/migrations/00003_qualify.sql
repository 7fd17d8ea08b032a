-- Qualify: scoring rules and score work, versioned qualification criteria and
-- their decisions, sales users, teams, assignment rules, webhooks, handoffs,
-- accounts and opportunities.

-- +goose Up
ALTER TABLE leads
    ADD COLUMN scored_at        timestamptz,
    ADD COLUMN budget           text NOT NULL DEFAULT '',
    ADD COLUMN authority        text NOT NULL DEFAULT '',
    ADD COLUMN need             text NOT NULL DEFAULT '',
    ADD COLUMN timeline         text NOT NULL DEFAULT '',
    ADD COLUMN follow_up_at     timestamptz,
    ADD COLUMN status_reason    text NOT NULL DEFAULT '';

-- Per-workspace scoring: points per engagement kind, fit rules that make the
-- grade, and the half-life with which engagement fades.
CREATE TABLE scoring_rules (
    workspace_id      uuid PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    points            jsonb NOT NULL DEFAULT '{"form_submitted": 10, "event_registered": 15, "email_opened": 2, "email_clicked": 5, "unsubscribed": -20, "bounced": -10}',
    fit_rules         jsonb NOT NULL DEFAULT '[]',
    grade_thresholds  jsonb NOT NULL DEFAULT '{"A": 80, "B": 60, "C": 40, "D": 20, "E": 1}',
    half_life_seconds bigint NOT NULL DEFAULT 2592000 CHECK (half_life_seconds > 0),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Leads whose score must be recomputed. A trigger fills it on every
-- engagement event and every change of a field fit rules read, whoever made
-- it, so no event is ever missed; the scoring worker drains it.
CREATE TABLE score_dirty (
    lead_id      uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    since        timestamptz NOT NULL DEFAULT now()
);
-- The worker drains the oldest marks first.
CREATE INDEX score_dirty_since ON score_dirty (since);
-- Decay finds the scores that have not been recomputed for a while.
CREATE INDEX leads_scored_at ON leads (scored_at) WHERE score <> 0;

-- +goose StatementBegin
CREATE FUNCTION mark_score_dirty_by_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO score_dirty (lead_id, workspace_id) VALUES (NEW.lead_id, NEW.workspace_id)
    ON CONFLICT (lead_id) DO NOTHING;
    RETURN NULL;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION mark_score_dirty_by_lead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO score_dirty (lead_id, workspace_id) VALUES (NEW.id, NEW.workspace_id)
    ON CONFLICT (lead_id) DO NOTHING;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER engagement_marks_score_dirty AFTER INSERT ON engagement_events
    FOR EACH ROW EXECUTE FUNCTION mark_score_dirty_by_event();
-- Score, grade and status are what scoring writes: they must not re-mark.
CREATE TRIGGER lead_fields_mark_score_dirty AFTER UPDATE OF
    title, company, country, state, city, lead_source, primary_interest, budget, authority, need, timeline
    ON leads FOR EACH ROW EXECUTE FUNCTION mark_score_dirty_by_lead();

CREATE TABLE score_jobs (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    total        integer NOT NULL DEFAULT 0,
    done         integer NOT NULL DEFAULT 0,
    last_lead_id uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

CREATE TABLE criteria (
    id                  uuid PRIMARY KEY,
    workspace_id        uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name                text NOT NULL CHECK (name <> ''),
    version             integer NOT NULL CHECK (version > 0),
    expression          text NOT NULL CHECK (expression <> ''),
    description         text NOT NULL DEFAULT '',
    agreed_by_marketing text NOT NULL,
    agreed_by_sales     text NOT NULL,
    active              boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    activated_at        timestamptz,
    UNIQUE (workspace_id, name, version),
    UNIQUE (workspace_id, id)
);
CREATE UNIQUE INDEX criteria_one_active ON criteria (workspace_id) WHERE active;

-- Every qualification decision, with the criteria version and the values
-- that met it: "why was this lead handed over?" has an answer.
CREATE TABLE qualification_decisions (
    id               uuid PRIMARY KEY,
    workspace_id     uuid NOT NULL,
    lead_id          uuid NOT NULL,
    criteria_id      uuid,
    criteria_version integer,
    -- 'qualified' by the criteria; a sales call's 'dead_end', 'maybe' or 'opportunity'.
    outcome          text NOT NULL,
    vals             jsonb NOT NULL DEFAULT '{}',
    actor            text NOT NULL,
    reason           text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id),
    FOREIGN KEY (workspace_id, criteria_id) REFERENCES criteria (workspace_id, id)
);
CREATE INDEX qualification_decisions_lead ON qualification_decisions (lead_id, created_at);

CREATE TABLE users (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (name <> ''),
    email        text NOT NULL,
    role         text NOT NULL CHECK (role IN ('sales_rep', 'sales_manager', 'sales_admin', 'marketing')),
    available    boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, id),
    UNIQUE (workspace_id, email)
);
ALTER TABLE leads ADD FOREIGN KEY (workspace_id, owner_id) REFERENCES users (workspace_id, id);
-- An API key may act as a user (sales accepting handoffs, a sales admin
-- setting in_forecast).
ALTER TABLE api_keys ADD COLUMN user_id uuid REFERENCES users (id) ON DELETE SET NULL;

CREATE TABLE teams (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (name <> ''),
    manager_id   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, manager_id) REFERENCES users (workspace_id, id)
);

CREATE TABLE team_members (
    team_id      uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    weight       integer NOT NULL DEFAULT 1 CHECK (weight > 0),
    daily_cap    integer CHECK (daily_cap IS NULL OR daily_cap > 0),
    PRIMARY KEY (team_id, user_id)
);

-- Territory rules, tried in position order: the first whose country (and
-- state, when set) match names the team; a lead matching none goes to the
-- default rule (country '').
CREATE TABLE assignment_rules (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    country      text NOT NULL DEFAULT '',
    state        text NOT NULL DEFAULT '',
    team_id      uuid NOT NULL,
    FOREIGN KEY (workspace_id, team_id) REFERENCES teams (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX assignment_rules_workspace ON assignment_rules (workspace_id, position);

-- How handoffs run in a workspace.
CREATE TABLE assignment_settings (
    workspace_id        uuid PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    sla_seconds         bigint NOT NULL DEFAULT 86400 CHECK (sla_seconds > 0),
    max_reassignments   integer NOT NULL DEFAULT 2 CHECK (max_reassignments >= 0),
    -- The sequence a rejected lead is recycled into, if any.
    recycle_sequence_id uuid,
    FOREIGN KEY (workspace_id, recycle_sequence_id) REFERENCES sequences (workspace_id, id)
);

CREATE TABLE webhooks (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    url          text NOT NULL,
    events       text[] NOT NULL,
    secret       text NOT NULL,
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, id)
);

CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,
    workspace_id    uuid NOT NULL,
    webhook_id      uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event           text NOT NULL,
    -- "handoff.created:<handoff id>": one delivery per webhook and effect.
    dedupe_key      text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    enqueued_at     timestamptz,
    last_error      text NOT NULL DEFAULT '',
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (webhook_id, dedupe_key)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE accounts (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL,
    domain       text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, id)
);
CREATE UNIQUE INDEX accounts_domain ON accounts (workspace_id, lower(domain)) WHERE domain <> '';
CREATE INDEX accounts_name ON accounts (workspace_id, lower(name));
ALTER TABLE contacts ADD COLUMN account_id uuid;
ALTER TABLE contacts ADD FOREIGN KEY (workspace_id, account_id) REFERENCES accounts (workspace_id, id);

CREATE TABLE handoffs (
    id             uuid PRIMARY KEY,
    workspace_id   uuid NOT NULL,
    lead_id        uuid NOT NULL,
    -- The decision that qualified the lead: one handoff per qualification.
    decision_id    uuid NOT NULL UNIQUE,
    owner_id       uuid,
    team_id        uuid,
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
    sla_due_at     timestamptz NOT NULL,
    reassignments  integer NOT NULL DEFAULT 0,
    reason         text NOT NULL DEFAULT '',
    decided_by     text NOT NULL DEFAULT '',
    decided_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id),
    FOREIGN KEY (workspace_id, decision_id) REFERENCES qualification_decisions (workspace_id, id),
    FOREIGN KEY (workspace_id, owner_id) REFERENCES users (workspace_id, id),
    FOREIGN KEY (workspace_id, team_id) REFERENCES teams (workspace_id, id)
);
-- At most one open handoff per lead, whatever the retries and races.
CREATE UNIQUE INDEX handoffs_one_open ON handoffs (lead_id) WHERE status = 'open';
CREATE INDEX handoffs_sla ON handoffs (sla_due_at) WHERE status = 'open';
CREATE INDEX handoffs_owner ON handoffs (workspace_id, owner_id, created_at);

CREATE TABLE handoff_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    handoff_id  uuid NOT NULL REFERENCES handoffs (id) ON DELETE CASCADE,
    action      text NOT NULL,
    owner_id    uuid,
    actor       text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX handoff_events_handoff ON handoff_events (handoff_id, id);
-- Assignment counts each owner's handoffs of the day (daily caps, fair
-- round-robin) from here.
CREATE INDEX handoff_events_owner ON handoff_events (owner_id, at) WHERE owner_id IS NOT NULL;

CREATE TABLE opportunities (
    id                  uuid PRIMARY KEY,
    workspace_id        uuid NOT NULL,
    account_id          uuid NOT NULL,
    contact_id          uuid NOT NULL,
    lead_id             uuid NOT NULL UNIQUE,
    handoff_id          uuid,
    name                text NOT NULL,
    amount              numeric(14, 2) NOT NULL DEFAULT 0 CHECK (amount >= 0),
    stage               text NOT NULL DEFAULT 'qualification',
    probability         integer NOT NULL DEFAULT 10 CHECK (probability BETWEEN 0 AND 100),
    expected_close_date date,
    -- A sales admin's decision; responses and leads are never in the forecast.
    in_forecast         boolean NOT NULL DEFAULT false,
    owner_id            uuid,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, account_id) REFERENCES accounts (workspace_id, id),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id),
    FOREIGN KEY (workspace_id, handoff_id) REFERENCES handoffs (workspace_id, id),
    FOREIGN KEY (workspace_id, owner_id) REFERENCES users (workspace_id, id)
);
CREATE INDEX opportunities_workspace ON opportunities (workspace_id, id);

CREATE TABLE opportunity_stage_history (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    opportunity_id uuid NOT NULL REFERENCES opportunities (id) ON DELETE CASCADE,
    from_stage     text NOT NULL DEFAULT '',
    to_stage       text NOT NULL,
    actor          text NOT NULL,
    at             timestamptz NOT NULL DEFAULT now()
);

-- Every lead status change, for the funnel's conversion rates and the
-- median time between stages.
CREATE TABLE lead_status_history (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id uuid NOT NULL,
    lead_id      uuid NOT NULL,
    from_status  text NOT NULL DEFAULT '',
    to_status    text NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_status_history_workspace ON lead_status_history (workspace_id, to_status, at);
-- +goose StatementBegin
CREATE FUNCTION record_lead_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO lead_status_history (workspace_id, lead_id, from_status, to_status)
        VALUES (NEW.workspace_id, NEW.id, CASE WHEN TG_OP = 'INSERT' THEN '' ELSE OLD.status END, NEW.status);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER lead_status_history AFTER INSERT OR UPDATE OF status ON leads
    FOR EACH ROW EXECUTE FUNCTION record_lead_status();
INSERT INTO lead_status_history (workspace_id, lead_id, from_status, to_status, at)
    SELECT workspace_id, id, '', status, created_at FROM leads;

-- +goose Down
DROP TRIGGER lead_status_history ON leads;
DROP FUNCTION record_lead_status();
DROP TABLE lead_status_history, opportunity_stage_history, opportunities, handoff_events, handoffs,
    webhook_deliveries, webhooks, assignment_settings, assignment_rules, team_members, teams;
ALTER TABLE contacts DROP COLUMN account_id;
DROP TABLE accounts;
ALTER TABLE api_keys DROP COLUMN user_id;
ALTER TABLE leads DROP CONSTRAINT leads_workspace_id_owner_id_fkey;
DROP TABLE users, qualification_decisions, criteria, score_jobs;
DROP TRIGGER lead_fields_mark_score_dirty ON leads;
DROP TRIGGER engagement_marks_score_dirty ON engagement_events;
DROP FUNCTION mark_score_dirty_by_event(), mark_score_dirty_by_lead();
DROP INDEX leads_scored_at;
DROP TABLE score_dirty, scoring_rules;
ALTER TABLE leads DROP COLUMN scored_at, DROP COLUMN budget, DROP COLUMN authority, DROP COLUMN need,
    DROP COLUMN timeline, DROP COLUMN follow_up_at, DROP COLUMN status_reason;
