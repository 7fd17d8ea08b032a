package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"leadflow/capture"
	"leadflow/embed/metrics"
	"leadflow/nurture"
	"leadflow/store"
)

// metricsFlags registers the metrics address on fs and returns the function
// that checks it after fs.Parse; addr is the public listen address, which
// the metrics may not share.
func metricsFlags(fs *flag.FlagSet, getenv func(string) string) func(addr string) (string, error) {
	var v string
	fs.StringVar(&v, "metrics-addr", getenv("LEADFLOW_METRICS_ADDR"),
		"listen address for Prometheus metrics at /metrics, e.g. 127.0.0.1:9090; empty: not served (LEADFLOW_METRICS_ADDR)")
	return func(addr string) (string, error) {
		if v == "" {
			return "", nil
		}
		_, port, err := net.SplitHostPort(v)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			return "", fmt.Errorf("metrics addr %q: want host:port such as 127.0.0.1:9090", v)
		}
		// Port 0 picks a free port, so it can clash with nothing.
		if v == addr && port != "0" {
			return "", fmt.Errorf("metrics addr %q: must differ from the HTTP listen address, which is public", v)
		}
		return v, nil
	}
}

// serveMetrics serves /metrics on cfg.MetricsAddr until ctx is done: the
// domains' counters, the queues and pools of svc, the Go runtime and the
// process. Nothing else is served there, and /metrics nowhere else.
func serveMetrics(ctx context.Context, cfg Config, log *slog.Logger, svc *services) error {
	pools := map[string]*pgxpool.Pool{}
	for name, st := range map[string]*store.Store{"capture": svc.capture, "api": svc.api, "work": svc.work} {
		if st != nil {
			pools[name] = st.Pool
		}
	}
	reg, err := metrics.NewRegistry(metrics.Config{
		Pools:     pools,
		Inspector: asynq.NewInspectorFromRedisClient(svc.rdb),
		Queues:    []string{capture.Queue, nurture.Queue},
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen for metrics on %s: %w", cfg.MetricsAddr, err)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("metrics_listening", "addr", ln.Addr().String())
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("metrics server: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
