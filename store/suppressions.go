package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Suppression is an address no sequence of the workspace may email again.
type Suppression struct {
	WorkspaceID    uuid.UUID `db:"workspace_id"`
	EmailCanonical string    `db:"email_canonical"`
	Reason         string    `db:"reason"`
	CreatedAt      time.Time `db:"created_at"`
}

// InsertSuppression suppresses an address of the workspace and reports
// whether this call did; an address suppressed already keeps its first
// reason.
func (q *Queries) InsertSuppression(ctx context.Context, workspaceID uuid.UUID, emailCanonical, reason string, at time.Time) (bool, error) {
	tag, err := q.db.Exec(ctx, `
		INSERT INTO suppressions (workspace_id, email_canonical, reason, created_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (workspace_id, email_canonical) DO NOTHING`,
		workspaceID, emailCanonical, reason, timeOrNow(at))
	return tag.RowsAffected() == 1, interpret(err, "insert suppression")
}

// GetSuppression returns an address's suppression in the workspace;
// ErrNotFound when it may be emailed.
func (q *Queries) GetSuppression(ctx context.Context, workspaceID uuid.UUID, emailCanonical string) (Suppression, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT workspace_id, email_canonical, reason, created_at FROM suppressions
		WHERE workspace_id = $1 AND email_canonical = $2`, workspaceID, emailCanonical)
	s, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Suppression])
	return s, interpret(err, "get suppression")
}

// IsSuppressed reports whether an address of the workspace is suppressed.
func (q *Queries) IsSuppressed(ctx context.Context, workspaceID uuid.UUID, emailCanonical string) (bool, error) {
	_, err := q.GetSuppression(ctx, workspaceID, emailCanonical)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
