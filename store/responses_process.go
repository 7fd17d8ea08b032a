package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// PendingResponse is a committed response still waiting for its processing:
// the sweeper's unit of work and its keyset cursor.
type PendingResponse struct {
	ID         uuid.UUID `db:"id"`
	ReceivedAt time.Time `db:"received_at"`
}

// LockResponseToProcess locks a response for the response:process worker. It
// is the one lookup by ID alone: a task carries only the response ID, and the
// response row is what tells the worker its workspace.
func (q *Queries) LockResponseToProcess(ctx context.Context, id uuid.UUID) (Response, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+responseColumns+` FROM responses WHERE id = $1 FOR UPDATE`, id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Response])
	return r, interpret(err, "lock response to process")
}

// LockResponse locks a response of the workspace for a change of verdict.
func (q *Queries) LockResponse(ctx context.Context, workspaceID, id uuid.UUID) (Response, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+responseColumns+` FROM responses
		WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, workspaceID, id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Response])
	return r, interpret(err, "lock response")
}

// MarkResponseProcessed records a response's processing outcome and the lead
// it resolved to.
func (q *Queries) MarkResponseProcessed(ctx context.Context, workspaceID, id, leadID uuid.UUID, outcome string, at time.Time) (Response, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE responses SET status = 'processed', outcome = $3, lead_id = $4, processed_at = $5
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+responseColumns,
		workspaceID, id, outcome, leadID, at)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Response])
	return r, interpret(err, "mark response processed")
}

// MarkResponseProcessedWithoutLead records a response that made no lead (a
// list subscription from someone who is no lead yet): it is kept, processed,
// for the lead its person may become.
func (q *Queries) MarkResponseProcessedWithoutLead(ctx context.Context, workspaceID, id uuid.UUID, outcome string, at time.Time) (Response, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE responses SET status = 'processed', outcome = $3, lead_id = NULL, processed_at = $4
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+responseColumns,
		workspaceID, id, outcome, at)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Response])
	return r, interpret(err, "mark response processed")
}

// MarkResponseAwaitingConfirmation parks a double opt-in response until its
// person confirms: it makes no lead, and the sweeper leaves it alone.
func (q *Queries) MarkResponseAwaitingConfirmation(ctx context.Context, workspaceID, id uuid.UUID) (Response, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE responses SET status = 'awaiting_confirmation'
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+responseColumns,
		workspaceID, id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Response])
	return r, interpret(err, "mark response awaiting confirmation")
}

// MarkResponseReleased turns a response held as spam back into pending work
// with the verdict released.
func (q *Queries) MarkResponseReleased(ctx context.Context, workspaceID, id uuid.UUID) (Response, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE responses SET verdict = 'released', status = 'pending'
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+responseColumns,
		workspaceID, id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Response])
	return r, interpret(err, "mark response released")
}

// PendingResponses lists, across workspaces and oldest first, the pending
// responses received before the given time and after the cursor, for the
// sweeper (on the responses_pending index). A zero cursor starts at the
// oldest.
func (q *Queries) PendingResponses(ctx context.Context, receivedBefore time.Time, after PendingResponse, limit int) ([]PendingResponse, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT id, received_at FROM responses
		WHERE status = 'pending' AND received_at < $1
		  AND received_at >= $2 AND (received_at, id) > ($2, $3)
		ORDER BY received_at, id
		LIMIT $4`,
		receivedBefore, after.ReceivedAt, after.ID, max(limit, 1))
	ps, err := pgx.CollectRows(rows, pgx.RowToStructByName[PendingResponse])
	return ps, interpret(err, "pending responses")
}

// MoveResponses reassigns one lead's responses to another, for a merge.
func (q *Queries) MoveResponses(ctx context.Context, workspaceID, fromLeadID, toLeadID uuid.UUID) (int64, error) {
	tag, err := q.db.Exec(ctx, `UPDATE responses SET lead_id = $3 WHERE workspace_id = $1 AND lead_id = $2`,
		workspaceID, fromLeadID, toLeadID)
	return tag.RowsAffected(), interpret(err, "move responses")
}
