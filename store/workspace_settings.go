package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// UpdateWorkspaceSettings overwrites a workspace's sending settings.
func (q *Queries) UpdateWorkspaceSettings(ctx context.Context, workspaceID uuid.UUID, s WorkspaceSettings) (Workspace, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE workspaces SET sender_name = $2, sender_email = $3, postal_address = $4,
			send_rate_per_second = $5, require_consent = $6, timezone = $7
		WHERE id = $1
		RETURNING `+workspaceColumns,
		workspaceID, s.SenderName, s.SenderEmail, s.PostalAddress, s.SendRatePerSecond, s.RequireConsent, s.Timezone)
	w, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Workspace])
	return w, interpret(err, "update workspace settings")
}

// LockWorkspace returns a workspace and locks its row until the transaction
// ends, so settings that sequences depend on (the postal address) cannot
// change while a sequence is being activated.
func (q *Queries) LockWorkspace(ctx context.Context, id uuid.UUID) (Workspace, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE id = $1 FOR UPDATE`, id)
	w, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Workspace])
	return w, interpret(err, "lock workspace")
}
