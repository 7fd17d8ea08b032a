package store

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// maxLastError bounds the error text kept on a response: enough to read the
// cause, never a whole payload echoed back by a driver.
const maxLastError = 2000

// RecordResponseFailure counts a failed processing run of a pending response
// and keeps its error. Once attempts reach maxAttempts the response is marked
// failed, which takes it off the sweeper's work list. It reports the
// response as it now is; a response that is no longer pending is returned
// unchanged (ErrNotFound when there is no such response).
func (q *Queries) RecordResponseFailure(ctx context.Context, id uuid.UUID, cause string, maxAttempts int, at time.Time) (Response, error) {
	rows, _ := q.db.Query(ctx, `
		WITH upd AS (
			UPDATE responses SET attempts = attempts + 1, last_error = $2,
				status = CASE WHEN attempts + 1 >= $3 THEN 'failed' ELSE status END,
				failed_at = CASE WHEN attempts + 1 >= $3 THEN $4 ELSE failed_at END
			WHERE id = $1 AND status = 'pending'
			RETURNING `+responseColumns+`)
		SELECT * FROM upd
		UNION ALL
		SELECT `+responseColumns+` FROM responses WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM upd)`,
		id, truncateUTF8(cause, maxLastError), max(maxAttempts, 1), at)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Response])
	return r, interpret(err, "record response failure")
}

// RetryResponse turns a failed response of the workspace back into pending
// work with its attempts reset (its last error is kept until it succeeds or
// fails again). A response that is not failed is a conflict.
func (q *Queries) RetryResponse(ctx context.Context, workspaceID, id uuid.UUID) (Response, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE responses SET status = 'pending', attempts = 0, failed_at = NULL
		WHERE workspace_id = $1 AND id = $2 AND status = 'failed'
		RETURNING `+responseColumns, workspaceID, id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Response])
	if err == pgx.ErrNoRows {
		if _, gerr := q.GetResponse(ctx, workspaceID, id); gerr != nil {
			return Response{}, gerr
		}
		return Response{}, ErrConflict
	}
	return r, interpret(err, "retry response")
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
