package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"leadflow/deploy/local"
)

// suite is one run: the servers, the two leadflow processes, and what the
// scenarios found.
type suite struct {
	opts options
	log  *slog.Logger

	dir      string
	pgDir    string
	pgPort   int
	pg       *local.Server
	rdDir    string
	rdPort   int
	rd       *local.Server
	redisURL string
	dbURL    string
	sink     *mailSink
	addr     string
	serve    *child
	work     *child

	db     *pgxpool.Pool
	rdb    *redis.Client
	client *http.Client
	forms  map[string]string // form key -> ID
}

// scenarioRun is one scenario's load and what was seen at its end.
type scenarioRun struct {
	sc     scenario
	formID string
	posts  []post
	row    row
}

func formKey(scenario string) string { return "fault-" + scenario }

// run sets everything up, runs the scenarios, settles once more, and
// returns the final rows. Whatever it started is stopped before it returns.
func (s *suite) run(ctx context.Context) (rows []row, err error) {
	if err := s.makeDir(); err != nil {
		return nil, err
	}
	s.log.Info("fault_suite_dir", "dir", s.dir)
	defer func() {
		s.shutdown()
		broken := err != nil
		for _, r := range rows {
			broken = broken || len(r.failures()) > 0
		}
		if broken || s.opts.keep || s.opts.dir != "" {
			s.log.Info("fault_suite_files_kept", "dir", s.dir)
			return
		}
		if rmErr := os.RemoveAll(s.dir); rmErr != nil {
			s.log.Warn("fault_suite_cleanup_failed", "dir", s.dir, "err", rmErr)
		}
	}()
	if err := s.setup(ctx); err != nil {
		return nil, err
	}
	var runs []*scenarioRun
	for _, name := range s.opts.scenarios {
		sc := scenarioByName(name)
		r, err := s.runScenario(ctx, sc)
		if r != nil {
			runs = append(runs, r)
		}
		if err != nil {
			return s.finalRows(ctx, runs, false), fmt.Errorf("scenario %s: %w", name, err)
		}
	}
	return s.finalRows(ctx, runs, true), nil
}

func (s *suite) makeDir() error {
	if s.opts.dir != "" {
		if err := os.MkdirAll(s.opts.dir, 0o755); err != nil {
			return err
		}
		entries, err := os.ReadDir(s.opts.dir)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			return fmt.Errorf("-dir %s is not empty", s.opts.dir)
		}
		s.dir, err = filepath.Abs(s.opts.dir)
		return err
	}
	dir, err := os.MkdirTemp("", "leadflow-fault-")
	if err != nil {
		return err
	}
	// PostgreSQL may run as the postgres user, who must reach its directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	s.dir = dir
	return nil
}

// setup builds leadflow, starts the servers and both processes, and makes
// the workspace.
func (s *suite) setup(ctx context.Context) error {
	bin, err := filepath.Abs(s.opts.bin)
	if err != nil {
		return err
	}
	if s.opts.bin == "" {
		bin = filepath.Join(s.dir, "leadflow")
		s.log.Info("building_leadflow", "out", bin)
		if err := buildLeadflow(ctx, bin); err != nil {
			return err
		}
	}
	s.pgDir, s.rdDir = filepath.Join(s.dir, "postgres"), filepath.Join(s.dir, "redis")
	s.log.Info("starting_postgres")
	pg, err := local.StartPostgres(ctx, s.pgDir, local.PostgresOptions{})
	if err != nil {
		return err
	}
	s.pg, s.pgPort = pg, pg.Port
	if s.dbURL, err = createDatabase(ctx, pg.URL, "leadflow_fault"); err != nil {
		return err
	}
	s.log.Info("starting_redis")
	rd, err := local.StartRedis(ctx, s.rdDir, local.RedisOptions{})
	if err != nil {
		return err
	}
	s.rd, s.rdPort, s.redisURL = rd, rd.Port, rd.URL
	if s.sink, err = newMailSink(s.opts.smtpDelay); err != nil {
		return err
	}
	if s.addr, err = freeAddr(); err != nil {
		return err
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	env := childEnv(os.Environ(), map[string]string{
		"LEADFLOW_DATABASE_URL": s.dbURL,
		"LEADFLOW_REDIS_URL":    s.redisURL,
		"LEADFLOW_SMTP_URL":     "smtp://" + s.sink.Addr() + "?tls=none",
		"LEADFLOW_SECRET_KEY":   hex.EncodeToString(secret),
		"LEADFLOW_ADDR":         s.addr,
		"LEADFLOW_BASE_URL":     "http://" + s.addr,
		"LEADFLOW_LOG_FORMAT":   "text",
	})
	if _, err := leadflowOnce(ctx, bin, env, "migrate", "up"); err != nil {
		return err
	}
	key, err := leadflowOnce(ctx, bin, env, "apikey", "create", "--workspace", "fault", "--role", "admin", "--name", "fault suite")
	if err != nil {
		return err
	}
	s.serve = &child{name: "serve", bin: bin, env: env, logPath: filepath.Join(s.dir, "serve.log")}
	s.work = &child{name: "work", bin: bin, env: env, logPath: filepath.Join(s.dir, "work.log")}
	if err := s.startChild(ctx, s.serve); err != nil {
		return err
	}
	if err := s.startChild(ctx, s.work); err != nil {
		return err
	}

	s.client = newLoadClient()
	keys := make([]string, 0, len(s.opts.scenarios))
	for _, name := range s.opts.scenarios {
		keys = append(keys, formKey(name))
	}
	api := adminAPI{base: "http://" + s.addr, key: strings.TrimSpace(key), client: &http.Client{Timeout: 15 * time.Second}}
	if s.forms, err = seedWorkspace(ctx, api, keys, s.opts.sendRate); err != nil {
		return fmt.Errorf("set up the workspace: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(s.dbURL)
	if err != nil {
		return err
	}
	cfg.MaxConns = 4
	if s.db, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return err
	}
	opts, err := redis.ParseURL(s.redisURL)
	if err != nil {
		return err
	}
	s.rdb = redis.NewClient(opts)
	return nil
}

// childEnv is the suite's environment without anything that would point
// leadflow elsewhere, plus the suite's settings. Other LEADFLOW_ settings
// (worker concurrency, sweep interval) pass through.
func childEnv(environ []string, set map[string]string) []string {
	var env []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		base := strings.TrimSuffix(name, "_FILE")
		if _, ours := set[base]; ours {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

// createDatabase makes a database on the server and returns its URL.
func createDatabase(ctx context.Context, serverURL, name string) (string, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return strings.Replace(serverURL, "/postgres?", "/"+name+"?", 1), nil
}

// startChild starts a leadflow process and waits until it is ready: serve
// answers /healthz, work has started its workers.
func (s *suite) startChild(ctx context.Context, c *child) error {
	offset := c.logSize()
	if err := c.start(); err != nil {
		return err
	}
	var err error
	if c.name == "serve" {
		err = waitHTTP(ctx, "http://"+s.addr+"/healthz", 30*time.Second)
	} else {
		err = c.waitLog(ctx, offset, "workers_started", 30*time.Second)
	}
	if err != nil {
		return fmt.Errorf("leadflow %s did not become ready: %w (see %s)", c.name, err, c.logPath)
	}
	s.log.Info("leadflow_started", "process", c.name, "pid", c.pid())
	return nil
}

// revive restarts a leadflow process that ended without the suite ending
// it, and says so in the notes: a crash is a finding.
func (s *suite) revive(ctx context.Context, notes *[]string) error {
	for _, c := range []*child{s.serve, s.work} {
		crashed, how := c.crashed()
		if !crashed {
			continue
		}
		s.log.Warn("leadflow_exited", "process", c.name, "how", how)
		*notes = append(*notes, fmt.Sprintf("%s exited by itself (%s) and was restarted", c.name, how))
		if err := s.startChild(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// killAndRestart is kill -9 of the process, then a start after a short gap
// (as a supervisor would).
func (s *suite) killAndRestart(ctx context.Context, c *child) error {
	pid := c.pid()
	if err := c.kill9(); err != nil {
		return err
	}
	s.log.Info("killed", "process", c.name, "pid", pid, "signal", syscall.SIGKILL.String())
	if err := sleepCtx(ctx, s.opts.restartGap); err != nil {
		return err
	}
	return s.startChild(ctx, c)
}

func (s *suite) stopPostgres(context.Context) error {
	err := s.pg.Stop()
	s.log.Info("postgres_stopped", "err", err)
	return err
}

func (s *suite) startPostgres(ctx context.Context) error {
	pg, err := local.StartPostgres(ctx, s.pgDir, local.PostgresOptions{Port: s.pgPort})
	if err != nil {
		return fmt.Errorf("restart postgres: %w", err)
	}
	s.pg = pg
	s.log.Info("postgres_started")
	return nil
}

func (s *suite) stopRedis(context.Context) error {
	err := s.rd.Stop()
	s.log.Info("redis_stopped", "err", err)
	return err
}

func (s *suite) startRedis(ctx context.Context) error {
	rd, err := local.StartRedis(ctx, s.rdDir, local.RedisOptions{Port: s.rdPort})
	if err != nil {
		return fmt.Errorf("restart redis: %w", err)
	}
	if rd.URL != s.redisURL {
		_ = rd.Stop()
		return errors.New("restart redis: it came back under another URL")
	}
	s.rd = rd
	s.log.Info("redis_started")
	return nil
}

func (s *suite) flushRedis(ctx context.Context) error {
	err := s.rdb.FlushAll(ctx).Err()
	s.log.Info("redis_flushed", "err", err)
	return err
}

func (s *suite) stopSMTP(context.Context) error {
	s.sink.Stop()
	s.log.Info("smtp_stopped")
	return nil
}

func (s *suite) startSMTP(context.Context) error {
	err := s.sink.Start()
	s.log.Info("smtp_started", "err", err)
	return err
}

// runScenario runs one scenario's load with its fault, then waits for the
// pipeline to settle (up to the settle deadline) and tallies.
func (s *suite) runScenario(ctx context.Context, sc scenario) (*scenarioRun, error) {
	run := &scenarioRun{sc: sc, formID: s.forms[formKey(sc.name)]}
	var notes []string
	if err := s.revive(ctx, &notes); err != nil {
		return nil, err
	}
	sc.fault = strings.ReplaceAll(sc.fault, "{restart}", s.opts.restartGap.String())
	s.log.Info("scenario_started", "scenario", sc.name, "fault", sc.fault)
	loadCtx, cancelLoad := context.WithCancel(ctx)
	defer cancelLoad()
	start := time.Now()
	loaded := make(chan []post, 1)
	go func() {
		loaded <- runLoad(loadCtx, s.client, loadConfig{
			FormURL: "http://" + s.addr + "/f/" + formKey(sc.name), Scenario: sc.name,
			Seed: s.opts.seed, Rate: s.opts.rate, Duration: s.opts.duration,
		})
	}()
	faultErr := s.inject(ctx, sc, start)
	if faultErr != nil {
		cancelLoad()
	}
	run.posts = <-loaded
	loadEnded := time.Now()
	if faultErr != nil {
		return nil, faultErr
	}
	s.log.Info("scenario_load_done", "scenario", sc.name, "posts", len(run.posts))

	deadline := loadEnded.Add(s.opts.settle)
	for {
		if err := s.revive(ctx, &notes); err != nil {
			return nil, err
		}
		f, err := collectFacts(ctx, s.db, run.formID, run.posts, s.sink)
		switch {
		case err != nil && time.Now().After(deadline):
			return nil, err
		case err != nil:
			// The suite's own connections may still be finding a restarted
			// PostgreSQL: try again at the next poll.
			s.log.Warn("tally_failed", "scenario", sc.name, "err", err)
		default:
			run.row = tally(sc.name, run.posts, f)
		}
		if err == nil && run.row.settled() {
			run.row.SettledIn = time.Since(loadEnded)
			break
		}
		if err == nil && time.Now().After(deadline) {
			run.row.SettleTimedOut = true
			notes = append(notes, fmt.Sprintf("not settled %s after the load: %d stuck, %d messages queued, %d of %d emails delivered",
				s.opts.settle, run.row.Stuck, run.row.QueuedMessages, run.row.Delivered, run.row.Expected))
			break
		}
		if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
			return nil, err
		}
	}
	run.row.Fault = sc.fault
	run.row.Notes = notes
	if sc.gap {
		run.row.AllowedDoubles = s.opts.workers
	}
	s.log.Info("scenario_done", "scenario", sc.name, "answered_2xx", run.row.Answered, "lost", run.row.Lost,
		"stuck", run.row.Stuck, "delivered", run.row.Delivered, "expected", run.row.Expected,
		"doubled", run.row.Doubled, "settled", !run.row.SettleTimedOut)
	return run, nil
}

// inject runs the scenario's fault at its point in the load and undoes it
// at its restore point.
func (s *suite) inject(ctx context.Context, sc scenario, start time.Time) error {
	if sc.inject == nil {
		return nil
	}
	if err := sleepUntil(ctx, start.Add(time.Duration(float64(s.opts.duration)*sc.at()))); err != nil {
		return err
	}
	if err := sc.inject(s, ctx); err != nil {
		return err
	}
	if sc.restore == nil {
		return nil
	}
	if err := sleepUntil(ctx, start.Add(s.opts.duration*2/3)); err != nil {
		return err
	}
	return sc.restore(s, ctx)
}

// finalRows tallies every scenario again at the end, so that what happened
// late (a resend a lease later, work recovered after the settle deadline)
// is counted. When wait is set and some scenario has work left, it first
// waits for that, up to one more settle deadline.
func (s *suite) finalRows(ctx context.Context, runs []*scenarioRun, wait bool) []row {
	deadline := time.Now().Add(s.opts.settle)
	for {
		rows := make([]row, 0, len(runs))
		all := true
		for _, run := range runs {
			r := run.row
			f, err := collectFacts(ctx, s.db, run.formID, run.posts, s.sink)
			if err == nil {
				r = tally(run.sc.name, run.posts, f)
				r.Fault, r.Notes, r.AllowedDoubles = run.row.Fault, run.row.Notes, run.row.AllowedDoubles
				r.SettledIn, r.SettleTimedOut = run.row.SettledIn, run.row.SettleTimedOut
			} else {
				r.Notes = append(append([]string(nil), r.Notes...), "final tally failed: "+err.Error())
			}
			all = all && r.settled()
			rows = append(rows, r)
		}
		if all || !wait || time.Now().After(deadline) || sleepCtx(ctx, time.Second) != nil {
			return rows
		}
	}
}

// shutdown stops everything the suite started, by process ID, in order:
// leadflow first, then the servers it used.
func (s *suite) shutdown() {
	for _, c := range []*child{s.serve, s.work} {
		if c != nil {
			if err := c.stop(30 * time.Second); err != nil {
				s.log.Warn("leadflow_stop_failed", "process", c.name, "err", err)
			}
		}
	}
	if s.db != nil {
		s.db.Close()
	}
	if s.rdb != nil {
		s.rdb.Close()
	}
	if s.sink != nil {
		s.sink.Stop()
	}
	if s.rd != nil {
		_ = s.rd.Stop()
	}
	if s.pg != nil {
		_ = s.pg.Stop()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func sleepUntil(ctx context.Context, at time.Time) error { return sleepCtx(ctx, time.Until(at)) }
