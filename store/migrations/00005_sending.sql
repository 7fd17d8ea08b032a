-- Sending: handoff notices stored their Message-ID with its angle brackets,
-- which bounce reports (matched on the bare id@host) never found.

-- +goose Up
UPDATE messages SET message_id = btrim(message_id, '<>')
WHERE message_id LIKE '<%' OR message_id LIKE '%>';

-- +goose Down
SELECT 1;
