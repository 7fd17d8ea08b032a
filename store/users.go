package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// userColumns lists User's columns in struct order.
const userColumns = `id, workspace_id, name, email, role, available, created_at`

// InsertUser stores a new user; a zero ID is filled in. An email the
// workspace already has is ErrConflict.
func (q *Queries) InsertUser(ctx context.Context, u User) (User, error) {
	if u.ID == uuid.Nil {
		u.ID = NewID()
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO users (id, workspace_id, name, email, role, available)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING `+userColumns,
		u.ID, u.WorkspaceID, u.Name, u.Email, u.Role, u.Available)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[User])
	return out, interpret(err, "insert user")
}

// GetUser returns a user of the workspace.
func (q *Queries) GetUser(ctx context.Context, workspaceID, id uuid.UUID) (User, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+userColumns+` FROM users WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id)
	u, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[User])
	return u, interpret(err, "get user")
}

// UsersByID returns the workspace's users among ids, in no particular order;
// IDs of other workspaces are left out.
func (q *Queries) UsersByID(ctx context.Context, workspaceID uuid.UUID, ids []uuid.UUID) ([]User, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+userColumns+` FROM users WHERE workspace_id = $1 AND id = ANY ($2)`,
		workspaceID, ids)
	us, err := pgx.CollectRows(rows, pgx.RowToStructByName[User])
	return us, interpret(err, "users by id")
}

// ListUsers pages through the workspace's users, newest first.
func (q *Queries) ListUsers(ctx context.Context, workspaceID uuid.UUID, p Page) ([]User, error) {
	w := newListQuery(workspaceID)
	rows, _ := q.db.Query(ctx, `SELECT `+userColumns+` FROM users`+w.page(p), w.args...)
	us, err := pgx.CollectRows(rows, pgx.RowToStructByName[User])
	return us, interpret(err, "list users")
}

// UpdateUser writes a user's name, email, role and availability. An email
// another user of the workspace has is ErrConflict.
func (q *Queries) UpdateUser(ctx context.Context, u User) (User, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE users SET name = $3, email = $4, role = $5, available = $6
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+userColumns,
		u.WorkspaceID, u.ID, u.Name, u.Email, u.Role, u.Available)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[User])
	return out, interpret(err, "update user")
}

// UserByEmail returns the workspace's user with this email (any case).
func (q *Queries) UserByEmail(ctx context.Context, workspaceID uuid.UUID, email string) (User, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+userColumns+` FROM users WHERE workspace_id = $1 AND lower(email) = lower($2)`,
		workspaceID, email)
	u, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[User])
	return u, interpret(err, "user by email")
}
