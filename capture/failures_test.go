package capture_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"leadflow/capture"
	"leadflow/store"
)

// breakableEnroller stands in for nurture failing on every response (a
// template that no longer renders, say) until it is mended.
type breakableEnroller struct{ broken atomic.Bool }

func (e *breakableEnroller) EnrollFromResponse(ctx context.Context, q *store.Queries, resp store.Response, leadID uuid.UUID, reg *store.EventRegistration) error {
	if e.broken.Load() {
		return errors.New("enrol: sequence step 3 has no template")
	}
	return nil
}

func (e *breakableEnroller) RequestConfirmation(ctx context.Context, q *store.Queries, resp store.Response) error {
	return nil
}

func TestProcessFailingResponseBecomesFailedThenRetries(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	enroller := &breakableEnroller{}
	enroller.broken.Store(true)
	proc, err := capture.NewProcessor(capture.ProcessorConfig{Store: b.store, Enroller: enroller, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	id := b.newResponse(t, b.form, personFields(t, "poison@example.com", "Po", "Ison", "Acme"))
	payload, _ := json.Marshal(capture.ProcessPayload{ResponseID: id})
	task := asynq.NewTask(capture.TypeProcessResponse, payload)

	for attempt := 1; attempt <= 3; attempt++ {
		err := proc.ProcessTask(b.ctx, task)
		if err == nil {
			t.Fatalf("attempt %d: no error from a broken enroller", attempt)
		}
		r := b.response(t, b.ws, id)
		if r.Attempts != attempt || !strings.Contains(r.LastError, "no template") {
			t.Errorf("attempt %d: attempts %d, last error %q", attempt, r.Attempts, r.LastError)
		}
		if attempt < 3 {
			if errors.Is(err, asynq.SkipRetry) || r.Status != store.ResponsePending || r.FailedAt != nil {
				t.Errorf("attempt %d: status %s, skip retry %v: want pending and retried", attempt, r.Status, errors.Is(err, asynq.SkipRetry))
			}
			continue
		}
		if !errors.Is(err, asynq.SkipRetry) || r.Status != store.ResponseFailed || r.FailedAt == nil {
			t.Errorf("last attempt: status %s, failed at %v, skip retry %v: want failed and not retried", r.Status, r.FailedAt, errors.Is(err, asynq.SkipRetry))
		}
	}
	if n := b.count(t, `SELECT count(*) FROM leads WHERE workspace_id = $1`, b.ws.ID); n != 0 {
		t.Errorf("%d leads after failed runs, want none (each run rolls back)", n)
	}
	// Failed work leaves the sweeper's list: it is not re-enqueued for ever.
	pending, err := b.store.PendingResponses(b.ctx, time.Now(), store.PendingResponse{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pending {
		if p.ID == id {
			t.Error("a failed response is still on the sweeper's work list")
		}
	}
	// A run of the same task now changes nothing more.
	if err := proc.ProcessTask(b.ctx, task); err != nil {
		t.Errorf("running a failed response's task again: %v, want nothing done", err)
	}
	if r := b.response(t, b.ws, id); r.Status != store.ResponseFailed || r.Attempts != 3 {
		t.Errorf("after a stray run: status %s attempts %d, want failed after 3", r.Status, r.Attempts)
	}

	// Mended, a person retries it: pending again with a fresh budget, then
	// processed into one lead.
	enroller.broken.Store(false)
	r, err := proc.Retry(b.ctx, b.ws.ID, id)
	if err != nil {
		t.Fatalf("Retry: %v", err)
	}
	if r.Status != store.ResponsePending || r.Attempts != 0 || r.FailedAt != nil {
		t.Errorf("retried: status %s attempts %d failed at %v, want pending, 0, none", r.Status, r.Attempts, r.FailedAt)
	}
	if err := proc.ProcessTask(b.ctx, task); err != nil {
		t.Fatalf("processing after the retry: %v", err)
	}
	if r := b.response(t, b.ws, id); r.Status != store.ResponseProcessed || r.LeadID == nil {
		t.Errorf("after the retry: status %s lead %v, want processed with a lead", r.Status, r.LeadID)
	}
	// Only a failed response can be retried, and only in its own workspace.
	if _, err := proc.Retry(b.ctx, b.ws.ID, id); !errors.Is(err, store.ErrConflict) {
		t.Errorf("retrying a processed response: %v, want a conflict", err)
	}
	other := b.newWorkspace(t, "globex")
	if _, err := proc.Retry(b.ctx, other.ID, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("retrying another workspace's response: %v, want not found", err)
	}
}

func TestProcessFailureDuringShutdownIsNotCounted(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	enroller := &breakableEnroller{}
	enroller.broken.Store(true)
	proc, err := capture.NewProcessor(capture.ProcessorConfig{Store: b.store, Enroller: enroller, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := b.newResponse(t, b.form, personFields(t, "late@example.com", "La", "Te", ""))
	payload, _ := json.Marshal(capture.ProcessPayload{ResponseID: id})
	ctx, cancel := context.WithCancel(b.ctx)
	cancel()
	if err := proc.ProcessTask(ctx, asynq.NewTask(capture.TypeProcessResponse, payload)); err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Errorf("cancelled run: err = %v, want a retryable error", err)
	}
	if r := b.response(t, b.ws, id); r.Status != store.ResponsePending || r.Attempts != 0 {
		t.Errorf("after a cancelled run: status %s attempts %d, want pending, 0", r.Status, r.Attempts)
	}
}

func TestNewProcessorValidatesMaxAttempts(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	for _, n := range []int{-1, 26} {
		if _, err := capture.NewProcessor(capture.ProcessorConfig{Store: b.store, MaxAttempts: n}); err == nil {
			t.Errorf("MaxAttempts %d accepted", n)
		}
	}
}
