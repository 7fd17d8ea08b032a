package qualify

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/hibiken/asynq"
	"golang.org/x/sync/errgroup"

	"leadflow/store"
)

// Enqueuer puts tasks on the queue; *asynq.Client satisfies it.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Config is what the qualify engine needs.
type Config struct {
	Store   *store.Store
	Queue   Enqueuer
	BaseURL string
	Logger  *slog.Logger
	Now     func() time.Time
	// WebhookAllowNetworks are networks webhooks may reach although they
	// are loopback, private, link-local or otherwise reserved: an
	// operator's choice, for a receiver inside their own network.
	WebhookAllowNetworks []netip.Prefix
	// WebhookTimeout bounds one delivery attempt (default 10s).
	WebhookTimeout time.Duration
	// WebhookWorkers is how many deliveries are posted at once (default
	// 8).
	WebhookWorkers int
	// Resolver looks up a webhook's host when it is saved (default
	// net.DefaultResolver).
	Resolver Resolver
	// Interval is how often the engine's loop runs its jobs (default 1s).
	Interval time.Duration
}

// Engine scores, qualifies, hands off and converts leads.
type Engine struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
	// scoring is the scoring jobs' bookkeeping (score.go).
	scoring scoringState
	// guard keeps webhooks off internal networks; webhookClient dials
	// through it.
	guard         *webhookGuard
	webhookClient *http.Client
}

// New validates cfg and applies its defaults.
func New(cfg Config) (*Engine, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("qualify: Store is required"))
	}
	if cfg.Queue == nil {
		errs = append(errs, errors.New("qualify: Queue is required"))
	}
	if cfg.BaseURL == "" {
		errs = append(errs, errors.New("qualify: BaseURL is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cfg.Interval = cmp.Or(cfg.Interval, time.Second)
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	cfg.WebhookTimeout = cmp.Or(cfg.WebhookTimeout, 10*time.Second)
	cfg.WebhookWorkers = cmp.Or(cfg.WebhookWorkers, 8)
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	guard := newWebhookGuard(cfg.WebhookAllowNetworks, cfg.Resolver)
	return &Engine{cfg: cfg, log: cfg.Logger, now: cfg.Now, guard: guard, webhookClient: guard.client(cfg.WebhookTimeout)}, nil
}

// Run runs the engine's jobs every Interval, and delivers webhooks on
// workers of their own, until ctx ends. Every job works from PostgreSQL with
// FOR UPDATE SKIP LOCKED, so any number of work processes can run it at
// once.
func (e *Engine) Run(ctx context.Context) error {
	var g errgroup.Group
	g.Go(func() error { return e.runWebhooks(ctx) })
	g.Go(func() error { return e.runJobs(ctx) })
	return g.Wait()
}

// runJobs runs the scoring, decay and SLA jobs every Interval.
func (e *Engine) runJobs(ctx context.Context) error {
	t := time.NewTicker(e.cfg.Interval)
	defer t.Stop()
	for {
		e.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce runs every job once but webhook delivery, which has workers of its
// own (Run); tests drive the engine with it.
func (e *Engine) RunOnce(ctx context.Context) {
	for _, job := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"score", e.scorePending},
		{"score_jobs", e.runScoreJobs},
		{"decay", e.decayScores},
		{"sla", e.expireHandoffs},
	} {
		if err := job.run(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("qualify_job_failed", "job", job.name, "err", err)
		}
	}
}
