-- Identity: an address tied to a lead by its phone and its name rather than
-- given as the lead's own is marked, so it finds the lead but never lets a
-- submission rewrite what the lead says.

-- +goose Up
-- '' for an address the lead gave or was merged with; else how it was
-- inferred (phone_and_name).
ALTER TABLE lead_identities ADD COLUMN inferred_by text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE lead_identities DROP COLUMN inferred_by;
