package capture_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/capture"
	"leadflow/store"
	"leadflow/store/storetest"
)

// recordingQueue is the real queue client, remembering the order of what it
// was given.
type recordingQueue struct {
	capture.Enqueuer
	ids []string
}

func (q *recordingQueue) EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	info, err := q.Enqueuer.EnqueueContext(ctx, task, opts...)
	if info != nil {
		q.ids = append(q.ids, info.ID)
	}
	return info, err
}

func taskIDs(ids ...uuid.UUID) []string {
	var out []string
	for _, id := range ids {
		out = append(out, capture.TypeProcessResponse+":"+id.String())
	}
	return out
}

func TestSweepOnceEnqueuesOldPendingResponsesOldestFirst(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	queue := &recordingQueue{Enqueuer: newQueueClient(t, storetest.RedisURL(t))}
	sweeper, err := capture.NewSweeper(capture.SweeperConfig{Store: b.store, Enqueuer: queue, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	at := func(ago time.Duration) func(*responseOpts) {
		return func(o *responseOpts) { o.receivedAt = time.Now().Add(-ago) }
	}
	var oldestFirst []uuid.UUID
	for _, ago := range []time.Duration{5 * time.Hour, 4 * time.Hour, 3 * time.Hour, time.Hour, time.Minute} {
		oldestFirst = append(oldestFirst, b.newResponse(t, b.form, personFields(t, "p@example.com", "", "", ""), at(ago)))
	}
	// Left alone: fresh (its own enqueue is on its way), done, held as spam.
	b.newResponse(t, b.form, personFields(t, "fresh@example.com", "", "", ""), at(time.Second))
	done := b.newResponse(t, b.form, personFields(t, "done@example.com", "", "", ""), at(2*time.Hour))
	b.process(t, done)
	b.newResponse(t, b.form, personFields(t, "spam@example.com", "", "", ""), at(2*time.Hour), func(o *responseOpts) {
		o.verdict, o.status = store.VerdictSpam, store.ResponseHeld
	})

	n, err := sweeper.SweepOnce(b.ctx)
	if err != nil {
		t.Fatalf("SweepOnce: %v", err)
	}
	if n != len(oldestFirst) {
		t.Errorf("SweepOnce = %d, want %d", n, len(oldestFirst))
	}
	if diff := cmp.Diff(taskIDs(oldestFirst...), queue.ids); diff != "" {
		t.Errorf("enqueued (-want +got):\n%s", diff)
	}
	// Sweeping again while the tasks are still queued is harmless.
	if n, err := sweeper.SweepOnce(b.ctx); err != nil || n != len(oldestFirst) {
		t.Errorf("second SweepOnce = %d, %v; want %d, nil", n, err, len(oldestFirst))
	}
}

func TestSweeperRecoversEveryResponseCommittedWhileRedisWasDown(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	redisURL := storetest.RedisURL(t)
	queue := &switchableQueue{Enqueuer: newQueueClient(t, redisURL)}
	var logs logBuffer
	sweeper, err := capture.NewSweeper(capture.SweeperConfig{
		Store:    b.store,
		Enqueuer: queue,
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
		Interval: 10 * time.Millisecond,
		MinAge:   time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}

	// Forms posted while Redis is down: committed, never enqueued.
	const total = 40
	for i := range total {
		b.newResponse(t, b.form, personFields(t, fmt.Sprintf("visitor%02d@example.com", i), "Visitor", fmt.Sprint(i), ""))
	}
	queue.down.Store(true)
	if n, err := sweeper.SweepOnce(b.ctx); err == nil || n != 0 {
		t.Fatalf("SweepOnce with Redis down = %d, %v; want 0 and an error", n, err)
	}
	// Run logs the failure and tries again at the next tick.
	ctx, cancel := context.WithCancel(b.ctx)
	ran := make(chan error, 1)
	go func() { ran <- sweeper.Run(ctx) }()
	pollFor(t, 10*time.Second, "two failed sweeps logged", func() bool {
		return strings.Count(logs.String(), "response sweep failed") >= 2
	})
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := b.count(t, `SELECT count(*) FROM responses WHERE status = 'pending'`); n != total {
		t.Fatalf("pending responses while Redis was down = %d, want %d", n, total)
	}

	// Redis is back. Half the work gets done, then Redis loses everything it
	// held, including tasks the workers are in the middle of.
	queue.down.Store(false)
	if n, err := sweeper.SweepOnce(b.ctx); err != nil || n != total {
		t.Fatalf("SweepOnce with Redis back = %d, %v; want %d, nil", n, err, total)
	}
	const half = total / 2
	var calls atomic.Int64
	gate := make(chan struct{})
	startWorkers(t, redisURL, 10, asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		if calls.Add(1) > half {
			select {
			case <-gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return b.proc.ProcessTask(ctx, task)
	}))
	pollFor(t, 30*time.Second, "half the responses processed", func() bool {
		return b.count(t, `SELECT count(*) FROM responses WHERE status = 'processed'`) == half
	})
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.FlushDB(b.ctx).Err(); err != nil {
		t.Fatalf("flush redis: %v", err)
	}
	if n, err := sweeper.SweepOnce(b.ctx); err != nil || n != total-half {
		t.Fatalf("SweepOnce after the flush = %d, %v; want %d, nil", n, err, total-half)
	}
	close(gate)
	pollFor(t, 30*time.Second, "every response processed", func() bool {
		return b.count(t, `SELECT count(*) FROM responses WHERE status = 'processed'`) == total
	})

	// Nothing lost, nothing done twice: one lead, one creation and one
	// engagement per response, and nothing left to sweep.
	got := map[string]int{
		"leads":           b.count(t, `SELECT count(*) FROM leads`),
		"created audit":   b.count(t, `SELECT count(*) FROM lead_audit WHERE action = 'created'`),
		"other audit":     b.count(t, `SELECT count(*) FROM lead_audit WHERE action <> 'created'`),
		"engagement":      b.count(t, `SELECT count(*) FROM engagement_events`),
		"distinct leads":  b.count(t, `SELECT count(DISTINCT lead_id) FROM responses`),
		"still pending":   b.count(t, `SELECT count(*) FROM responses WHERE status <> 'processed'`),
		"no processed_at": b.count(t, `SELECT count(*) FROM responses WHERE processed_at IS NULL`),
	}
	want := map[string]int{"leads": total, "created audit": total, "other audit": 0, "engagement": total,
		"distinct leads": total, "still pending": 0, "no processed_at": 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after recovery (-want +got):\n%s", diff)
	}
	if n, err := sweeper.SweepOnce(b.ctx); err != nil || n != 0 {
		t.Errorf("SweepOnce once all is done = %d, %v; want 0, nil", n, err)
	}
}

func TestNewSweeperValidates(t *testing.T) {
	t.Parallel()
	s := storetest.NewStore(t)
	queue := &switchableQueue{}
	tests := []struct {
		name string
		cfg  capture.SweeperConfig
	}{
		{"no store", capture.SweeperConfig{Enqueuer: queue}},
		{"no enqueuer", capture.SweeperConfig{Store: s}},
		{"negative interval", capture.SweeperConfig{Store: s, Enqueuer: queue, Interval: -time.Second}},
	}
	for _, tt := range tests {
		if _, err := capture.NewSweeper(tt.cfg); err == nil {
			t.Errorf("%s: NewSweeper accepted it", tt.name)
		}
	}
}
