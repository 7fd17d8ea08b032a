-- Opportunities sales creates from scratch: an account, perhaps a contact,
-- and no lead or response behind them. lead_id NULL is how the funnel tells
-- them from the opportunities of converted leads.

-- +goose Up
ALTER TABLE opportunities ALTER COLUMN lead_id DROP NOT NULL,
    ALTER COLUMN contact_id DROP NOT NULL;
-- An account's opportunities and contacts, newest first, for its page.
CREATE INDEX IF NOT EXISTS opportunities_account ON opportunities (workspace_id, account_id, id DESC);
CREATE INDEX IF NOT EXISTS contacts_account ON contacts (workspace_id, account_id, id DESC)
    WHERE account_id IS NOT NULL;
-- The accounts list's search by a part of the name.
CREATE INDEX IF NOT EXISTS accounts_name_trgm ON accounts USING gin (lower(name) gin_trgm_ops);

-- +goose Down
DROP INDEX IF EXISTS accounts_name_trgm;
DROP INDEX IF EXISTS contacts_account;
DROP INDEX IF EXISTS opportunities_account;
-- Opportunities without a lead or a contact cannot be kept by the older
-- schema.
DELETE FROM opportunities WHERE lead_id IS NULL OR contact_id IS NULL;
ALTER TABLE opportunities ALTER COLUMN lead_id SET NOT NULL,
    ALTER COLUMN contact_id SET NOT NULL;
