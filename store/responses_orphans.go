package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// PendingResponseIDs keeps, of the given responses, those still pending: the
// sweeper's check before it queues a dead worker's response again. It reads
// without locking, so a response a live worker holds is never waited on.
func (q *Queries) PendingResponseIDs(ctx context.Context, ids []uuid.UUID) ([]uuid.UUID, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, _ := q.db.Query(ctx, `SELECT id FROM responses WHERE id = ANY($1) AND status = 'pending' ORDER BY id`, ids)
	out, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	return out, interpret(err, "pending response ids")
}
