-- Responses from other channels than web forms: a phone survey, an email
-- reply, an event, a list subscription, a chat, an import. Such a response
-- has no form; it says which channel it came through, who recorded it, and
-- the answers given (question and answer pairs, for a survey).
--
-- Adding columns with constant defaults rewrites nothing, but the two checks
-- and the index read the table once each while the migration holds its lock:
-- form posts wait for that (seconds per million responses). On a big
-- database build the index first, without blocking writes:
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS responses_channel ON responses (workspace_id, channel, id) WHERE channel <> 'web';

-- +goose Up
ALTER TABLE responses
    ADD COLUMN channel text NOT NULL DEFAULT 'web',
    ADD COLUMN recorded_by text NOT NULL DEFAULT '',
    ADD COLUMN answers jsonb NOT NULL DEFAULT '[]',
    ALTER COLUMN form_id DROP NOT NULL;
ALTER TABLE responses ADD CONSTRAINT responses_channel_check
    CHECK (channel IN ('web', 'phone', 'email', 'event', 'list', 'chat', 'import'));
-- A form post always names its form.
ALTER TABLE responses ADD CONSTRAINT responses_web_has_form
    CHECK (channel <> 'web' OR form_id IS NOT NULL);
CREATE INDEX IF NOT EXISTS responses_channel ON responses (workspace_id, channel, id) WHERE channel <> 'web';

-- +goose Down
DROP INDEX IF EXISTS responses_channel;
-- Refuses (form_id cannot be made NOT NULL) while form-less responses
-- exist: they are kept, never dropped by a downgrade.
ALTER TABLE responses
    DROP CONSTRAINT responses_web_has_form,
    DROP CONSTRAINT responses_channel_check,
    DROP COLUMN answers,
    DROP COLUMN recorded_by,
    DROP COLUMN channel,
    ALTER COLUMN form_id SET NOT NULL;
