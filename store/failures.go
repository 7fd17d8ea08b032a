package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// EnrollmentFailed is an enrollment whose step failed too many times: it
// waits at that step until someone retries it.
const EnrollmentFailed = "failed"

// StepOutcomeFailed: the step failed for the last allowed time (detail:
// error, attempts).
const StepOutcomeFailed = "failed"

// DeferOrFailMessage records a failed attempt of a queued message: the one
// that left attempts or, when count is set, one counted now (a failure
// before the SMTP transaction, which claims nothing). Once the attempts
// since the message was last retried by hand reach maxAttempts the message
// is failed; until then its next attempt is due at retryAt (its
// enqueued_at, so the scheduler puts it on the queue again only if that
// retry is lost). ErrNotFound: the message is no longer queued, or another
// attempt has it.
func (q *Queries) DeferOrFailMessage(ctx context.Context, workspaceID, id uuid.UUID, attempts int, count bool, lastError string, maxAttempts int, retryAt time.Time) (Message, error) {
	add := 0
	if count {
		add = 1
	}
	rows, _ := q.db.Query(ctx, `
		UPDATE messages SET attempts = attempts + $4, last_error = $5,
			status = CASE WHEN attempts + $4 - attempts_before_retry >= $6 THEN 'failed' ELSE 'queued' END,
			enqueued_at = CASE WHEN attempts + $4 - attempts_before_retry >= $6 THEN NULL ELSE $7::timestamptz END
		WHERE workspace_id = $1 AND id = $2 AND status = 'queued' AND attempts = $3
		RETURNING `+messageRowColumns,
		workspaceID, id, attempts, add, lastError, maxAttempts, retryAt)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Message])
	return m, interpret(err, "defer or fail message")
}

// ListFailedMessages lists the workspace's failed messages, newest first.
func (q *Queries) ListFailedMessages(ctx context.Context, workspaceID uuid.UUID, p Page) ([]Message, error) {
	w := newListQuery(workspaceID)
	w.add("status = ?", MessageFailed)
	rows, _ := q.db.Query(ctx, `SELECT `+messageRowColumns+` FROM messages`+w.page(p), w.args...)
	ms, err := pgx.CollectRows(rows, pgx.RowToStructByName[Message])
	return ms, interpret(err, "list failed messages")
}

// RetryFailedMessage puts a failed message back in the queue, due at at,
// with the set number of attempts before it fails again. ErrNotFound: no
// such message; ErrConflict: it is not failed.
func (q *Queries) RetryFailedMessage(ctx context.Context, workspaceID, id uuid.UUID, at time.Time) (Message, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE messages SET status = 'queued', attempts_before_retry = attempts, enqueued_at = $3
		WHERE workspace_id = $1 AND id = $2 AND status = 'failed'
		RETURNING `+messageRowColumns,
		workspaceID, id, at)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Message])
	if errors.Is(err, pgx.ErrNoRows) {
		if _, gerr := q.GetMessage(ctx, workspaceID, id); gerr != nil {
			return m, gerr
		}
		return m, fmt.Errorf("retry message: it has not failed: %w", ErrConflict)
	}
	return m, interpret(err, "retry message")
}

// FailedEnrollment is an enrollment with how its step failed.
type FailedEnrollment struct {
	Enrollment
	Attempts  int    `db:"attempts"`
	LastError string `db:"last_error"`
}

const failedEnrollmentColumns = enrollmentRowColumns + `, attempts, last_error`

// FailEnrollmentStep records a failed run of an active enrollment's step:
// the step is due again at retryAt, or, at its maxAttempts-th failure in a
// row, the enrollment is failed there (with a failed step in its history).
// ErrNotFound: the enrollment is no longer active at that step.
func (q *Queries) FailEnrollmentStep(ctx context.Context, workspaceID, id uuid.UUID, stepKey, lastError string, maxAttempts int, retryAt, at time.Time) (FailedEnrollment, error) {
	rows, _ := q.db.Query(ctx, `
		WITH failed AS (
			UPDATE enrollments SET attempts = attempts + 1, last_error = $4,
				state = CASE WHEN attempts + 1 >= $5 THEN 'failed' ELSE 'active' END,
				next_run_at = CASE WHEN attempts + 1 >= $5 THEN next_run_at ELSE $6::timestamptz END,
				enqueued_at = NULL, updated_at = $7
			WHERE workspace_id = $1 AND id = $2 AND state = 'active' AND step_key = $3
			RETURNING *
		), history AS (
			INSERT INTO enrollment_steps (enrollment_id, step_key, outcome, detail, at)
			SELECT id, step_key, 'failed', jsonb_build_object('error', $4::text, 'attempts', attempts), $7
			FROM failed WHERE state = 'failed'
		)
		SELECT `+failedEnrollmentColumns+` FROM failed`,
		workspaceID, id, stepKey, lastError, maxAttempts, retryAt, at)
	e, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[FailedEnrollment])
	return e, interpret(err, "fail enrollment step")
}

// ListFailedEnrollments lists the workspace's failed enrollments, newest
// first.
func (q *Queries) ListFailedEnrollments(ctx context.Context, workspaceID uuid.UUID, p Page) ([]FailedEnrollment, error) {
	w := newListQuery(workspaceID)
	w.add("state = ?", EnrollmentFailed)
	rows, _ := q.db.Query(ctx, `SELECT `+failedEnrollmentColumns+` FROM enrollments`+w.page(p), w.args...)
	es, err := pgx.CollectRows(rows, pgx.RowToStructByName[FailedEnrollment])
	return es, interpret(err, "list failed enrollments")
}

// RetryFailedEnrollment makes a failed enrollment active again at the step
// that failed, due at at, with the set number of attempts before it fails
// again. ErrNotFound: no such enrollment; ErrConflict: it is not failed.
func (q *Queries) RetryFailedEnrollment(ctx context.Context, workspaceID, id uuid.UUID, at time.Time) (FailedEnrollment, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE enrollments SET state = 'active', attempts = 0, next_run_at = $3, enqueued_at = NULL, updated_at = $3
		WHERE workspace_id = $1 AND id = $2 AND state = 'failed'
		RETURNING `+failedEnrollmentColumns,
		workspaceID, id, at)
	e, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[FailedEnrollment])
	if errors.Is(err, pgx.ErrNoRows) {
		if _, gerr := q.GetEnrollment(ctx, workspaceID, id); gerr != nil {
			return e, gerr
		}
		return e, fmt.Errorf("retry enrollment: it has not failed: %w", ErrConflict)
	}
	return e, interpret(err, "retry enrollment")
}
