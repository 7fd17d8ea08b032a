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

// GetSuppression returns an address's suppression in the workspace (an
// erased person's address first, as SuppressErased); ErrNotFound when it
// may be emailed.
func (q *Queries) GetSuppression(ctx context.Context, workspaceID uuid.UUID, emailCanonical string) (Suppression, error) {
	rows, _ := q.db.Query(ctx, `
		(SELECT workspace_id, $2 AS email_canonical, '`+SuppressErased+`' AS reason, erased_at AS created_at
		FROM erased_addresses WHERE workspace_id = $1 AND email_hash = sha256(convert_to($2, 'UTF8')))
		UNION ALL
		(SELECT workspace_id, email_canonical, reason, created_at FROM suppressions
		WHERE workspace_id = $1 AND email_canonical = $2)
		LIMIT 1`, workspaceID, emailCanonical)
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

// SuppressionRemoval records a suppression a person took back: the address
// may be emailed again from RemovedAt.
type SuppressionRemoval struct {
	ID             uuid.UUID `db:"id"`
	WorkspaceID    uuid.UUID `db:"workspace_id"`
	EmailCanonical string    `db:"email_canonical"`
	// Reason and SuppressedAt are the suppression's, as it stood.
	Reason       string    `db:"reason"`
	SuppressedAt time.Time `db:"suppressed_at"`
	RemovedBy    string    `db:"removed_by"`
	Why          string    `db:"why"`
	RemovedAt    time.Time `db:"removed_at"`
}

const suppressionRemovalColumns = `id, workspace_id, email_canonical, reason, suppressed_at, removed_by, why, removed_at`

// RemoveSuppression takes an address's suppression back and records who did
// it and why, in one statement; ErrNotFound when the address is not
// suppressed (so two people removing it at once record one removal).
func (q *Queries) RemoveSuppression(ctx context.Context, workspaceID uuid.UUID, emailCanonical, removedBy, why string, at time.Time) (SuppressionRemoval, error) {
	rows, _ := q.db.Query(ctx, `
		WITH gone AS (
			DELETE FROM suppressions WHERE workspace_id = $2 AND email_canonical = $3
			RETURNING workspace_id, email_canonical, reason, created_at
		)
		INSERT INTO suppression_removals (`+suppressionRemovalColumns+`)
		SELECT $1, workspace_id, email_canonical, reason, created_at, $4, $5, $6 FROM gone
		RETURNING `+suppressionRemovalColumns,
		NewID(), workspaceID, emailCanonical, removedBy, why, timeOrNow(at))
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[SuppressionRemoval])
	return r, interpret(err, "remove suppression")
}

// SuppressionRemovals lists an address's removed suppressions in the
// workspace, newest first, at most limit.
func (q *Queries) SuppressionRemovals(ctx context.Context, workspaceID uuid.UUID, emailCanonical string, limit int) ([]SuppressionRemoval, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT `+suppressionRemovalColumns+` FROM suppression_removals
		WHERE workspace_id = $1 AND email_canonical = $2
		ORDER BY removed_at DESC LIMIT $3`, workspaceID, emailCanonical, max(limit, 1))
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[SuppressionRemoval])
	return rs, interpret(err, "suppression removals")
}

// AuditSuppressionRemoved: the lead's address was taken off the suppression
// list (the old reason kept, the new value saying why).
const AuditSuppressionRemoved = "suppression_removed"
