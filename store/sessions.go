package store

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// sessionTouchEvery is how stale last_seen_at may grow before a request
// moves it: the idle expiry needs minutes, not a write per request.
const sessionTouchEvery = time.Minute

// SessionPerson is a live session and the person it signs in, as every
// console request reads them.
type SessionPerson struct {
	CSRFToken  string    `db:"csrf_token"`
	ExpiresAt  time.Time `db:"expires_at"`
	LastSeenAt time.Time `db:"last_seen_at"`
	Person
}

// NewSession is a session to store; its secret is the cookie's value.
type NewSession struct {
	UserID    uuid.UUID
	CSRFToken string
	ExpiresAt time.Time
	UserAgent string
	IP        string
}

// InsertSession stores a session by the SHA-256 of its secret, records the
// person's sign-in, and drops the person's sessions that have expired.
func (q *Queries) InsertSession(ctx context.Context, s NewSession, secret string, idle time.Duration) error {
	sum := sha256.Sum256([]byte(secret))
	_, err := q.db.Exec(ctx, `
		WITH signed AS (UPDATE users SET last_sign_in_at = now() WHERE id = $2),
		     stale AS (DELETE FROM sessions WHERE user_id = $2
		               AND (expires_at <= now() OR last_seen_at <= now() - $7 * interval '1 second'))
		INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at, user_agent, ip)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		sum[:], s.UserID, s.CSRFToken, s.ExpiresAt, s.UserAgent, s.IP, idle.Seconds())
	return interpret(err, "insert session")
}

// SessionBySecret returns the live session whose secret this is, with its
// person as they are now (role, name): not expired, used within idle, the
// person active. It moves the session's last use forward when stale.
// Anything else is ErrNotFound.
func (q *Queries) SessionBySecret(ctx context.Context, secret string, idle time.Duration) (SessionPerson, error) {
	sum := sha256.Sum256([]byte(secret))
	rows, _ := q.db.Query(ctx, `
		WITH s AS (
			SELECT s.csrf_token, s.expires_at, s.last_seen_at, `+personColumns+`
			FROM sessions s JOIN users u ON u.id = s.user_id JOIN workspaces w ON w.id = u.workspace_id
			WHERE s.token_hash = $1 AND s.expires_at > now()
				AND s.last_seen_at > now() - $2 * interval '1 second' AND u.deactivated_at IS NULL),
		touched AS (
			UPDATE sessions SET last_seen_at = now()
			WHERE token_hash = $1 AND last_seen_at < now() - $3 * interval '1 second' AND EXISTS (SELECT 1 FROM s))
		SELECT * FROM s`, sum[:], idle.Seconds(), sessionTouchEvery.Seconds())
	sp, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[SessionPerson])
	return sp, interpret(err, "session by secret")
}

// DeleteSession ends the session whose secret this is (sign-out). Ending
// one that does not exist is not an error.
func (q *Queries) DeleteSession(ctx context.Context, secret string) error {
	sum := sha256.Sum256([]byte(secret))
	_, err := q.db.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, sum[:])
	return interpret(err, "delete session")
}

// CountSessions counts a person's stored sessions, live or not.
func (q *Queries) CountSessions(ctx context.Context, userID uuid.UUID) (int, error) {
	var n int
	err := q.db.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE user_id = $1`, userID).Scan(&n)
	return n, interpret(err, "count sessions")
}
