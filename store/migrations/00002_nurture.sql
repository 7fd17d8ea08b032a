-- Nurture: workspace sending settings, templates, sequences, enrollments,
-- messages (one per enrollment and step), suppressions and bounces; double
-- opt-in on forms.

-- +goose Up
ALTER TABLE workspaces
    ADD COLUMN sender_name          text NOT NULL DEFAULT '',
    ADD COLUMN sender_email         text NOT NULL DEFAULT '',
    ADD COLUMN postal_address       text NOT NULL DEFAULT '',
    -- Messages per second for the whole workspace, shared by every worker.
    ADD COLUMN send_rate_per_second real NOT NULL DEFAULT 10 CHECK (send_rate_per_second > 0 AND send_rate_per_second <= 10000),
    ADD COLUMN require_consent      boolean NOT NULL DEFAULT false,
    ADD COLUMN timezone             text NOT NULL DEFAULT 'UTC';

ALTER TABLE forms ADD COLUMN double_opt_in boolean NOT NULL DEFAULT false;

-- A double opt-in response waits for its confirmation click before it can
-- make a lead.
ALTER TABLE responses DROP CONSTRAINT responses_status_check;
ALTER TABLE responses ADD CONSTRAINT responses_status_check
    CHECK (status IN ('pending', 'processed', 'held', 'awaiting_confirmation'));
ALTER TABLE responses ADD COLUMN confirmed_at timestamptz;

-- The lead's own time zone (IANA name), when known; sequences use it for
-- their send window, else their own.
ALTER TABLE leads ADD COLUMN timezone text NOT NULL DEFAULT '';

CREATE TABLE templates (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (name <> ''),
    subject      text NOT NULL,
    html_body    text NOT NULL DEFAULT '',
    text_body    text NOT NULL DEFAULT '',
    -- Merge-field defaults: {"first_name": "there"}.
    defaults     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, id)
);

CREATE TABLE sequences (
    id                uuid PRIMARY KEY,
    workspace_id      uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name              text NOT NULL CHECK (name <> ''),
    status            text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'paused')),
    timezone          text NOT NULL DEFAULT 'UTC',
    -- {"days": ["mon",...], "start": "09:00", "end": "17:00"}; {} = any time.
    send_window       jsonb NOT NULL DEFAULT '{}',
    exit_criteria     text[] NOT NULL DEFAULT '{unsubscribed,bounced,qualified,converted}',
    trigger_form_ids  uuid[] NOT NULL DEFAULT '{}',
    -- Ordered steps, each with a stable key: enrollments point at keys, so
    -- editing a live sequence neither resends nor skips a step.
    steps             jsonb NOT NULL DEFAULT '[]',
    version           integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, id)
);
CREATE INDEX sequences_triggers ON sequences USING gin (trigger_form_ids) WHERE status = 'active';

CREATE TABLE enrollments (
    id            uuid PRIMARY KEY,
    workspace_id  uuid NOT NULL,
    sequence_id   uuid NOT NULL,
    lead_id       uuid NOT NULL,
    state         text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'completed', 'exited')),
    -- The step to run next ('' once completed or exited).
    step_key      text NOT NULL DEFAULT '',
    -- When that step is due: the schedule lives here, not in Redis.
    next_run_at   timestamptz,
    -- When the scheduler last put this enrollment's step on the queue; it
    -- is put there again only after a lease, so a lost task is redone.
    enqueued_at   timestamptz,
    exit_reason   text NOT NULL DEFAULT '',
    enrolled_by   text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, sequence_id) REFERENCES sequences (workspace_id, id),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id)
);
-- One active enrollment per lead and sequence.
CREATE UNIQUE INDEX enrollments_one_active ON enrollments (sequence_id, lead_id) WHERE state = 'active';
CREATE INDEX enrollments_due ON enrollments (next_run_at) WHERE state = 'active';
CREATE INDEX enrollments_lead ON enrollments (workspace_id, lead_id);

-- What happened at each step of an enrollment, for "where is this lead".
CREATE TABLE enrollment_steps (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enrollment_id uuid NOT NULL REFERENCES enrollments (id) ON DELETE CASCADE,
    step_key      text NOT NULL,
    outcome       text NOT NULL,
    detail        jsonb NOT NULL DEFAULT '{}',
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX enrollment_steps_enrollment ON enrollment_steps (enrollment_id, id);

CREATE TABLE messages (
    id             uuid PRIMARY KEY,
    workspace_id   uuid NOT NULL,
    -- NULL for a double opt-in confirmation: that person is not a lead yet.
    lead_id        uuid,
    response_id    uuid,
    enrollment_id  uuid,
    step_key       text NOT NULL DEFAULT '',
    template_id    uuid,
    -- What makes this email unique: "enrollment:<id>:<step>",
    -- "confirm:<response>", "event:<registration>". Created before the SMTP
    -- transaction, so each effect happens once.
    dedupe_key     text NOT NULL UNIQUE,
    kind           text NOT NULL CHECK (kind IN ('marketing', 'transactional')),
    to_email       text NOT NULL,
    subject        text NOT NULL,
    html_body      text NOT NULL,
    text_body      text NOT NULL,
    -- The original URLs of tracked links, by index (the click token names
    -- an index, never a URL: no open redirect).
    links          text[] NOT NULL DEFAULT '{}',
    -- The RFC 5322 Message-ID, stable across retries.
    message_id     text NOT NULL UNIQUE,
    status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'suppressed')),
    attempts       integer NOT NULL DEFAULT 0,
    last_error     text NOT NULL DEFAULT '',
    enqueued_at    timestamptz,
    sent_at        timestamptz,
    opened_at      timestamptz,
    clicked_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id),
    FOREIGN KEY (workspace_id, enrollment_id) REFERENCES enrollments (workspace_id, id),
    FOREIGN KEY (workspace_id, response_id) REFERENCES responses (workspace_id, id)
);
CREATE INDEX messages_queued ON messages (created_at) WHERE status = 'queued';
CREATE INDEX messages_lead ON messages (workspace_id, lead_id, created_at);

-- Addresses no sequence of the workspace may email again.
CREATE TABLE suppressions (
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email_canonical text NOT NULL,
    reason          text NOT NULL CHECK (reason IN ('unsubscribed', 'bounced', 'complained')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, email_canonical)
);

CREATE TABLE bounces (
    id              uuid PRIMARY KEY,
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email_canonical text NOT NULL,
    message_id      uuid,
    kind            text NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint')),
    detail          text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bounces_email ON bounces (workspace_id, email_canonical, created_at);

-- +goose Down
DROP TABLE bounces, suppressions, messages, enrollment_steps, enrollments, sequences, templates;
ALTER TABLE leads DROP COLUMN timezone;
ALTER TABLE responses DROP COLUMN confirmed_at;
ALTER TABLE responses DROP CONSTRAINT responses_status_check;
ALTER TABLE responses ADD CONSTRAINT responses_status_check CHECK (status IN ('pending', 'processed', 'held'));
ALTER TABLE forms DROP COLUMN double_opt_in;
ALTER TABLE workspaces DROP COLUMN sender_name, DROP COLUMN sender_email, DROP COLUMN postal_address,
    DROP COLUMN send_rate_per_second, DROP COLUMN require_consent, DROP COLUMN timezone;
