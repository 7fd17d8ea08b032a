package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"leadflow/store"
)

// TypeProcessImport resolves the staged rows of one import.
const TypeProcessImport = "import:process"

// ImportPayload is the import:process task's payload.
type ImportPayload struct {
	WorkspaceID uuid.UUID `json:"workspace_id"`
	ImportID    uuid.UUID `json:"import_id"`
}

// NewImportTask builds the import:process task; its ID is the import's, so
// enqueueing it twice is harmless. An interrupted run resumes where the
// rows say it stopped, so the timeout only bounds one run.
func NewImportTask(workspaceID, importID uuid.UUID) *asynq.Task {
	payload, _ := json.Marshal(ImportPayload{WorkspaceID: workspaceID, ImportID: importID})
	return asynq.NewTask(TypeProcessImport, payload,
		asynq.TaskID(TypeProcessImport+":"+importID.String()),
		asynq.Queue(Queue),
		asynq.MaxRetry(maxTaskRetries),
		asynq.Timeout(time.Hour))
}

// EnqueueImport enqueues an import's processing; a task already queued for
// it counts as success.
func EnqueueImport(ctx context.Context, enq Enqueuer, workspaceID, importID uuid.UUID) error {
	_, err := enq.EnqueueContext(ctx, NewImportTask(workspaceID, importID))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s: %w", TypeProcessImport, err)
	}
	return nil
}

// ProcessTask is the Asynq handler for TypeProcessImport.
func (im *Importer) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p ImportPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.ImportID == uuid.Nil {
		return fmt.Errorf("decode %s payload: %w", TypeProcessImport, asynq.SkipRetry)
	}
	_, err := im.Run(ctx, p.WorkspaceID, p.ImportID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return err
}
