package store

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Workspace is a tenant: every other record belongs to one.
type Workspace struct {
	ID        uuid.UUID `db:"id" json:"id"`
	Name      string    `db:"name" json:"name"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	WorkspaceSettings
}

// workspaceColumns lists Workspace's columns in struct order.
const workspaceColumns = `id, name, created_at, sender_name, sender_email, postal_address,
	send_rate_per_second, require_consent, timezone`

// Role is what an API key may do.
type Role string

// The roles an API key can have.
const (
	RoleAdmin     Role = "admin"
	RoleMarketing Role = "marketing"
	RoleSales     Role = "sales"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleMarketing || r == RoleSales
}

// APIKey is a stored key, without its secret.
type APIKey struct {
	ID          uuid.UUID `db:"id" json:"id"`
	WorkspaceID uuid.UUID `db:"workspace_id" json:"workspace_id"`
	Role        Role      `db:"role" json:"role"`
	Name        string    `db:"name" json:"name"`
	Prefix      string    `db:"prefix" json:"prefix"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
	// UserID is the user the key acts as (a sales rep accepting handoffs, a
	// sales admin deciding the forecast), if any.
	UserID *uuid.UUID `db:"user_id" json:"user_id"`
}

// EnsureWorkspace returns the workspace named name, creating it if missing.
func (q *Queries) EnsureWorkspace(ctx context.Context, name string) (Workspace, error) {
	// Insert-or-select in one statement so concurrent callers agree.
	rows, _ := q.db.Query(ctx, `
		WITH ins AS (
			INSERT INTO workspaces (id, name) VALUES ($1, $2)
			ON CONFLICT (name) DO NOTHING
			RETURNING `+workspaceColumns+`)
		SELECT * FROM ins
		UNION ALL
		SELECT `+workspaceColumns+` FROM workspaces WHERE name = $2
		LIMIT 1`, NewID(), name)
	w, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Workspace])
	return w, interpret(err, "ensure workspace")
}

// GetWorkspace returns a workspace by ID.
func (q *Queries) GetWorkspace(ctx context.Context, id uuid.UUID) (Workspace, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE id = $1`, id)
	w, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Workspace])
	return w, interpret(err, "get workspace")
}

// InsertAPIKey stores a key by the SHA-256 of its secret.
func (q *Queries) InsertAPIKey(ctx context.Context, k APIKey, secret string) (APIKey, error) {
	sum := sha256.Sum256([]byte(secret))
	rows, _ := q.db.Query(ctx, `
		INSERT INTO api_keys (id, workspace_id, role, name, prefix, secret_hash, user_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		RETURNING id, workspace_id, role, name, prefix, created_at, user_id`,
		NewID(), k.WorkspaceID, k.Role, k.Name, k.Prefix, sum[:], k.UserID)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[APIKey])
	return out, interpret(err, "insert api key")
}

// APIKeyBySecret finds the live (not revoked) key whose secret this is.
func (q *Queries) APIKeyBySecret(ctx context.Context, secret string) (APIKey, error) {
	sum := sha256.Sum256([]byte(secret))
	rows, _ := q.db.Query(ctx, `
		SELECT id, workspace_id, role, name, prefix, created_at, user_id
		FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL`, sum[:])
	k, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[APIKey])
	return k, interpret(err, "api key by secret")
}

// Principal is who makes a request: an API key, or a person signed in to the
// console (UserID set, KeyID zero); its workspace and its role.
type Principal struct {
	KeyID       uuid.UUID
	UserID      uuid.UUID
	WorkspaceID uuid.UUID
	Role        Role
}

// Actor names the principal in audit trails.
func (p Principal) Actor() string {
	if p.KeyID == uuid.Nil && p.UserID != uuid.Nil {
		return "user:" + p.UserID.String()
	}
	return "api_key:" + p.KeyID.String()
}

type principalKey struct{}

// WithPrincipal returns ctx carrying the authenticated principal.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal the request was authenticated as.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
