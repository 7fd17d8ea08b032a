-- Identity: every address a lead has used stays one of its identities; a
-- phone that does not parse is kept as typed; possible duplicates compare
-- names before companies; forms cap their custom fields and say which
-- fields they require.

-- +goose Up

-- One row per canonical email a lead answers to: its own, the addresses of
-- leads merged into it, the other addresses of its contact. An address
-- belongs to one lead of the workspace at most.
CREATE TABLE lead_identities (
    workspace_id    uuid NOT NULL,
    email_canonical text NOT NULL CHECK (email_canonical <> ''),
    lead_id         uuid NOT NULL,
    email           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, email_canonical),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, id)
);
CREATE INDEX lead_identities_lead ON lead_identities (lead_id);

-- Live leads first, so an address shared by a live and a merged lead names
-- the live one; a merged lead's address names the lead it lives on in.
INSERT INTO lead_identities (workspace_id, email_canonical, lead_id, email, created_at)
SELECT workspace_id, email_canonical, id, email, created_at FROM leads
WHERE email_canonical <> '' AND merged_into IS NULL
ON CONFLICT DO NOTHING;

-- A phone number that does not parse, as the person typed it: kept for
-- sales to read, never used to match.
ALTER TABLE leads ADD COLUMN phone_unverified text NOT NULL DEFAULT '';

-- Accents folded and case lowered, so "José" and "Jose" compare equal.
-- translate() keeps it immutable (unaccent is not) and needs no extension.
-- +goose StatementBegin
CREATE FUNCTION leadflow_fold(s text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN
    lower(translate(s,
        'ÀÁÂÃÄÅàáâãäåĀāĂăĄąÇçĆćČčĎďÈÉÊËèéêëĒēĘęĚěÌÍÎÏìíîïĪīŁłÑñŃńŇňÒÓÔÕÖØòóôõöøŌōŐőŘřŚśŠšŞşŤťÙÚÛÜùúûüŪūŮůŰűÝýÿŹźŻżŽžß',
        'AAAAAAaaaaaaAaAaAaCcCcCcDdEEEEeeeeEeEeEeIIIIiiiiIiLlNnNnNnOOOOOOooooooOoOoRrSsSsSsTtUUUUuuuuUuUuUuYyyZzZzZzs'));
-- +goose StatementEnd

-- A company without its legal form and punctuation: "Acme, Inc." is "acme".
-- +goose StatementBegin
CREATE FUNCTION leadflow_company_key(s text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN
    btrim(regexp_replace(
        regexp_replace(leadflow_fold(s), '[^a-z0-9]+', ' ', 'g'),
        '(^| )(inc|incorporated|llc|ltd|limited|corp|corporation|co|company|plc|gmbh|ag|sa|sas|bv|nv|srl|spa|oy|ab|as|pty|group|the)( |$)',
        ' ', 'g'));
-- +goose StatementEnd

ALTER TABLE leads
    ADD COLUMN name_key    text GENERATED ALWAYS AS (leadflow_fold(btrim(first_name || ' ' || last_name))) STORED,
    ADD COLUMN company_key text GENERATED ALWAYS AS (leadflow_company_key(company)) STORED;
ALTER TABLE contacts
    ADD COLUMN name_key    text GENERATED ALWAYS AS (leadflow_fold(btrim(first_name || ' ' || last_name))) STORED,
    ADD COLUMN company_key text GENERATED ALWAYS AS (leadflow_company_key(company)) STORED;
CREATE INDEX leads_name_key ON leads USING gin (name_key gin_trgm_ops) WHERE merged_into IS NULL AND name_key <> '';
CREATE INDEX contacts_name_key ON contacts USING gin (name_key gin_trgm_ops) WHERE name_key <> '';

-- A phone finds its number's leads and contacts whatever the extension
-- ("+14155550100;ext=12"): a switchboard's people are told apart by name.
CREATE INDEX leads_phone_number ON leads (workspace_id, split_part(phone, ';', 1))
    WHERE phone <> '' AND merged_into IS NULL;
CREATE INDEX contacts_phone_number ON contacts (workspace_id, split_part(phone, ';', 1)) WHERE phone <> '';

-- What a possible duplicate rests on: similar names, or a shared phone.
ALTER TABLE possible_duplicates ADD COLUMN reason text NOT NULL DEFAULT 'similar_name';

-- The fields a form refuses a submission without (or with an unusable
-- value), and how many custom fields of what length one submission keeps.
ALTER TABLE forms
    ADD COLUMN required_fields        text[] NOT NULL DEFAULT '{}',
    ADD COLUMN max_custom_fields      integer NOT NULL DEFAULT 50 CHECK (max_custom_fields >= 0),
    ADD COLUMN max_custom_value_chars integer NOT NULL DEFAULT 2000 CHECK (max_custom_value_chars > 0);

-- +goose Down
ALTER TABLE forms DROP COLUMN required_fields, DROP COLUMN max_custom_fields, DROP COLUMN max_custom_value_chars;
ALTER TABLE possible_duplicates DROP COLUMN reason;
DROP INDEX contacts_name_key, leads_name_key, contacts_phone_number, leads_phone_number;
ALTER TABLE contacts DROP COLUMN name_key, DROP COLUMN company_key;
ALTER TABLE leads DROP COLUMN name_key, DROP COLUMN company_key, DROP COLUMN phone_unverified;
DROP FUNCTION leadflow_company_key(text);
DROP FUNCTION leadflow_fold(text);
DROP TABLE lead_identities;
