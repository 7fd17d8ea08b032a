package nurture

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/store"
	"leadflow/store/storetest"
)

// workerEnv, when set, makes the test binary a nurture worker process (the
// scheduler and the task handlers) configured by the variable's JSON,
// instead of running tests: the tests that kill workers or run several of
// them start the binary again this way.
const workerEnv = "LEADFLOW_NURTURE_TEST_WORKER"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(workerEnv); cfg != "" {
		os.Exit(runTestWorker(cfg))
	}
	storetest.Main(m)
}

// testWorkerConfig is what a worker process is told.
type testWorkerConfig struct {
	DatabaseURL string        `json:"database_url"`
	RedisURL    string        `json:"redis_url"`
	SMTPHost    string        `json:"smtp_host"`
	SMTPPort    int           `json:"smtp_port"`
	Helo        string        `json:"helo"`
	BaseURL     string        `json:"base_url"`
	Secret      string        `json:"secret"`
	Lease       time.Duration `json:"lease"`
	Interval    time.Duration `json:"interval"`
	Concurrency int           `json:"concurrency"`
	PoolSize    int           `json:"pool_size"`
}

// runTestWorker is a worker process: it runs until SIGTERM (or is killed),
// and says "ready" on stdout once it takes tasks.
func runTestWorker(raw string) int {
	var c testWorkerConfig
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		fmt.Fprintln(os.Stderr, "worker config:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	st, err := store.Open(ctx, c.DatabaseURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker store:", err)
		return 1
	}
	defer st.Close()
	opts, err := redis.ParseURL(c.RedisURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker redis:", err)
		return 1
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	queue := asynq.NewClientFromRedisClient(rdb)
	signer, err := NewSigner(c.Secret)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker signer:", err)
		return 1
	}
	eng, err := New(Config{
		Store: st, Queue: queue, Redis: rdb, Signer: signer, BaseURL: c.BaseURL,
		SMTP:              SMTPConfig{Host: c.SMTPHost, Port: c.SMTPPort, TLS: "none", HeloName: c.Helo, PoolSize: c.PoolSize},
		Logger:            testLogger(),
		SchedulerInterval: c.Interval,
		Lease:             c.Lease,
		RetryDelay:        func(int) time.Duration { return 100 * time.Millisecond },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker engine:", err)
		return 1
	}
	defer eng.Close()
	srv := newTestServer(rdb, c.Concurrency)
	mux := asynq.NewServeMux()
	eng.Handlers(mux)
	if err := srv.Start(mux); err != nil {
		fmt.Fprintln(os.Stderr, "worker server:", err)
		return 1
	}
	fmt.Println("ready")
	_ = eng.Run(ctx)
	srv.Shutdown()
	return 0
}

// newTestServer is an Asynq server for the nurture queue that looks for
// work often, so tests wait little.
func newTestServer(rdb redis.UniversalClient, concurrency int) *asynq.Server {
	return asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              max(concurrency, 4),
		Queues:                   map[string]int{Queue: 1},
		TaskCheckInterval:        20 * time.Millisecond,
		DelayedTaskCheckInterval: 100 * time.Millisecond,
		ShutdownTimeout:          5 * time.Second,
		// A task that failed (PostgreSQL away, say) is tried again soon,
		// not after Asynq's default backoff of 16 s and up to a minute of
		// jitter, which outlasts the tests' waits for an idle queue.
		RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return 200 * time.Millisecond },
		Logger:         quietAsynq{},
		LogLevel:       asynq.FatalLevel,
	})
}

// testLogger discards logs unless LEADFLOW_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("LEADFLOW_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// quietAsynq drops Asynq's own logs: a flushed Redis makes it complain.
type quietAsynq struct{}

func (quietAsynq) Debug(...any) {}
func (quietAsynq) Info(...any)  {}
func (quietAsynq) Warn(...any)  {}
func (quietAsynq) Error(...any) {}
func (quietAsynq) Fatal(...any) {}
