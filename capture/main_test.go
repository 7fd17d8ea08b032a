package capture_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/capture"
	"leadflow/store"
	"leadflow/store/storetest"
)

// workerEnv, when set, makes the test binary a response:process worker
// process configured by the variable's JSON, instead of running tests: the
// tests that kill a worker start the binary again this way.
const workerEnv = "LEADFLOW_CAPTURE_TEST_WORKER"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(workerEnv); cfg != "" {
		os.Exit(runTestWorker(cfg))
	}
	storetest.Main(m)
}

// testWorkerConfig is what a worker process is told.
type testWorkerConfig struct {
	DatabaseURL string `json:"database_url"`
	RedisURL    string `json:"redis_url"`
}

// runTestWorker is a worker process running the real Processor, whose
// enrolment never returns: it says "ready" on stdout once it takes tasks and
// "enrolling <response id>" when a response's processing reaches enrolment,
// then holds that task until it is killed.
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
	proc, err := capture.NewProcessor(capture.ProcessorConfig{Store: st, Enroller: stuckEnroller{}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker processor:", err)
		return 1
	}
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:       2,
		Queues:            map[string]int{capture.Queue: 1},
		TaskCheckInterval: 20 * time.Millisecond,
		ShutdownTimeout:   time.Second,
		LogLevel:          asynq.FatalLevel,
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc(capture.TypeProcessResponse, proc.ProcessTask)
	if err := srv.Start(mux); err != nil {
		fmt.Fprintln(os.Stderr, "worker server:", err)
		return 1
	}
	fmt.Println("ready")
	<-ctx.Done()
	srv.Shutdown()
	return 0
}

// stuckEnroller holds the processing transaction open, as a worker busy
// with a response when it dies would.
type stuckEnroller struct{}

func (stuckEnroller) EnrollFromResponse(ctx context.Context, _ *store.Queries, resp store.Response, _ uuid.UUID, _ *store.EventRegistration) error {
	fmt.Printf("enrolling %s\n", resp.ID)
	<-ctx.Done()
	return ctx.Err()
}

func (stuckEnroller) RequestConfirmation(ctx context.Context, _ *store.Queries, _ store.Response) error {
	<-ctx.Done()
	return ctx.Err()
}
