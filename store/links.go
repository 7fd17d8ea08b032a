package store

import (
	"context"
	"fmt"
	"math"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// MessageLink returns the stored URL of a message's link number index (from
// 0) without recording anything: an expired click link's answer needs it.
// ErrNotFound means no such message or link.
func (q *Queries) MessageLink(ctx context.Context, id uuid.UUID, index int) (string, error) {
	if index < 0 || index >= math.MaxInt32 {
		return "", fmt.Errorf("message link %d: %w", index, ErrNotFound)
	}
	// The stored URL of one link of one message.
	rows, _ := q.db.Query(ctx, `
		SELECT links[$2::integer + 1] FROM messages
		WHERE id = $1 AND $2::integer < cardinality(links)`, id, int32(index))
	link, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[string])
	return link, interpret(err, "message link")
}
