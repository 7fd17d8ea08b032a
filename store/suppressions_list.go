package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ListSuppressions lists a workspace's suppressed addresses in address
// order, from the first after after ("" starts at the first), at most
// limit; keyset-paged on the primary key.
func (q *Queries) ListSuppressions(ctx context.Context, workspaceID uuid.UUID, after string, limit int) ([]Suppression, error) {
	// One page of suppressed addresses, in address order.
	rows, _ := q.db.Query(ctx, `
		SELECT workspace_id, email_canonical, reason, created_at FROM suppressions
		WHERE workspace_id = $1 AND email_canonical > $2
		ORDER BY email_canonical LIMIT $3`, workspaceID, after, limit)
	ss, err := pgx.CollectRows(rows, pgx.RowToStructByName[Suppression])
	return ss, interpret(err, "list suppressions")
}

// BouncesForEmail lists an address's bounces in the workspace, newest
// first, at most limit (on the bounces_email index).
func (q *Queries) BouncesForEmail(ctx context.Context, workspaceID uuid.UUID, emailCanonical string, limit int) ([]Bounce, error) {
	// An address's latest bounces.
	rows, _ := q.db.Query(ctx, `
		SELECT id, workspace_id, email_canonical, message_id, kind, detail, created_at FROM bounces
		WHERE workspace_id = $1 AND email_canonical = $2
		ORDER BY created_at DESC LIMIT $3`, workspaceID, emailCanonical, limit)
	bs, err := pgx.CollectRows(rows, pgx.RowToStructByName[Bounce])
	return bs, interpret(err, "bounces for email")
}
