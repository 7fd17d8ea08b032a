package nurture

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/store"
)

// Queue is the Asynq queue nurture's tasks run on.
const Queue = "nurture"

// DefaultLease is how long work put on the queue is left to its task
// before another may take it up, unless Config says otherwise.
const DefaultLease = 15 * time.Second

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
	// PoolSize is how many connections each engine keeps open and sends
	// on at once (default 4). Sends beyond it wait for a connection before
	// they claim their attempt.
	PoolSize int
	// Timeout bounds dialling and each message's SMTP transaction
	// (default 30s). The message's lease is kept alive meanwhile.
	Timeout time.Duration
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
	// CanonicalEmail gives the canonical form of an address, the one
	// suppressions and leads are keyed by; cmd wires capture's
	// normalisation, which owns that rule. Nil lower-cases and trims, which
	// misses +tags and Gmail dots.
	CanonicalEmail func(email string) (canonical string, err error)

	// SchedulerInterval is how often due enrollments and unsent messages
	// are looked for (default 1s).
	SchedulerInterval time.Duration
	// Lease is how long a step or message put on the queue is left to its
	// task before the scheduler puts it there again (default 15s): work in
	// progress keeps its lease alive, so this is about how soon the work
	// of a worker that died is taken up by another.
	Lease time.Duration
	// BatchSize is how many due enrollments, or queued messages, the
	// scheduler takes from PostgreSQL at a time (default 1000).
	BatchSize int
	// MaxQueued is how many nurture tasks may wait on the queue before the
	// scheduler stops adding more (default 20000): past that, due work
	// waits in PostgreSQL, so Redis's memory does not grow with the number
	// of enrollments due at once.
	MaxQueued int
	// MaxAttempts is how many times a message, or an enrollment's step, is
	// tried before a failure is taken as final and it is marked failed
	// (default 10); retried by hand, it gets as many again.
	MaxAttempts int
	// ConfirmLimit bounds the confirmation emails form posts can make.
	ConfirmLimit ConfirmLimit
	// RetryDelay is how long a message waits after its attempt number n
	// (from 1) failed temporarily (default: 30s doubling to at most 1h,
	// with jitter).
	RetryDelay func(attempt int) time.Duration
}

// Engine enrolls leads, runs sequence steps, sends and tracks email.
type Engine struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	mailer  *mailer
	limiter *rateLimiter
	// inspector counts the tasks waiting on the queue.
	inspector *asynq.Inspector
	// msgHost is the domain of Message-IDs: BaseURL's host.
	msgHost string
	// health is when PostgreSQL last failed this process.
	health dbHealth
	// held are sent messages whose sending is not recorded yet.
	held *heldSends
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
	cfg.Lease = cmp.Or(cfg.Lease, DefaultLease)
	cfg.BatchSize = cmp.Or(cfg.BatchSize, 1000)
	cfg.MaxQueued = cmp.Or(cfg.MaxQueued, 20000)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, 10)
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	if cfg.RetryDelay == nil {
		cfg.RetryDelay = defaultRetryDelay
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.SMTP.PoolSize = cmp.Or(cfg.SMTP.PoolSize, 4)
	cfg.SMTP.Timeout = cmp.Or(cfg.SMTP.Timeout, 30*time.Second)
	if cfg.SchedulerInterval < 0 || cfg.Lease < 0 || cfg.BatchSize < 0 || cfg.MaxQueued < 0 || cfg.MaxAttempts < 0 ||
		cfg.SMTP.PoolSize < 0 || cfg.SMTP.Timeout < 0 {
		return nil, errors.New("nurture: intervals, sizes and counts cannot be negative")
	}
	// Leases are renewed every third of one: under a second, a busy
	// database could not keep up with the renewals.
	if cfg.Lease < time.Second {
		return nil, fmt.Errorf("nurture: the lease (%s) must be at least 1s", cfg.Lease)
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || base.Hostname() == "" {
		return nil, fmt.Errorf("nurture: BaseURL %q is not an absolute URL", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	e := &Engine{cfg: cfg, log: cfg.Logger, now: cfg.Now, msgHost: base.Hostname(), held: newHeldSends()}
	e.health.failed(cfg.Now())
	if cfg.SMTP.HeloName == "" {
		e.cfg.SMTP.HeloName = base.Hostname()
	}
	if cfg.SMTP.Host != "" {
		if e.mailer, err = newMailer(e.cfg.SMTP); err != nil {
			return nil, err
		}
	}
	if cfg.Redis != nil {
		e.limiter = newRateLimiter(cfg.Redis)
		e.inspector = asynq.NewInspectorFromRedisClient(cfg.Redis)
	}
	return e, nil
}

// Close waits, up to a lease, for sent messages held unrecorded to be
// recorded, and closes the engine's SMTP connections.
func (e *Engine) Close() error {
	e.closeHeld(e.cfg.Lease)
	if e.mailer == nil {
		return nil
	}
	return e.mailer.close()
}

// Handlers registers the engine's task handlers: running an enrollment's
// step and sending a message. Their tasks go to Queue, which the server
// must serve.
func (e *Engine) Handlers(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeStep, e.handleStep)
	mux.HandleFunc(TypeSend, e.handleSend)
}

// defaultRetryDelay waits 30s after a first temporary failure, doubling to
// at most an hour, give or take a fifth so that messages failed together
// do not come back together.
func defaultRetryDelay(attempt int) time.Duration {
	d := time.Hour
	if attempt < 8 {
		d = min(time.Hour, 30*time.Second<<max(attempt-1, 0))
	}
	jitter := time.Duration(rand.Int64N(int64(d)/5+1)) - d/10
	return d + jitter
}
