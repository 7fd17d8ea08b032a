package store

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// APIKeyInfo is what may be shown of a key: never the key, nor its hash.
type APIKeyInfo struct {
	ID         uuid.UUID  `db:"id"`
	Role       Role       `db:"role"`
	Name       string     `db:"name"`
	Prefix     string     `db:"prefix"`
	UserID     *uuid.UUID `db:"user_id"`
	UserEmail  *string    `db:"user_email"`
	CreatedAt  time.Time  `db:"created_at"`
	LastUsedAt *time.Time `db:"last_used_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
}

const apiKeyInfoColumns = `k.id, k.role, k.name, k.prefix, k.user_id, u.email AS user_email,
	k.created_at, k.last_used_at, k.revoked_at`

// ListAPIKeys lists a workspace's keys, revoked ones too, newest first.
func (q *Queries) ListAPIKeys(ctx context.Context, workspaceID uuid.UUID, p Page) ([]APIKeyInfo, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+apiKeyInfoColumns+`
		FROM api_keys k LEFT JOIN users u ON u.id = k.user_id AND u.workspace_id = k.workspace_id
		WHERE k.workspace_id = $1 AND ($2 = '00000000-0000-0000-0000-000000000000'::uuid OR k.id < $2)
		ORDER BY k.id DESC LIMIT $3`, workspaceID, p.Before, max(p.Limit, 1))
	ks, err := pgx.CollectRows(rows, pgx.RowToStructByName[APIKeyInfo])
	return ks, interpret(err, "list api keys")
}

// GetAPIKeyInfo returns one of a workspace's keys.
func (q *Queries) GetAPIKeyInfo(ctx context.Context, workspaceID, id uuid.UUID) (APIKeyInfo, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+apiKeyInfoColumns+`
		FROM api_keys k LEFT JOIN users u ON u.id = k.user_id AND u.workspace_id = k.workspace_id
		WHERE k.workspace_id = $1 AND k.id = $2`, workspaceID, id)
	k, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[APIKeyInfo])
	return k, interpret(err, "get api key")
}

// RevokeAPIKey revokes one of a workspace's keys; the next request made with
// it is refused. Revoking a revoked key keeps its first revocation time.
func (q *Queries) RevokeAPIKey(ctx context.Context, workspaceID, id uuid.UUID) (APIKeyInfo, error) {
	tag, err := q.db.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	if err != nil {
		return APIKeyInfo{}, interpret(err, "revoke api key")
	}
	if tag.RowsAffected() == 0 {
		return APIKeyInfo{}, interpret(pgx.ErrNoRows, "revoke api key")
	}
	return q.GetAPIKeyInfo(ctx, workspaceID, id)
}

// AuthenticateAPIKey finds the live key whose secret this is (not revoked,
// and not given to a person who has been deactivated) and records that it was used, in one statement: the admin API pays one
// round trip per request for both. Last use is written at most once a
// minute per key, so a busy integration costs no write per request.
func (q *Queries) AuthenticateAPIKey(ctx context.Context, secret string) (APIKey, error) {
	sum := sha256.Sum256([]byte(secret))
	rows, _ := q.db.Query(ctx, `
		WITH k AS (
			SELECT id, workspace_id, role, name, prefix, created_at, user_id, last_used_at
			FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL
			  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = api_keys.user_id AND u.deactivated_at IS NOT NULL)
		), touched AS (
			UPDATE api_keys SET last_used_at = now() FROM k
			WHERE api_keys.id = k.id AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')
		)
		SELECT id, workspace_id, role, name, prefix, created_at, user_id FROM k`, sum[:])
	k, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[APIKey])
	return k, interpret(err, "authenticate api key")
}

// WorkspaceByName returns the workspace named name, for the command line.
func (q *Queries) WorkspaceByName(ctx context.Context, name string) (Workspace, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE name = $1`, name)
	w, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Workspace])
	return w, interpret(err, "workspace by name")
}
