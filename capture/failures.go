package capture

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"leadflow/store"
)

// DefaultMaxAttempts is how many processing runs of a response may fail
// before it is marked failed. With Asynq's backoff, ten attempts span about
// seven hours: long enough to ride out an outage, short enough that a poison
// response shows up in the API the same day.
const DefaultMaxAttempts = 10

// maxTaskRetries is the Asynq retry budget of a response:process task. It is
// above every allowed MaxAttempts, so PostgreSQL decides when a response has
// failed, never Asynq's archive.
const maxTaskRetries = 25

// recordFailure counts a failed run of a response. It returns the error for
// Asynq: retried while attempts remain, not retried once the response is
// marked failed. A run that failed because the process is shutting down is
// not the response's fault and is not counted; and when the failure cannot be
// recorded (the database is away) the task is simply retried.
func (p *Processor) recordFailure(ctx context.Context, id uuid.UUID, cause error, maxAttempts int) error {
	if ctx.Err() != nil {
		return cause
	}
	r, err := p.store.RecordResponseFailure(ctx, id, cause.Error(), maxAttempts, p.now())
	if err != nil {
		return errors.Join(cause, err)
	}
	if r.Status == store.ResponseFailed {
		p.logger.ErrorContext(ctx, "response processing failed", "response_id", id,
			"workspace_id", r.WorkspaceID, "attempts", r.Attempts, "error", cause)
		return fmt.Errorf("%w: %w", cause, asynq.SkipRetry)
	}
	return cause
}

// Retry puts a failed response back into processing: it is pending again
// with its attempts reset, and its task is enqueued once the change is
// committed (or by the sweeper, if Redis is away). Only a failed response can
// be retried.
func (p *Processor) Retry(ctx context.Context, workspaceID, id uuid.UUID) (store.Response, error) {
	r, err := p.store.RetryResponse(ctx, workspaceID, id)
	if errors.Is(err, store.ErrConflict) {
		return r, fmt.Errorf("%w: %w", &ValidationError{Fields: map[string]string{
			"status": "only a failed response can be retried",
		}}, err)
	}
	return r, err
}
