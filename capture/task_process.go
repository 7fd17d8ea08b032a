package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
)

// TypeProcessResponse resolves one committed response to a lead.
const TypeProcessResponse = "response:process"

// Queue is the Asynq queue capture's tasks run on.
const Queue = "capture"

// ProcessPayload is the response:process task's payload.
type ProcessPayload struct {
	ResponseID uuid.UUID `json:"response_id"`
}

// Enqueuer puts tasks on the queue; *asynq.Client satisfies it. Tests wrap it
// to inject failures.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// NewProcessTask builds the response:process task for a response. The task ID
// is the response ID, so enqueueing it twice is harmless.
func NewProcessTask(responseID uuid.UUID) *asynq.Task {
	payload, _ := json.Marshal(ProcessPayload{ResponseID: responseID})
	return asynq.NewTask(TypeProcessResponse, payload,
		asynq.TaskID(processTaskID(responseID)),
		asynq.Queue(Queue),
		asynq.MaxRetry(maxTaskRetries),
		asynq.Timeout(time.Minute))
}

// processTaskID is the Asynq task ID of a response's processing.
func processTaskID(responseID uuid.UUID) string {
	return TypeProcessResponse + ":" + responseID.String()
}

// EnqueueProcess enqueues a response's processing. A task already queued for
// it counts as success.
func EnqueueProcess(ctx context.Context, enq Enqueuer, responseID uuid.UUID) error {
	_, err := enq.EnqueueContext(ctx, NewProcessTask(responseID))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s: %w", TypeProcessResponse, err)
	}
	return nil
}

// ValidationError names the fields at fault in a request; the HTTP layer
// answers it with 422 and the fields.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid input: %d field(s)", len(e.Fields))
}

// FieldErrors gives the fields at fault, field name -> message.
func (e *ValidationError) FieldErrors() map[string]string { return e.Fields }
