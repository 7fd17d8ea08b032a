-- A suppression taken back by a person is recorded, not silently deleted:
-- who took it back, when, why, and what the suppression was.

-- +goose Up
CREATE TABLE suppression_removals (
    id              uuid PRIMARY KEY,
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email_canonical text NOT NULL,
    -- The suppression as it stood: its reason and since when.
    reason          text NOT NULL,
    suppressed_at   timestamptz NOT NULL,
    -- Who took it back ("user:<id>", "api_key:<id>") and why, in their words.
    removed_by      text NOT NULL,
    why             text NOT NULL CHECK (why <> ''),
    removed_at      timestamptz NOT NULL DEFAULT now()
);
-- An address's removals, newest first: the console's lookup, and the soft
-- bounces that count again only after the latest one.
CREATE INDEX suppression_removals_email ON suppression_removals (workspace_id, email_canonical, removed_at DESC);

-- +goose Down
DROP TABLE suppression_removals;
