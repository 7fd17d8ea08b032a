package nurture

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/store"
)

// Queue is the Asynq queue nurture's tasks run on.
const Queue = "nurture"

// Enqueuer puts tasks on the queue; *asynq.Client satisfies it.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// SMTPConfig is where email goes.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	// TLS is "none", "starttls" (the default when a port is 587) or "tls"
	// (implicit, port 465).
	TLS string
	// HELO name; the host of BaseURL when empty.
	HeloName string
}

// Config is what the nurture engine needs.
type Config struct {
	Store   *store.Store
	Queue   Enqueuer
	Redis   redis.UniversalClient
	Signer  *Signer
	BaseURL string
	SMTP    SMTPConfig
	Logger  *slog.Logger
	Now     func() time.Time

	// SchedulerInterval is how often due enrollments and unsent messages
	// are looked for (default 1s).
	SchedulerInterval time.Duration
	// Lease is how long a step or message put on the queue is left to its
	// task before the scheduler puts it there again (default 1m).
	Lease time.Duration
}

// Engine enrolls leads, runs sequence steps, sends and tracks email.
type Engine struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// New validates cfg and applies its defaults.
func New(cfg Config) (*Engine, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("nurture: Store is required"))
	}
	if cfg.Queue == nil {
		errs = append(errs, errors.New("nurture: Queue is required"))
	}
	if cfg.Signer == nil {
		errs = append(errs, errors.New("nurture: Signer is required"))
	}
	if cfg.BaseURL == "" {
		errs = append(errs, errors.New("nurture: BaseURL is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cfg.SchedulerInterval = cmp.Or(cfg.SchedulerInterval, time.Second)
	cfg.Lease = cmp.Or(cfg.Lease, time.Minute)
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Engine{cfg: cfg, log: cfg.Logger, now: cfg.Now}, nil
}
