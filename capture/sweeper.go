package capture

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"leadflow/store"
)

// Sweeper defaults. The interval bounds how long a dead worker's response
// waits. Asynq drops a killed server's state within 11 s (two 5 s heartbeats,
// rounded to the second); the next sweep then finds the task the server was
// seen working on unclaimed, so it is queued again at most 11 + 5 = 16 s
// after the kill. A task taken in the last heartbeat before the kill was
// never published: it is queued once it has stayed unclaimed for orphanGrace
// (6 s), at most 5 + 10 = 15 s after the kill.
const (
	DefaultSweepInterval  = 5 * time.Second
	DefaultSweepMinAge    = 10 * time.Second
	DefaultSweepBatchSize = 1000
)

// pendingEvery is how many sweeps apart Run reads the pending responses
// (every 30 s by default). That read costs as much as the backlog is long,
// and what it finds (responses whose enqueue failed) is not in a hurry; the
// dead-worker check, bounded by the workers' concurrency, runs every sweep.
const pendingEvery = 6

// SweeperConfig configures a Sweeper.
type SweeperConfig struct {
	Store    *store.Store
	Enqueuer Enqueuer
	Logger   *slog.Logger
	// Interval is the time between sweeps for dead workers' responses;
	// pending responses are read every pendingEvery sweeps.
	// DefaultSweepInterval when zero.
	Interval time.Duration
	// MinAge leaves responses younger than this to the enqueue that follows
	// their commit; DefaultSweepMinAge when zero.
	MinAge time.Duration
	// BatchSize is how many pending responses are read at a time;
	// DefaultSweepBatchSize when zero.
	BatchSize int
	// Inspector, when set, lets the sweeper queue again at once the responses
	// of a worker that died mid-task, and replace archived tasks that hold a
	// pending response's ID. Without it those wait for Asynq's own recovery
	// (a minute or more) or for ever.
	Inspector TaskInspector
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Sweeper re-enqueues committed responses whose processing never happened:
// Redis was down when they were posted, or lost their tasks since, or the
// worker running them died. Postgres
// is the record of the work; the queue can always be rebuilt from it, and
// since a task's ID is its response's ID, enqueueing one already queued is
// harmless.
type Sweeper struct {
	store     *store.Store
	enqueuer  Enqueuer
	logger    *slog.Logger
	interval  time.Duration
	minAge    time.Duration
	batchSize int
	inspector TaskInspector
	now       func() time.Time

	orphanMu sync.Mutex
	// seen is what the last sweep saw of each active response task.
	seen map[string]activeSeen
}

// NewSweeper builds a Sweeper, applying defaults.
func NewSweeper(cfg SweeperConfig) (*Sweeper, error) {
	if cfg.Store == nil {
		return nil, errors.New("sweeper: store is required")
	}
	if cfg.Enqueuer == nil {
		return nil, errors.New("sweeper: enqueuer is required")
	}
	if cfg.Interval < 0 || cfg.MinAge < 0 || cfg.BatchSize < 0 {
		return nil, errors.New("sweeper: interval, min age and batch size cannot be negative")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Sweeper{
		inspector: cfg.Inspector,
		now:       now,
		store:     cfg.Store,
		enqueuer:  cfg.Enqueuer,
		logger:    cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
		interval:  cmp.Or(cfg.Interval, DefaultSweepInterval),
		minAge:    cmp.Or(cfg.MinAge, DefaultSweepMinAge),
		batchSize: cmp.Or(cfg.BatchSize, DefaultSweepBatchSize),
	}, nil
}

// Run sweeps at once and then every interval until ctx is done. A failed
// sweep (Redis or Postgres away) is logged and tried again at the next tick.
func (s *Sweeper) Run(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for i := 0; ; i++ {
		var n int
		var err error
		if i%pendingEvery == 0 {
			n, err = s.SweepOnce(ctx)
		} else {
			n, err = s.recoverOrphans(ctx)
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			s.logger.WarnContext(ctx, "response sweep failed", "enqueued", n, "error", err)
		case n > 0:
			s.logger.InfoContext(ctx, "pending responses enqueued", "enqueued", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// SweepOnce queues again the responses of dead workers' tasks, then enqueues
// every pending response older than the minimum age, oldest first, a batch at
// a time, and reports how many it enqueued (or found queued already). It
// stops at the first enqueue that fails: the rest wait for the next sweep.
//
// It also enqueues every import still processing: its task's ID is the
// import's, so one already queued or running makes this a no-op, and one
// lost (Redis flushed, the task deleted) is queued again and resumes where
// the import's rows say it stopped.
func (s *Sweeper) SweepOnce(ctx context.Context) (int, error) {
	recovered, orphanErr := s.recoverOrphans(ctx)
	n, err := s.sweepPending(ctx)
	imports, importErr := s.sweepImports(ctx)
	return recovered + n + imports, errors.Join(orphanErr, err, importErr)
}

// sweepImportsLimit bounds the imports one sweep enqueues; the next sweep
// takes the rest.
const sweepImportsLimit = 100

// sweepImports enqueues the imports not finished.
func (s *Sweeper) sweepImports(ctx context.Context) (int, error) {
	ims, err := s.store.ProcessingImports(ctx, sweepImportsLimit)
	if err != nil {
		return 0, fmt.Errorf("sweep imports: %w", err)
	}
	for i, im := range ims {
		if err := EnqueueImport(ctx, s.enqueuer, im.WorkspaceID, im.ID); err != nil {
			return i, fmt.Errorf("sweep imports: %w", err)
		}
	}
	return len(ims), nil
}

// sweepPending enqueues the pending responses older than the minimum age.
func (s *Sweeper) sweepPending(ctx context.Context) (int, error) {
	// Everything received before the sweep started and old enough; responses
	// arriving meanwhile belong to their own enqueue or the next sweep, which
	// also bounds a sweep that could otherwise chase a steady stream.
	before := time.Now().Add(-s.minAge)
	var cursor store.PendingResponse
	enqueued := 0
	for {
		batch, err := s.store.PendingResponses(ctx, before, cursor, s.batchSize)
		if err != nil {
			return enqueued, fmt.Errorf("sweep responses: %w", err)
		}
		for _, r := range batch {
			if err := s.enqueue(ctx, r.ID, processTaskID(r.ID)); err != nil {
				return enqueued, fmt.Errorf("sweep responses: %w", err)
			}
			enqueued++
		}
		if len(batch) < s.batchSize {
			return enqueued, nil
		}
		cursor = batch[len(batch)-1]
	}
}
