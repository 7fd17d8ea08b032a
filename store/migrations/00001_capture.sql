-- The capture foundation: workspaces and their keys, forms and events,
-- responses (immutable submissions), leads, contacts, the audit trail,
-- possible duplicates, event registrations and engagement events.
--
-- Workspace isolation is enforced by the schema, not only by queries: every
-- reference between records is a composite foreign key on
-- (workspace_id, id), so a record can never point into another workspace.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE workspaces (
    id         uuid PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (name <> '' AND length(name) <= 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('admin', 'marketing', 'sales')),
    name         text NOT NULL DEFAULT '',
    -- The key itself is never stored: only its SHA-256 (keys are 256-bit
    -- random, so a fast hash is enough) and a short prefix to recognise it.
    prefix       text NOT NULL,
    secret_hash  bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id);

CREATE TABLE events (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (name <> ''),
    starts_at    timestamptz,
    capacity     integer CHECK (capacity IS NULL OR capacity > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, id)
);

CREATE TABLE forms (
    id                    uuid PRIMARY KEY,
    workspace_id          uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    -- The public key in the capture URL /f/{key}: unique across workspaces.
    key                   text NOT NULL UNIQUE CHECK (key ~ '^[A-Za-z0-9_-]{3,64}$'),
    name                  text NOT NULL DEFAULT '',
    kind                  text NOT NULL CHECK (kind IN ('contact_us', 'event_registration')),
    allowed_origins       text[] NOT NULL DEFAULT '{}',
    allowed_return_urls   text[] NOT NULL DEFAULT '{}',
    thank_you_url         text NOT NULL DEFAULT '',
    honeypot_field        text NOT NULL DEFAULT '',
    rate_limit_per_minute integer NOT NULL DEFAULT 0 CHECK (rate_limit_per_minute >= 0),
    default_region        text NOT NULL DEFAULT 'US',
    event_id              uuid,
    campaign              text NOT NULL DEFAULT '',
    max_body_bytes        integer NOT NULL DEFAULT 65536 CHECK (max_body_bytes > 0),
    max_file_bytes        integer NOT NULL DEFAULT 0 CHECK (max_file_bytes >= 0),
    field_mapping         jsonb NOT NULL DEFAULT '{}',
    consent_text          text NOT NULL DEFAULT '',
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, event_id) REFERENCES events (workspace_id, id),
    CHECK (kind <> 'event_registration' OR event_id IS NOT NULL)
);

CREATE TABLE contacts (
    id              uuid PRIMARY KEY,
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    first_name      text NOT NULL DEFAULT '',
    last_name       text NOT NULL DEFAULT '',
    email           text NOT NULL DEFAULT '',
    email_canonical text NOT NULL DEFAULT '',
    phone           text NOT NULL DEFAULT '',
    company         text NOT NULL DEFAULT '',
    title           text NOT NULL DEFAULT '',
    country         text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    fuzzy_key       text GENERATED ALWAYS AS (lower(first_name || ' ' || last_name || ' ' || company)) STORED,
    UNIQUE (workspace_id, id)
);
CREATE UNIQUE INDEX contacts_email ON contacts (workspace_id, email_canonical) WHERE email_canonical <> '';
CREATE INDEX contacts_phone ON contacts (workspace_id, phone) WHERE phone <> '';
CREATE INDEX contacts_fuzzy ON contacts USING gin (fuzzy_key gin_trgm_ops);

CREATE TABLE leads (
    id               uuid PRIMARY KEY,
    workspace_id     uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    first_name       text NOT NULL DEFAULT '',
    last_name        text NOT NULL DEFAULT '',
    email            text NOT NULL DEFAULT '',
    email_canonical  text NOT NULL DEFAULT '',
    phone            text NOT NULL DEFAULT '',
    company          text NOT NULL DEFAULT '',
    title            text NOT NULL DEFAULT '',
    city             text NOT NULL DEFAULT '',
    state            text NOT NULL DEFAULT '',
    country          text NOT NULL DEFAULT '',
    lead_source      text NOT NULL DEFAULT '',
    description      text NOT NULL DEFAULT '',
    campaign         text NOT NULL DEFAULT '',
    primary_interest text NOT NULL DEFAULT '',
    interests        text[] NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'new' CHECK (status IN (
                         'new', 'nurturing', 'marketing_qualified', 'sales_accepted', 'converted',
                         'contacted', 'disqualified', 'recycled')),
    score            integer NOT NULL DEFAULT 0,
    grade            text NOT NULL DEFAULT '',
    owner_id         uuid,
    consent          boolean NOT NULL DEFAULT false,
    consent_text     text NOT NULL DEFAULT '',
    consent_at       timestamptz,
    utm              jsonb NOT NULL DEFAULT '{}',
    custom           jsonb NOT NULL DEFAULT '{}',
    contact_id       uuid,
    -- A lead merged into another keeps its row (for history) and points at
    -- the survivor; only unmerged leads take part in matching.
    merged_into      uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    fuzzy_key        text GENERATED ALWAYS AS (lower(first_name || ' ' || last_name || ' ' || company)) STORED,
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id),
    FOREIGN KEY (workspace_id, merged_into) REFERENCES leads (workspace_id, id)
);
-- One live lead per person: the last line of defence behind the advisory lock.
CREATE UNIQUE INDEX leads_email ON leads (workspace_id, email_canonical)
    WHERE email_canonical <> '' AND merged_into IS NULL;
CREATE INDEX leads_phone ON leads (workspace_id, phone) WHERE phone <> '' AND merged_into IS NULL;
-- A merged lead's email still names the person: matching follows it to the survivor.
CREATE INDEX leads_merged_email ON leads (workspace_id, email_canonical)
    WHERE email_canonical <> '' AND merged_into IS NOT NULL;
CREATE INDEX leads_contact ON leads (workspace_id, contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX leads_fuzzy ON leads USING gin (fuzzy_key gin_trgm_ops) WHERE merged_into IS NULL;
CREATE INDEX leads_status ON leads (workspace_id, status, id);

CREATE TABLE responses (
    id              uuid PRIMARY KEY,
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    form_id         uuid NOT NULL,
    received_at     timestamptz NOT NULL,
    ip              inet,
    user_agent      text NOT NULL DEFAULT '',
    referrer        text NOT NULL DEFAULT '',
    -- Every field as posted (name -> values), unknown ones included.
    raw             jsonb NOT NULL,
    -- The normalised person and context fields the worker resolves.
    fields          jsonb NOT NULL,
    -- Salesforce custom fields (00N...) and other unmapped fields.
    custom          jsonb NOT NULL DEFAULT '{}',
    utm             jsonb NOT NULL DEFAULT '{}',
    lead_source     text NOT NULL DEFAULT '',
    campaign        text NOT NULL DEFAULT '',
    verdict         text NOT NULL DEFAULT 'ok' CHECK (verdict IN ('ok', 'spam', 'released')),
    verdict_reason  text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processed', 'held')),
    outcome         text NOT NULL DEFAULT '',
    lead_id         uuid,
    processed_at    timestamptz,
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, form_id) REFERENCES forms (workspace_id, id),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id)
);
-- The sweeper's work list: committed responses whose processing never finished.
CREATE INDEX responses_pending ON responses (received_at) WHERE status = 'pending';
CREATE INDEX responses_workspace ON responses (workspace_id, id);
CREATE INDEX responses_lead ON responses (workspace_id, lead_id, id);

CREATE TABLE response_files (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    response_id  uuid NOT NULL,
    field        text NOT NULL,
    filename     text NOT NULL,
    content_type text NOT NULL,
    size         integer NOT NULL,
    data         bytea NOT NULL,
    FOREIGN KEY (workspace_id, response_id) REFERENCES responses (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX response_files_response ON response_files (response_id);

CREATE TABLE lead_audit (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id uuid NOT NULL,
    lead_id      uuid NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    -- Who or what did it: "worker:response:process", "api_key:<id>", ...
    actor        text NOT NULL,
    action       text NOT NULL,
    field        text NOT NULL DEFAULT '',
    old_value    text NOT NULL DEFAULT '',
    new_value    text NOT NULL DEFAULT '',
    response_id  uuid,
    detail       jsonb NOT NULL DEFAULT '{}',
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id)
);
CREATE INDEX lead_audit_lead ON lead_audit (lead_id, id);

CREATE TABLE possible_duplicates (
    id               uuid PRIMARY KEY,
    workspace_id     uuid NOT NULL,
    lead_id          uuid NOT NULL,
    match_lead_id    uuid,
    match_contact_id uuid,
    similarity       real NOT NULL,
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'dismissed', 'merged')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id),
    FOREIGN KEY (workspace_id, match_lead_id) REFERENCES leads (workspace_id, id),
    FOREIGN KEY (workspace_id, match_contact_id) REFERENCES contacts (workspace_id, id),
    CHECK ((match_lead_id IS NULL) <> (match_contact_id IS NULL))
);
CREATE UNIQUE INDEX possible_duplicates_lead ON possible_duplicates (lead_id, match_lead_id) WHERE match_lead_id IS NOT NULL;
CREATE UNIQUE INDEX possible_duplicates_contact ON possible_duplicates (lead_id, match_contact_id) WHERE match_contact_id IS NOT NULL;

CREATE TABLE event_registrations (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    event_id     uuid NOT NULL,
    lead_id      uuid NOT NULL,
    response_id  uuid NOT NULL,
    status       text NOT NULL CHECK (status IN ('registered', 'waitlisted')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, lead_id),
    FOREIGN KEY (workspace_id, event_id) REFERENCES events (workspace_id, id),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id)
);

-- Something a lead did. Scoring reads these. source_id is the record that
-- caused it (a response, a message...), so recording it twice is a no-op.
CREATE TABLE engagement_events (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    lead_id      uuid NOT NULL,
    kind         text NOT NULL,
    source_id    uuid NOT NULL,
    occurred_at  timestamptz NOT NULL,
    detail       jsonb NOT NULL DEFAULT '{}',
    UNIQUE (lead_id, kind, source_id),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id)
);
CREATE INDEX engagement_events_lead ON engagement_events (workspace_id, lead_id, occurred_at);

-- +goose Down
DROP TABLE engagement_events, event_registrations, possible_duplicates, lead_audit,
    response_files, responses, leads, contacts, forms, events, api_keys, workspaces;
