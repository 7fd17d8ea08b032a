-- Imports: CSV lists (a trade-show booth's scans, an event's attendees)
-- whose rows become responses resolved like any other. A file is imported
-- once per workspace (its SHA-256 is unique); its valid rows are staged in
-- import_rows, one per file line, so an import that stopped half-way resumes
-- where it was without doubling anyone; its invalid rows are kept with the
-- reason, for download.

-- +goose Up
CREATE TABLE imports (
    id            uuid PRIMARY KEY,
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (name <> '' AND length(name) <= 200),
    kind          text NOT NULL CHECK (kind IN ('leads', 'contacts')),
    campaign      text NOT NULL DEFAULT '',
    event_id      uuid REFERENCES events (id) ON DELETE SET NULL,
    -- Header -> field, as applied.
    mapping       jsonb NOT NULL DEFAULT '{}',
    sha256        bytea NOT NULL CHECK (length(sha256) = 32),
    rows_read     int NOT NULL DEFAULT 0,
    rows_created  int NOT NULL DEFAULT 0,
    rows_merged   int NOT NULL DEFAULT 0,
    rows_linked   int NOT NULL DEFAULT 0,
    rows_invalid  int NOT NULL DEFAULT 0,
    state         text NOT NULL DEFAULT 'processing' CHECK (state IN ('processing', 'done', 'failed')),
    last_error    text NOT NULL DEFAULT '',
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    UNIQUE (workspace_id, sha256)
);
CREATE INDEX imports_workspace ON imports (workspace_id, id);
-- The sweeper's look for imports left processing.
CREATE INDEX imports_processing ON imports (id) WHERE state = 'processing';

-- A valid row waiting for, or done with, its response. response_id is set
-- in the transaction that inserts the response; outcome once processing
-- resolved it (created, merged, linked_contact, or another status).
CREATE TABLE import_rows (
    import_id   uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    line        int NOT NULL,
    fields      jsonb NOT NULL,
    raw         jsonb NOT NULL,
    response_id uuid,
    outcome     text,
    PRIMARY KEY (import_id, line)
);
CREATE INDEX import_rows_pending ON import_rows (import_id, line) WHERE outcome IS NULL;

CREATE TABLE import_invalid_rows (
    import_id uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    line      int NOT NULL,
    reason    text NOT NULL,
    raw       jsonb NOT NULL,
    PRIMARY KEY (import_id, line)
);

-- +goose Down
DROP TABLE import_invalid_rows;
DROP TABLE import_rows;
DROP TABLE imports;
