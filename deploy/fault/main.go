// Command fault is leadflow's fault suite: it runs a bounded load of form
// posts against separate `leadflow serve` and `leadflow work` processes while
// it kills them with kill -9 and takes Redis, SMTP and PostgreSQL away in
// turn, then checks, from PostgreSQL and an SMTP sink, leadflow's promises
// for each fault: every 2xx committed, one lead per person, each email sent
// once (a process killed mid-send may resend that one message: the
// documented gap), and nothing left undone.
//
// Everything runs on 127.0.0.1 in a temporary directory: private PostgreSQL
// and Redis (deploy/local), an SMTP sink, and the leadflow binary built from
// this module. Every process it starts is ended by its process ID, also on
// an error or an interrupt, and dies with the suite if the suite is killed.
//
//	go run ./deploy/fault [-duration 15s] [-rate 50] [-seed 1] [-settle 60s] [-scenarios a,b]
//
// It prints one table and exits 1 when a promise was broken.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// options are the suite's flags.
type options struct {
	duration   time.Duration
	rate       int
	seed       uint64
	settle     time.Duration
	scenarios  []string
	smtpDelay  time.Duration
	dir        string
	keep       bool
	bin        string
	workers    int
	sendRate   int
	restartGap time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, errUsage):
		os.Exit(2)
	case errors.Is(err, errBroken):
		os.Exit(1)
	case err != nil:
		fmt.Fprintln(os.Stderr, "fault:", err)
		os.Exit(3)
	}
}

var (
	errUsage  = errors.New("usage")
	errBroken = errors.New("a promise was broken")
)

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fault", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var scenarioList string
	var seed int64
	fs.DurationVar(&o.duration, "duration", 15*time.Second, "load per fault scenario")
	fs.IntVar(&o.rate, "rate", 50, "form posts per second (at most 500)")
	fs.Int64Var(&seed, "seed", 1, "seed of the people and the order they post in")
	fs.DurationVar(&o.settle, "settle", 60*time.Second, "how long after its load a scenario may take to settle")
	fs.StringVar(&scenarioList, "scenarios", "", "comma-separated scenarios to run (default all: "+strings.Join(scenarioNames(), ",")+")")
	fs.DurationVar(&o.smtpDelay, "smtp-delay", 0, "how long the SMTP sink takes to accept each message (a slow relay)")
	fs.StringVar(&o.dir, "dir", "", "empty directory for the servers' files and the logs (default a new temporary one)")
	fs.BoolVar(&o.keep, "keep", false, "keep the directory after a passing run (a failing run always keeps it)")
	fs.StringVar(&o.bin, "bin", "", "leadflow binary to run (default: build ./cmd/leadflow)")
	fs.IntVar(&o.sendRate, "send-rate", 1000, "the workspace's email send rate, per second")
	fs.DurationVar(&o.restartGap, "restart-after", time.Second, "how long a killed process stays down")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	o.seed = uint64(seed)
	var bad []string
	if o.duration < 3*time.Second || o.duration > 5*time.Minute {
		bad = append(bad, "-duration: want 3s to 5m")
	}
	if o.rate < 1 || o.rate > 500 {
		bad = append(bad, "-rate: want 1 to 500 posts per second")
	}
	if o.settle < 5*time.Second || o.settle > 10*time.Minute {
		bad = append(bad, "-settle: want 5s to 10m")
	}
	if o.sendRate < 1 || o.sendRate > 10000 {
		bad = append(bad, "-send-rate: want 1 to 10000")
	}
	if o.smtpDelay < 0 || o.smtpDelay > 30*time.Second {
		bad = append(bad, "-smtp-delay: want 0 to 30s")
	}
	if o.restartGap < 0 || o.restartGap > o.duration/3 {
		bad = append(bad, "-restart-after: want 0 to a third of -duration")
	}
	known := scenarioNames()
	for _, name := range strings.Split(scenarioList, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !slices.Contains(known, name) {
			bad = append(bad, fmt.Sprintf("-scenarios: no scenario %q (want %s)", name, strings.Join(known, ", ")))
			continue
		}
		o.scenarios = append(o.scenarios, name)
	}
	if len(o.scenarios) == 0 {
		o.scenarios = known
	}
	// The kill -9 gap is at most one resend per send in flight, and the
	// worker runs at most this many tasks at once.
	o.workers = 10
	if v := getenv("LEADFLOW_WORKER_CONCURRENCY"); v != "" {
		if _, err := fmt.Sscan(v, &o.workers); err != nil || o.workers < 1 {
			bad = append(bad, "LEADFLOW_WORKER_CONCURRENCY: want a whole number >= 1")
		}
	}
	if len(bad) > 0 {
		fmt.Fprintln(stderr, strings.Join(bad, "\n"))
		return errUsage
	}

	// Everything is bounded: setup, each scenario's load and settle, one
	// last settle, and the shutdown.
	budget := 3*time.Minute + time.Duration(len(o.scenarios)+1)*(o.duration+o.settle+30*time.Second)
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s := &suite{opts: o, log: log}
	began := time.Now()
	rows, err := s.run(ctx)
	if len(rows) > 0 {
		fmt.Fprintf(stdout, "\nleadflow fault suite: %d posts/s for %s per scenario, seed %d, settle deadline %s\n\n",
			o.rate, o.duration, o.seed, o.settle)
		writeTable(stdout, rows)
		fmt.Fprintf(stdout, "\nThe suite took %s.\n", time.Since(began).Round(time.Second))
	}
	if err != nil {
		return err
	}
	for _, r := range rows {
		if len(r.failures()) > 0 {
			return errBroken
		}
	}
	return nil
}
