package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"leadflow/capture"
	"leadflow/embed"
	"leadflow/embed/httpapi"
	"leadflow/embed/openapi"
	"leadflow/nurture"
	"leadflow/qualify"
	"leadflow/store"
)

// services are the connections every long-running command shares.
type services struct {
	// store is the pool of the face being built (see on): in serveHTTP the
	// admin API's, in runWorkers the workers'.
	store *store.Store
	// The process's pools, one per kind of work and each opened only when
	// the process does that work (nil otherwise): capture serves form
	// posts, hosted forms, tracking and /readyz; api the admin API, under
	// a statement timeout; work the workers, scheduler and sweepers.
	capture, api, work *store.Store
	rdb                redis.UniversalClient
	queue              *asynq.Client
}

// on returns the services as one face of the process sees them: st as its
// store.
func (s *services) on(st *store.Store) *services {
	c := *s
	c.store = st
	return &c
}

// openServices connects to PostgreSQL (the pools that serving and/or working
// need, refusing a stale schema) and Redis. Redis being down is not fatal:
// capture keeps committing responses and the sweepers catch up once it is
// back.
func openServices(ctx context.Context, cfg Config, log *slog.Logger, serve, work bool) (_ *services, err error) {
	svc := &services{}
	defer func() {
		if err != nil {
			svc.closePools()
		}
	}()
	open := func(need bool, pc store.PoolConfig) (*store.Store, error) {
		if !need {
			return nil, nil
		}
		return store.OpenPool(ctx, cfg.DatabaseURL, pc)
	}
	if svc.capture, err = open(serve, store.PoolConfig{Name: "leadflow-capture", MaxConns: cfg.Pools.Capture}); err != nil {
		return nil, err
	}
	if svc.api, err = open(serve, store.PoolConfig{Name: "leadflow-api", MaxConns: cfg.Pools.API, StatementTimeout: cfg.Pools.APIStatementTimeout}); err != nil {
		return nil, err
	}
	if svc.work, err = open(work, store.PoolConfig{Name: "leadflow-work", MaxConns: cfg.Pools.Work}); err != nil {
		return nil, err
	}
	if err := cmp.Or(svc.capture, svc.work).CheckSchema(ctx); err != nil {
		return nil, err
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, errors.New("parse redis url: invalid (want redis://[:password@]host:port/db or rediss://...)")
	}
	// go-redis logs through one process-wide logger, so it is set here on
	// the run path rather than in init: a process runs one command, and
	// its lines then go where that command's logs go, JSON staying JSON.
	redis.SetLogger(redisLogger{log})
	rdb := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		log.Warn("redis_unreachable_at_start", "err", err)
	}
	svc.rdb, svc.queue = rdb, asynq.NewClientFromRedisClient(rdb)
	return svc, nil
}

func (s *services) close() {
	s.queue.Close()
	s.rdb.Close()
	s.closePools()
}

func (s *services) closePools() {
	for _, st := range []*store.Store{s.capture, s.api, s.work} {
		if st != nil {
			st.Close()
		}
	}
}

// runOptions are the knobs tests and the dev command turn.
type runOptions struct {
	serve, work bool
	// onListen is told the address the HTTP server listens on.
	onListen func(addr string)
	// taskCheckInterval is how often idle workers look for tasks.
	taskCheckInterval time.Duration
	// routes adds routes to the HTTP server (the dev mail viewer).
	routes func(e *echo.Echo)
}

// cmdRun is `run`, `serve` and `work`.
func cmdRun(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, serve, work bool) error {
	name := map[[2]bool]string{{true, true}: "run", {true, false}: "serve", {false, true}: "work"}[[2]bool{serve, work}]
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	finish := configFlags(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := finish()
	if err = errors.Join(err, cfg.requireServices()); err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := newLogger(cfg, stderr)
	return runWith(ctx, cfg, log, runOptions{serve: serve, work: work})
}

// domains are the three domains' engines, built for each face of a process
// (public traffic, the admin API, the workers) on that face's pool.
type domains struct {
	processor *capture.Processor
	importer  *capture.Importer
	nurture   *nurture.Engine
	qualify   *qualify.Engine
}

func buildDomains(cfg Config, log *slog.Logger, svc *services) (*domains, error) {
	signer, err := cfg.Links.signer(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	var smtp nurture.SMTPConfig
	if cfg.SMTPURL != "" {
		if smtp, err = parseSMTPURL(cfg.SMTPURL); err != nil {
			return nil, err
		}
	}
	smtp.PoolSize = cfg.SMTPConnections
	nur, err := nurture.New(nurture.Config{
		Store: svc.store, Queue: svc.queue, Redis: svc.rdb, Signer: signer, BaseURL: cfg.BaseURL,
		SMTP: smtp, Logger: log, ConfirmLimit: cfg.Links.confirmLimit(), MaxAttempts: cfg.NurtureMaxAttempts,
		CanonicalEmail: func(email string) (string, error) {
			_, canonical, err := capture.NormalizeEmail(email)
			return canonical, err
		},
	})
	if err != nil {
		return nil, err
	}
	processor, err := capture.NewProcessor(capture.ProcessorConfig{Store: svc.store, Logger: log, Enroller: nur, MaxAttempts: cfg.ResponseMaxAttempts})
	if err != nil {
		nur.Close()
		return nil, err
	}
	qual, err := qualify.New(qualify.Config{
		Store: svc.store, Queue: svc.queue, BaseURL: cfg.BaseURL, Logger: log,
		WebhookAllowNetworks: cfg.WebhookAllowNetworks,
	})
	if err != nil {
		nur.Close()
		return nil, err
	}
	importer, err := capture.NewImporter(capture.ImporterConfig{Store: svc.store, Resolver: processor, Logger: log})
	if err != nil {
		nur.Close()
		return nil, err
	}
	return &domains{processor: processor, importer: importer, nurture: nur, qualify: qual}, nil
}

// runWith opens the services and runs the HTTP server and/or the workers
// until ctx is done, then shuts down in order: stop HTTP intake, drain the
// commit path, drain workers, close pools.
func runWith(ctx context.Context, cfg Config, log *slog.Logger, opts runOptions) error {
	log.Info("starting", "version", version, "serve", opts.serve, "work", opts.work, "config", cfg.String())
	svc, err := openServices(ctx, cfg, log, opts.serve, opts.work)
	if err != nil {
		return err
	}
	defer svc.close()
	if opts.work && cfg.SMTPURL == "" {
		log.Warn("smtp_not_configured", "hint", "set LEADFLOW_SMTP_URL; emails stay queued until it is")
	}
	// Each face gets the domains' engines on its own pool: public traffic
	// (tracking links) on capture's, the admin API on its own, the workers
	// on theirs.
	var built []*domains
	defer func() {
		for _, d := range built {
			d.nurture.Close()
		}
	}()
	build := func(st *store.Store) (*domains, error) {
		d, err := buildDomains(cfg, log, svc.on(st))
		if err == nil {
			built = append(built, d)
		}
		return d, err
	}
	var public, admin, worker *domains
	if opts.serve {
		if public, err = build(svc.capture); err == nil {
			admin, err = build(svc.api)
		}
	}
	if err == nil && opts.work {
		worker, err = build(svc.work)
	}
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	if opts.serve {
		g.Go(func() error { return serveHTTP(gctx, cfg, log, svc.on(svc.api), admin, public, opts) })
	}
	if opts.work {
		g.Go(func() error { return runWorkers(gctx, cfg, log, svc.on(svc.work), worker, opts) })
	}
	if cfg.MetricsAddr != "" {
		g.Go(func() error { return serveMetrics(gctx, cfg, log, svc) })
	}
	err = g.Wait()
	log.Info("stopped")
	return err
}

// serveHTTP serves the admin API on svc's store with d, and public traffic
// (capture, hosted forms, tracking, /readyz) on the capture pool with public.
func serveHTTP(ctx context.Context, cfg Config, log *slog.Logger, svc *services, d, public *domains, opts runOptions) error {
	intake, err := capture.NewIntake(capture.IntakeConfig{Store: svc.capture, Enqueuer: svc.queue, Redis: svc.rdb, Logger: log})
	if err != nil {
		return err
	}
	captureAPI, err := capture.NewAPI(capture.APIConfig{Store: svc.store, Enqueuer: svc.queue, Merger: d.processor, Releaser: d.processor,
		Retrier: d.processor, Tasks: asynq.NewInspectorFromRedisClient(svc.rdb), Mailer: d.nurture,
		Referrer: d.processor, Unsuppressor: d.nurture, Importer: d.importer, Logger: log})
	if err != nil {
		return err
	}
	nurtureAPI, err := nurture.NewAPI(nurture.APIConfig{Store: svc.store, Enroller: d.nurture, BaseURL: cfg.BaseURL, Logger: log})
	if err != nil {
		return err
	}
	qualifyAPI, err := qualify.NewAPI(qualify.APIConfig{Engine: d.qualify, Logger: log})
	if err != nil {
		return err
	}
	site, err := embed.New(embed.Config{Store: svc.capture, BaseURL: cfg.BaseURL, Logger: log})
	if err != nil {
		return err
	}
	con, err := newConsole(cfg, log, svc)
	if err != nil {
		return err
	}
	qualifyPages, err := qualify.NewPages(qualify.PagesConfig{Engine: d.qualify, Console: con, Logger: log})
	if err != nil {
		return err
	}
	nurturePages, err := nurture.NewPages(nurture.PagesConfig{Console: con, API: nurtureAPI, Engine: d.nurture, Logger: log})
	if err != nil {
		return err
	}
	capturePages, err := capture.NewPages(captureAPI, con, func(f store.Form) (string, error) {
		sn, err := site.Snippet(f)
		return sn.HTML, err
	})
	if err != nil {
		return err
	}
	intake.Start()
	e := newEcho(log, cfg.TrustedProxies)
	// Alive, and which build: {"status":"ok","version":"..."}.
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": version})
	})
	e.GET("/readyz", func(c echo.Context) error {
		pctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		// Ready means able to take form posts: the capture pool answers.
		if err := svc.capture.Pool.Ping(pctx); err != nil {
			return c.String(http.StatusServiceUnavailable, "database unreachable\n")
		}
		return c.String(http.StatusOK, "ok\n")
	})
	// Public: form capture, hosted forms, tracking, unsubscribe, confirmation,
	// cancelling a registration.
	capture.IntakeRoutes(e, intake)
	site.Routes(e)
	nurture.TrackingRoutes(e, public.nurture, nurture.TrackingConfig{
		ProcessResponse: func(ctx context.Context, id uuid.UUID) error { return capture.EnqueueProcess(ctx, svc.queue, id) },
	})
	nurture.RegistrationLinkRoutes(e, public.nurture, nurture.RegistrationLinkConfig{
		Registration: captureAPI.LinkedRegistration,
		Cancel: func(ctx context.Context, id uuid.UUID) (bool, error) {
			ch, err := captureAPI.CancelRegistrationFromLink(ctx, id)
			return ch.Changed, err
		},
	})
	// The admin API's OpenAPI document, public; the API behind API keys.
	openapi.Routes(e)
	v1 := e.Group("/api/v1", httpapi.Authenticate(svc.store))
	capture.APIRoutes(v1, captureAPI, httpapi.RequireRole)
	site.APIRoutes(v1, httpapi.RequireRole)
	nurture.APIRoutes(v1, nurtureAPI, httpapi.RequireRole)
	nurture.BounceRoutes(v1, d.nurture, httpapi.RequireRole)
	qualify.APIRoutes(v1, qualifyAPI, httpapi.RequireRole)
	// The console, behind sign-in.
	pages := con.Routes(e)
	capture.ConsoleRoutes(pages, capturePages)
	qualify.ConsoleRoutes(pages, con, qualifyPages)
	if err := qualify.AdminConsoleRoutes(pages, con, d.qualify); err != nil {
		return err
	}
	if err := nurture.WorkspaceConsoleRoutes(pages, con, svc.store, log); err != nil {
		return err
	}
	nurture.ConsoleRoutes(pages, nurturePages)
	if err := queueRoutes(e, pages, con, asynq.NewInspectorFromRedisClient(svc.rdb)); err != nil {
		return err
	}
	if opts.routes != nil {
		opts.routes(e)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = intake.Close(context.Background())
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("http_listening", "addr", ln.Addr().String())
	if opts.onListen != nil {
		opts.onListen(ln.Addr().String())
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		_ = intake.Close(context.Background())
		return fmt.Errorf("http server: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	<-errc
	// In-flight requests have had their answers; commit whatever is queued
	// and send the sign-in emails asked for.
	return errors.Join(err, intake.Close(shutdownCtx), con.Close(shutdownCtx))
}

func runWorkers(ctx context.Context, cfg Config, log *slog.Logger, svc *services, d *domains, opts runOptions) error {
	srv := asynq.NewServerFromRedisClient(svc.rdb, asynq.Config{
		Concurrency:       cfg.Concurrency,
		Queues:            map[string]int{capture.Queue: 6, nurture.Queue: 4},
		Logger:            asynqLogger{log},
		LogLevel:          asynq.WarnLevel,
		ShutdownTimeout:   25 * time.Second,
		TaskCheckInterval: cmpDuration(opts.taskCheckInterval, 250*time.Millisecond),
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, task *asynq.Task, err error) {
			id, _ := asynq.GetTaskID(ctx)
			log.Warn("task_failed", "type", task.Type(), "task_id", id, "err", err)
		}),
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc(capture.TypeProcessResponse, d.processor.ProcessTask)
	mux.HandleFunc(capture.TypeProcessImport, d.importer.ProcessTask)
	d.nurture.Handlers(mux)
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	sweeper, err := capture.NewSweeper(capture.SweeperConfig{Store: svc.store, Enqueuer: svc.queue, Logger: log, Interval: cfg.SweepInterval,
		Inspector: asynq.NewInspectorFromRedisClient(svc.rdb)})
	if err != nil {
		srv.Shutdown()
		return err
	}
	// The loops that read their work from PostgreSQL: the response sweeper,
	// the nurture scheduler, and qualify's scoring, SLA and webhook jobs.
	loops, lctx := errgroup.WithContext(ctx)
	loops.Go(func() error { return sweeper.Run(lctx) })
	loops.Go(func() error { return d.nurture.Run(lctx) })
	loops.Go(func() error { return d.qualify.Run(lctx) })
	log.Info("workers_started", "concurrency", cfg.Concurrency)
	<-ctx.Done()
	srv.Shutdown()
	if err := loops.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func cmpDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// asynqLogger sends Asynq's own logs through slog. Their text goes in
// "detail": a "msg" attribute would repeat the JSON key of the message.
type asynqLogger struct{ log *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.log.Debug("asynq", "detail", fmt.Sprint(args...)) }
func (l asynqLogger) Info(args ...any)  { l.log.Info("asynq", "detail", fmt.Sprint(args...)) }
func (l asynqLogger) Warn(args ...any)  { l.log.Warn("asynq", "detail", fmt.Sprint(args...)) }
func (l asynqLogger) Error(args ...any) { l.log.Error("asynq", "detail", fmt.Sprint(args...)) }
func (l asynqLogger) Fatal(args ...any) { l.log.Error("asynq_fatal", "detail", fmt.Sprint(args...)) }

// redisLogger sends go-redis's own log lines (failed dials, pool trouble)
// through slog.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	detail := strings.TrimSuffix(strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "), "\n")
	l.log.WarnContext(ctx, "redis_client", "detail", detail)
}
