package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"leadflow/capture"
	"leadflow/embed"
	"leadflow/store"
)

// services are the connections every long-running command shares.
type services struct {
	store *store.Store
	rdb   redis.UniversalClient
	queue *asynq.Client
}

// openServices connects to PostgreSQL (refusing a stale schema) and Redis.
// Redis being down is not fatal: capture keeps committing responses and the
// sweepers catch up once it is back.
func openServices(ctx context.Context, cfg Config, log *slog.Logger) (*services, error) {
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := st.CheckSchema(ctx); err != nil {
		st.Close()
		return nil, err
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		st.Close()
		return nil, errors.New("parse redis url: invalid (want redis://[:password@]host:port/db or rediss://...)")
	}
	rdb := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		log.Warn("redis_unreachable_at_start", "err", err)
	}
	return &services{store: st, rdb: rdb, queue: asynq.NewClientFromRedisClient(rdb)}, nil
}

func (s *services) close() {
	s.queue.Close()
	s.rdb.Close()
	s.store.Close()
}

// runOptions are the knobs tests and the dev command turn.
type runOptions struct {
	serve, work bool
	// onListen is told the address the HTTP server listens on.
	onListen func(addr string)
	// taskCheckInterval is how often idle workers look for tasks.
	taskCheckInterval time.Duration
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

// runWith opens the services and runs the HTTP server and/or the workers
// until ctx is done, then shuts down in order: stop HTTP intake, drain the
// commit path, drain workers, close pools.
func runWith(ctx context.Context, cfg Config, log *slog.Logger, opts runOptions) error {
	log.Info("starting", "version", version, "serve", opts.serve, "work", opts.work, "config", cfg.String())
	svc, err := openServices(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer svc.close()
	processor, err := capture.NewProcessor(capture.ProcessorConfig{Store: svc.store, Logger: log})
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	if opts.serve {
		g.Go(func() error { return serveHTTP(gctx, cfg, log, svc, processor, opts.onListen) })
	}
	if opts.work {
		g.Go(func() error { return runWorkers(gctx, cfg, log, svc, processor, opts) })
	}
	err = g.Wait()
	log.Info("stopped")
	return err
}

func serveHTTP(ctx context.Context, cfg Config, log *slog.Logger, svc *services, processor *capture.Processor, onListen func(string)) error {
	intake, err := capture.NewIntake(capture.IntakeConfig{Store: svc.store, Enqueuer: svc.queue, Redis: svc.rdb, Logger: log})
	if err != nil {
		return err
	}
	api, err := capture.NewAPI(capture.APIConfig{Store: svc.store, Enqueuer: svc.queue, Merger: processor, Releaser: processor, Logger: log})
	if err != nil {
		return err
	}
	site, err := embed.New(embed.Config{Store: svc.store, BaseURL: cfg.BaseURL, Logger: log})
	if err != nil {
		return err
	}
	intake.Start()
	e := newEcho(log, cfg.TrustedProxies)
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", func(c echo.Context) error {
		pctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := svc.store.Pool.Ping(pctx); err != nil {
			return c.String(http.StatusServiceUnavailable, "database unreachable\n")
		}
		return c.String(http.StatusOK, "ok\n")
	})
	capture.IntakeRoutes(e, intake)
	site.Routes(e)
	v1 := e.Group("/api/v1", apiAuth(svc.store))
	capture.APIRoutes(v1, api, requireRole)
	site.APIRoutes(v1, requireRole)

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
	if onListen != nil {
		onListen(ln.Addr().String())
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
	// In-flight requests have had their answers; commit whatever is queued.
	return errors.Join(err, intake.Close(shutdownCtx))
}

func runWorkers(ctx context.Context, cfg Config, log *slog.Logger, svc *services, processor *capture.Processor, opts runOptions) error {
	srv := asynq.NewServerFromRedisClient(svc.rdb, asynq.Config{
		Concurrency:       cfg.Concurrency,
		Queues:            map[string]int{capture.Queue: 6},
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
	mux.HandleFunc(capture.TypeProcessResponse, processor.ProcessTask)
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	sweeper, err := capture.NewSweeper(capture.SweeperConfig{Store: svc.store, Enqueuer: svc.queue, Logger: log, Interval: cfg.SweepInterval})
	if err != nil {
		srv.Shutdown()
		return err
	}
	done := make(chan error, 1)
	go func() { done <- sweeper.Run(ctx) }()
	log.Info("workers_started", "concurrency", cfg.Concurrency)
	<-ctx.Done()
	srv.Shutdown()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
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

// asynqLogger sends Asynq's own logs through slog.
type asynqLogger struct{ log *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.log.Debug("asynq", "msg", fmt.Sprint(args...)) }
func (l asynqLogger) Info(args ...any)  { l.log.Info("asynq", "msg", fmt.Sprint(args...)) }
func (l asynqLogger) Warn(args ...any)  { l.log.Warn("asynq", "msg", fmt.Sprint(args...)) }
func (l asynqLogger) Error(args ...any) { l.log.Error("asynq", "msg", fmt.Sprint(args...)) }
func (l asynqLogger) Fatal(args ...any) { l.log.Error("asynq_fatal", "msg", fmt.Sprint(args...)) }
