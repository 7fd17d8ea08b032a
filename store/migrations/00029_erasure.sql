-- A person's erasure: their lead keeps its id, status and times (the funnel
-- counts it) but loses every personal value; erased_at says it happened.
--
-- erased_addresses keeps the SHA-256 of each canonical address erased so the
-- address is never mailed again without keeping the address itself. A plain
-- hash can be confirmed by anyone who already knows the address (hash it and
-- look); it cannot be listed back into addresses, and matching a later
-- submission or send needs exactly that comparison.

-- +goose Up
ALTER TABLE leads ADD COLUMN erased_at timestamptz;

CREATE TABLE erased_addresses (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email_hash   bytea NOT NULL CHECK (length(email_hash) = 32),
    erased_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, email_hash)
);

-- +goose Down
DROP TABLE erased_addresses;
ALTER TABLE leads DROP COLUMN erased_at;
