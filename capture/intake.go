package capture

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"leadflow/embed/httpapi"
	"leadflow/embed/metrics"
	"leadflow/store"
)

// IntakeConfig is what the capture endpoint needs.
type IntakeConfig struct {
	Store *store.Store
	// Enqueuer queues response:process after each commit.
	Enqueuer Enqueuer
	// Redis holds the per-form, per-IP rate-limit counters.
	Redis  redis.UniversalClient
	Logger *slog.Logger
	// MaxBatch is the most responses committed in one transaction
	// (default 256).
	MaxBatch int
	// EnqueueBuffer is how many committed responses may wait for their
	// enqueue (default 10000); past it they are left to the sweeper.
	EnqueueBuffer int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// FormCacheTTL is the longest a form lookup is kept (default 30s). A
	// changed or deleted form is dropped from the cache as soon as
	// PostgreSQL notifies the change; the TTL bounds the rest (see
	// formcache.go).
	FormCacheTTL time.Duration
}

// Intake is the capture endpoint: it reads form posts, keeps each as a
// response, and answers only once the response is committed. Responses are
// committed by one goroutine in batches, so the commit path is one place
// that can be made faster.
type Intake struct {
	store    *store.Store
	forms    *formCache
	enq      Enqueuer
	limiter  *rateLimiter
	log      *slog.Logger
	now      func() time.Time
	maxBatch int

	// ctx is cancelled when Close runs out of time, aborting the commit
	// and enqueues in flight.
	ctx      context.Context
	cancel   context.CancelFunc
	commits  chan *pendingCommit
	enqueues chan uuid.UUID
	workers  sync.WaitGroup
	stopped  chan struct{}
	// stopListening ends the form cache's listener; listening is it.
	stopListening context.CancelFunc
	listening     sync.WaitGroup

	bufferFull, enqueueFailed, databaseDown warnThrottle

	mu      sync.RWMutex
	started bool
	closed  bool
}

// NewIntake builds the capture endpoint. Call Start before serving.
func NewIntake(cfg IntakeConfig) (*Intake, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("new intake: a store is required")
	case cfg.Enqueuer == nil:
		return nil, errors.New("new intake: an enqueuer is required")
	case cfg.Redis == nil:
		return nil, errors.New("new intake: a redis client is required")
	case cfg.MaxBatch < 0:
		return nil, errors.New("new intake: max batch must not be negative")
	case cfg.EnqueueBuffer < 0:
		return nil, errors.New("new intake: enqueue buffer must not be negative")
	case cfg.FormCacheTTL < 0:
		return nil, errors.New("new intake: form cache ttl must not be negative")
	}
	log := cmp.Or(cfg.Logger, slog.Default())
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	maxBatch := cmp.Or(cfg.MaxBatch, 256)
	ctx, cancel := context.WithCancel(context.Background())
	return &Intake{
		store:    cfg.Store,
		forms:    newFormCache(cfg.Store, cmp.Or(cfg.FormCacheTTL, defaultFormCacheTTL), now, log),
		enq:      cfg.Enqueuer,
		limiter:  &rateLimiter{rdb: cfg.Redis, log: log},
		log:      log,
		now:      now,
		maxBatch: maxBatch,
		ctx:      ctx,
		cancel:   cancel,
		commits:  make(chan *pendingCommit, maxBatch),
		enqueues: make(chan uuid.UUID, cmp.Or(cfg.EnqueueBuffer, 10000)),
		stopped:  make(chan struct{}),
	}, nil
}

// Start starts the committer and the enqueuers.
func (in *Intake) Start() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.started || in.closed {
		return
	}
	in.started = true
	lctx, stop := context.WithCancel(context.Background())
	in.stopListening = stop
	in.listening.Go(func() { in.forms.run(lctx) })
	in.workers.Go(in.runCommitter)
	for range enqueueWorkers {
		in.workers.Go(in.runEnqueuer)
	}
	go func() {
		in.workers.Wait()
		close(in.stopped)
	}()
}

// Close stops accepting submissions, commits those already handed over and
// waits for their enqueues. When ctx ends first, what is left is abandoned:
// uncommitted waiters get an error (they were never told 2xx), and
// committed responses not yet enqueued are left to the sweeper.
func (in *Intake) Close(ctx context.Context) error {
	in.mu.Lock()
	started := in.started
	if !in.closed {
		in.closed = true
		if started {
			close(in.commits)
		}
	}
	in.mu.Unlock()
	if !started {
		in.cancel()
		return nil
	}
	in.stopListening()
	in.listening.Wait()
	select {
	case <-in.stopped:
		in.cancel()
		return nil
	case <-ctx.Done():
		in.cancel()
		<-in.stopped
		return fmt.Errorf("close intake: %w", ctx.Err())
	}
}

// IntakeRoutes registers the capture endpoint.
func IntakeRoutes(e *echo.Echo, in *Intake) {
	e.POST("/f/:key", in.handleSubmit)
	e.OPTIONS("/f/:key", in.handlePreflight)
}

// formKeyPattern is the shape of a form key (as the schema checks it), so
// junk never reaches the database.
var formKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{3,64}$`)

func (in *Intake) form(ctx context.Context, key string) (store.Form, error) {
	if !formKeyPattern.MatchString(key) {
		return store.Form{}, store.ErrNotFound
	}
	return in.forms.get(ctx, key)
}

var errFormNotFound = httpapi.ErrorBody{Code: "not_found", Message: "This form does not exist."}

// handleSubmit takes one form post: POST /f/:key.
func (in *Intake) handleSubmit(c echo.Context) error {
	req := c.Request()
	ctx := req.Context()
	now := in.now()
	form, err := in.form(ctx, c.Param("key"))
	outcome := metrics.PostError
	defer func() { metrics.FormPost(form.ID, outcome) }()
	if errors.Is(err, store.ErrNotFound) {
		outcome = metrics.PostNotFound
		return replyError(c, http.StatusNotFound, errFormNotFound)
	}
	if store.Unavailable(err) {
		outcome = metrics.PostUnavailable
		return in.replyDatabaseDown(c, err)
	}
	if err != nil {
		return err
	}
	if origin, ok := corsOrigin(req, form); ok {
		c.Response().Header().Set(echo.HeaderAccessControlAllowOrigin, origin)
		c.Response().Header().Add(echo.HeaderVary, echo.HeaderOrigin)
	}
	ip := c.RealIP()
	if ok, retryAfter := in.limiter.allow(ctx, form.ID, ip, form.RateLimitPerMinute, now); !ok {
		outcome = metrics.PostRateLimited
		return replyRateLimited(c, retryAfter)
	}
	outcome = metrics.PostRefused
	sub, err := readSubmission(c.Response(), req, form)
	if err != nil {
		return replyRefused(c, err)
	}
	got, err := mapFields(form, sub.raw)
	if err != nil {
		return replyRefused(c, err)
	}
	outcome = metrics.PostError
	fields, err := json.Marshal(got.fields)
	if err != nil {
		return fmt.Errorf("encode fields: %w", err)
	}
	r := store.Response{
		ID:          store.NewID(),
		WorkspaceID: form.WorkspaceID,
		FormID:      form.ID,
		ReceivedAt:  now,
		IP:          clientAddr(ip),
		UserAgent:   truncate(NormalizeLine(req.UserAgent()), 512),
		Referrer:    truncate(NormalizeLine(req.Referer()), 2048),
		Raw:         sub.raw,
		Fields:      fields,
		Custom:      got.custom,
		UTM:         got.utm,
		LeadSource:  got.fields.LeadSource,
		Campaign:    got.campaign,
		Verdict:     store.VerdictOK,
		Status:      store.ResponsePending,
	}
	// A spam response is kept, held, and answered like any other: telling
	// a bot it was caught teaches it to get past.
	if reason := spamReason(form.HoneypotField, sub.raw, got.postedNames...); reason != "" {
		r.Verdict, r.VerdictReason, r.Status = store.VerdictSpam, reason, store.ResponseHeld
	}
	files := make([]store.ResponseFile, 0, len(sub.files))
	for _, f := range sub.files {
		files = append(files, store.ResponseFile{
			ID:          store.NewID(),
			ResponseID:  r.ID,
			Field:       f.field,
			Filename:    f.filename,
			ContentType: f.contentType,
			Size:        len(f.data),
			Data:        f.data,
		})
	}
	if err := in.commit(ctx, r, files); err != nil {
		switch {
		case errors.Is(err, errNotAccepting), errors.Is(err, context.Canceled) && ctx.Err() == nil:
			// Not started, or closing and out of time for this one.
			outcome = metrics.PostUnavailable
			return replyUnavailable(c, "The service is restarting. Please send the form again in a moment.")
		case store.Unavailable(err):
			outcome = metrics.PostUnavailable
			return in.replyDatabaseDown(c, err)
		}
		return fmt.Errorf("commit response: %w", err)
	}
	outcome = metrics.PostAccepted
	if r.Verdict == store.VerdictSpam {
		outcome = metrics.PostSpam
	}
	return replyAccepted(c, form, r.ID, got.returnURL)
}

// handlePreflight answers a browser's CORS preflight for a form's allowed
// origins: OPTIONS /f/:key.
func (in *Intake) handlePreflight(c echo.Context) error {
	form, err := in.form(c.Request().Context(), c.Param("key"))
	if errors.Is(err, store.ErrNotFound) {
		return c.NoContent(http.StatusNotFound)
	}
	if store.Unavailable(err) {
		in.logDatabaseDown(err)
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(retryAfterUnavailable/time.Second)))
		return c.NoContent(http.StatusServiceUnavailable)
	}
	if err != nil {
		return err
	}
	origin, ok := corsOrigin(c.Request(), form)
	if !ok {
		return c.NoContent(http.StatusForbidden)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderAccessControlAllowOrigin, origin)
	h.Set(echo.HeaderAccessControlAllowMethods, http.MethodPost)
	h.Set(echo.HeaderAccessControlAllowHeaders, "Content-Type, Accept")
	h.Set(echo.HeaderAccessControlMaxAge, "600")
	h.Add(echo.HeaderVary, echo.HeaderOrigin)
	return c.NoContent(http.StatusNoContent)
}

// replyDatabaseDown answers a post that PostgreSQL could not take (it is
// down, or did not answer in time): 503 with Retry-After, never a 500, since
// the same post will work once the database is back.
func (in *Intake) replyDatabaseDown(c echo.Context, err error) error {
	in.logDatabaseDown(err)
	return replyUnavailable(c, "The form cannot be received right now. Please send it again in a moment.")
}

// logDatabaseDown logs an outage once per interval rather than once per
// post: under load, a line per post would bury everything else.
func (in *Intake) logDatabaseDown(err error) {
	if n, ok := in.databaseDown.hit(in.now()); ok {
		in.log.Error("capture_database_unavailable", "error", err, "count", n)
	}
}

// clientAddr parses the client IP for the inet column; nil when there is
// none worth keeping.
func clientAddr(ip string) *netip.Addr {
	addr, err := netip.ParseAddr(strings.Trim(ip, "[]"))
	if err != nil {
		return nil
	}
	addr = addr.Unmap().WithZone("")
	return &addr
}
