-- People: the users of a workspace sign in to the console. A user gains the
-- role admin, a password hash (empty until they choose one: a sign-in link
-- or a reset lets them in), a deactivation time and the time of their last
-- sign-in. Sessions and one-time sign-in tokens are kept by the hash of
-- their secret only, so a copy of the database signs nobody in.

-- +goose Up
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('admin', 'marketing', 'sales_rep', 'sales_manager', 'sales_admin'));
ALTER TABLE users
    ADD COLUMN password_hash   text NOT NULL DEFAULT '',
    ADD COLUMN deactivated_at  timestamptz,
    ADD COLUMN last_sign_in_at timestamptz;
-- Sign-in names an address, not a workspace: it finds the address in every
-- workspace.
CREATE INDEX users_lower_email ON users (lower(email));

CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Bound to the session: every state-changing console request carries it.
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- Moved forward at most once a minute; the idle expiry reads it.
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    -- The absolute expiry, whatever the activity.
    expires_at   timestamptz NOT NULL,
    user_agent   text NOT NULL DEFAULT '',
    ip           text NOT NULL DEFAULT ''
);
-- Deactivation and sign-out everywhere end a person's sessions by user.
CREATE INDEX sessions_user ON sessions (user_id);

-- One-time tokens emailed or printed: a sign-in link, a password reset, an
-- invitation. Used once (used_at), within their expiry.
CREATE TABLE sign_in_tokens (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('sign_in', 'reset', 'invite')),
    -- The local path the person lands on after signing in.
    next       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX sign_in_tokens_user ON sign_in_tokens (user_id);

-- +goose Down
DROP TABLE sign_in_tokens, sessions;
DROP INDEX users_lower_email;
ALTER TABLE users DROP COLUMN password_hash, DROP COLUMN deactivated_at, DROP COLUMN last_sign_in_at;
-- Admins keep their accounts as marketers rather than lose their records.
UPDATE users SET role = 'marketing' WHERE role = 'admin';
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('sales_rep', 'sales_manager', 'sales_admin', 'marketing'));
