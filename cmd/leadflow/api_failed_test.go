package main

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"leadflow/capture"
	"leadflow/store"
)

func TestAPIFailedResponsesListedAndRetried(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	ctx := context.Background()
	key := b.a.marketing
	form := b.form(t, b.a.ws.ID, nil)
	ok := b.submit(t, form, personFields(t, "fine@example.com", "Fi", "Ne", ""), false)
	// A response whose processing failed for good: its task was archived by
	// Asynq, which holds on to the task ID.
	poison := b.submit(t, form, personFields(t, "poison@example.com", "Po", "Ison", ""), true)
	if _, err := b.st.Pool.Exec(ctx, `UPDATE responses SET status = 'pending', verdict = 'ok' WHERE id = $1`, poison.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.RecordResponseFailure(ctx, poison.ID, "enrol: template missing", 1, time.Now()); err != nil {
		t.Fatal(err)
	}
	taskID := capture.TypeProcessResponse + ":" + poison.ID.String()
	queue := asynq.NewClientFromRedisClient(b.rdb)
	if err := capture.EnqueueProcess(ctx, queue, poison.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.inspector.ArchiveTask(capture.Queue, taskID); err != nil {
		t.Fatal(err)
	}

	failed := expectJSON[listBody[capture.Response]](t, b, 200, key, "GET", "/api/v1/responses?status=failed", nil)
	if diff := cmp.Diff([]uuid.UUID{poison.ID}, idsOf(failed.Items, responseID)); diff != "" {
		t.Errorf("failed responses (-want +got):\n%s", diff)
	}
	if got := failed.Items[0]; got.LastError != "enrol: template missing" || got.Attempts != 1 || got.FailedAt == nil {
		t.Errorf("failed response shows attempts %d, last error %q, failed at %v", got.Attempts, got.LastError, got.FailedAt)
	}

	expectError(t, b, 403, "forbidden", b.a.sales, "POST", "/api/v1/responses/"+poison.ID.String()+"/retry", nil)
	expectError(t, b, 404, "not_found", b.b.marketing, "POST", "/api/v1/responses/"+poison.ID.String()+"/retry", nil)
	fields := expectError(t, b, 409, "conflict", key, "POST", "/api/v1/responses/"+ok.ID.String()+"/retry", nil)
	if fields["status"] == "" {
		t.Errorf("retrying a processed response: fields %v, want the status named", fields)
	}

	retried := expectJSON[capture.Response](t, b, 200, key, "POST", "/api/v1/responses/"+poison.ID.String()+"/retry", nil)
	if retried.Status != store.ResponsePending || retried.Attempts != 0 {
		t.Errorf("retried = %s after %d attempts, want pending with none", retried.Status, retried.Attempts)
	}
	info, err := b.inspector.GetTaskInfo(capture.Queue, taskID)
	if err != nil {
		t.Fatalf("the retried response's processing is not queued: %v", err)
	}
	if info.State != asynq.TaskStatePending {
		t.Errorf("retried task is %v, want pending (the archived task must not keep its ID)", info.State)
	}
	if _, err := b.processor.Process(ctx, poison.ID); err != nil {
		t.Fatal(err)
	}
	done := expectJSON[capture.Response](t, b, 200, key, "GET", "/api/v1/responses/"+poison.ID.String(), nil)
	if done.Status != store.ResponseProcessed || done.LeadID == nil {
		t.Errorf("after the retry: %s with lead %v, want processed with a lead", done.Status, done.LeadID)
	}
}
