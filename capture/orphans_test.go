package capture_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"leadflow/capture"
	"leadflow/store"
	"leadflow/store/storetest"
)

// startWorkerProcess starts a worker process on the database and Redis
// (killed when the test ends) and waits until it takes tasks.
func startWorkerProcess(t *testing.T, dbURL, redisURL string) *storetest.Process {
	t.Helper()
	return storetest.StartProcess(t, workerEnv, testWorkerConfig{DatabaseURL: dbURL, RedisURL: redisURL})
}

// setupWorkerOn is setupWorker on a database whose URL the test keeps, for
// the worker processes it starts.
func setupWorkerOn(t *testing.T) (*workerBundle, string) {
	t.Helper()
	ctx := context.Background()
	dbURL := storetest.DatabaseURL(t)
	s, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(s.Close)
	proc, err := capture.NewProcessor(capture.ProcessorConfig{Store: s})
	if err != nil {
		t.Fatalf("NewProcessor: %v", err)
	}
	b := &workerBundle{ctx: ctx, store: s, proc: proc}
	b.ws = b.newWorkspace(t, "acme-marketing")
	b.form = b.newForm(t, b.ws, nil)
	return b, dbURL
}

func newInspector(t *testing.T, redisURL string) *asynq.Inspector {
	t.Helper()
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatalf("parse redis url: %v", err)
	}
	i := asynq.NewInspector(opt)
	t.Cleanup(func() { i.Close() })
	return i
}

// workedOn reports whether a live server says it is working on the task.
func workedOn(t *testing.T, inspector *asynq.Inspector, taskID string) bool {
	t.Helper()
	servers, err := inspector.Servers()
	if err != nil {
		t.Fatalf("Servers: %v", err)
	}
	for _, s := range servers {
		for _, w := range s.ActiveWorkers {
			if w.TaskID == taskID {
				return true
			}
		}
	}
	return false
}

// A worker killed in the middle of a response: the sweeper sees that no live
// server works on its task and queues the response again under an ID of its
// own, so another worker takes it up long before Asynq gives the dead task
// back, and the person still gets one lead.
func TestKilledWorkerResponsesTakenUpWithinTheSweep(t *testing.T) {
	t.Parallel()
	b, dbURL := setupWorkerOn(t)
	redisURL := storetest.RedisURL(t)
	client := newQueueClient(t, redisURL)
	id := b.newResponse(t, b.form, personFields(t, "kim@example.com", "Kim", "Park", "Globex"))

	first := startWorkerProcess(t, dbURL, redisURL)
	if err := capture.EnqueueProcess(b.ctx, client, id); err != nil {
		t.Fatalf("EnqueueProcess: %v", err)
	}
	first.WaitFor(t, "enrolling "+id.String(), 30*time.Second)
	// Killed once its server has published the task, as a worker busy for a
	// while would be: the dead server's state must expire first.
	inspector := newInspector(t, redisURL)
	pollFor(t, 15*time.Second, "the first worker publishing its task", func() bool { return workedOn(t, inspector, taskIDs(id)[0]) })
	first.Kill()
	killed := time.Now()
	if got := b.response(t, b.ws, id).Status; got != store.ResponsePending {
		t.Fatalf("after the kill the response is %s, want pending (the dead transaction rolled back)", got)
	}

	sweeper, err := capture.NewSweeper(capture.SweeperConfig{Store: b.store, Enqueuer: client, Inspector: inspector})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.ctx)
	ran := make(chan error, 1)
	go func() { ran <- sweeper.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("sweeper Run: %v", err)
		}
	})
	var runs atomic.Int64
	startWorkers(t, redisURL, 2, asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		runs.Add(1)
		return b.proc.ProcessTask(ctx, task)
	}))
	pollFor(t, 45*time.Second, "the response processed by the second worker", func() bool {
		return b.response(t, b.ws, id).Status == store.ResponseProcessed
	})
	t.Logf("response processed %s after the worker was killed (%d run(s) on the second worker)",
		time.Since(killed).Round(100*time.Millisecond), runs.Load())

	_, canonical := normEmail(t, "kim@example.com")
	got := map[string]int{
		"leads": b.count(t, `SELECT count(*) FROM leads WHERE email_canonical = $1`, canonical),
		"form_submitted": b.count(t, `SELECT count(*) FROM engagement_events e JOIN leads l ON l.id = e.lead_id
			WHERE l.email_canonical = $1 AND e.kind = 'form_submitted'`, canonical),
		"created audit":  b.count(t, `SELECT count(*) FROM lead_audit WHERE action = 'created'`),
		"processed once": b.count(t, `SELECT count(*) FROM responses WHERE id = $1 AND status = 'processed' AND processed_at IS NOT NULL`, id),
	}
	want := map[string]int{"leads": 1, "form_submitted": 1, "created audit": 1, "processed once": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after the recovery (-want +got):\n%s", diff)
	}
	// Asynq gives the dead task back a minute or more later: running it then
	// changes nothing.
	before := b.recordState(t)
	if err := b.proc.ProcessTask(b.ctx, capture.NewProcessTask(id)); err != nil {
		t.Fatalf("the dead task run again: %v", err)
	}
	if diff := cmp.Diff(before, b.recordState(t)); diff != "" {
		t.Errorf("the dead task run again changed records (-before +after):\n%s", diff)
	}
}

// A task a live server is working on is never taken for a dead worker's,
// however long it runs.
func TestOrphanSweepLeavesTaskOfLiveServerAlone(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	redisURL := storetest.RedisURL(t)
	client := newQueueClient(t, redisURL)
	inspector := newInspector(t, redisURL)
	id := b.newResponse(t, b.form, personFields(t, "lou@example.com", "Lou", "Reed", "Initech"))

	started, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	startWorkers(t, redisURL, 1, asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		once.Do(func() { close(started) })
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		return b.proc.ProcessTask(ctx, task)
	}))
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(gate) }) })
	if err := capture.EnqueueProcess(b.ctx, client, id); err != nil {
		t.Fatalf("EnqueueProcess: %v", err)
	}
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the live worker never took the task")
	}
	taskID := taskIDs(id)[0]
	pollFor(t, 15*time.Second, "the live server publishing its task", func() bool { return workedOn(t, inspector, taskID) })

	clock := newTestClock()
	queue := &recordingQueue{Enqueuer: client}
	sweeper, err := capture.NewSweeper(capture.SweeperConfig{Store: b.store, Enqueuer: queue, Inspector: inspector, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := sweeper.SweepOnce(b.ctx); err != nil {
			t.Fatalf("SweepOnce: %v", err)
		}
		clock.Advance(time.Minute)
	}
	if len(queue.ids) != 0 {
		t.Errorf("enqueued %v while a live server works on the response, want nothing", queue.ids)
	}
	release.Do(func() { close(gate) })
	pollFor(t, 30*time.Second, "the response processed", func() bool {
		return b.response(t, b.ws, id).Status == store.ResponseProcessed
	})
}

// An archived task never runs again; while it holds a pending response's ID
// the ordinary re-enqueue counts it as queued, so the sweeper replaces it.
func TestSweepOnceReplacesArchivedTaskOfPendingResponse(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	redisURL := storetest.RedisURL(t)
	client := newQueueClient(t, redisURL)
	inspector := newInspector(t, redisURL)
	id := b.newResponse(t, b.form, personFields(t, "max@example.com", "Max", "Roach", "Hooli"))
	taskID := taskIDs(id)[0]

	// A run that gave up without recording anything.
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	srv := asynq.NewServer(opt, asynq.Config{Concurrency: 1, Queues: map[string]int{capture.Queue: 1}, LogLevel: asynq.FatalLevel})
	mux := asynq.NewServeMux()
	mux.HandleFunc(capture.TypeProcessResponse, func(context.Context, *asynq.Task) error { return asynq.SkipRetry })
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	if err := capture.EnqueueProcess(b.ctx, client, id); err != nil {
		t.Fatalf("EnqueueProcess: %v", err)
	}
	pollFor(t, 30*time.Second, "the task archived", func() bool {
		info, err := inspector.GetTaskInfo(capture.Queue, taskID)
		return err == nil && info.State == asynq.TaskStateArchived
	})
	srv.Shutdown()

	for _, tt := range []struct {
		name      string
		inspector capture.TaskInspector
		want      []string
	}{
		{"without an inspector the archived task blocks the response", nil, nil},
		{"with one it is replaced", inspector, []string{taskID}},
	} {
		queue := &recordingQueue{Enqueuer: client}
		cfg := capture.SweeperConfig{Store: b.store, Enqueuer: queue}
		if tt.inspector != nil {
			cfg.Inspector = tt.inspector
		}
		sweeper, err := capture.NewSweeper(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sweeper.SweepOnce(b.ctx); err != nil {
			t.Fatalf("%s: SweepOnce: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, queue.ids); diff != "" {
			t.Errorf("%s: enqueued (-want +got):\n%s", tt.name, diff)
		}
	}
	info, err := inspector.GetTaskInfo(capture.Queue, taskID)
	if err != nil || info.State != asynq.TaskStatePending {
		t.Fatalf("the response's task after the sweep: %+v, %v; want pending", info, err)
	}
}
