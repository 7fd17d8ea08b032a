package nurture

import (
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"leadflow/store"
)

// BenchmarkSend measures emails per second through the whole send path
// (load, suppression and consent checks, the Redis rate limiter, the
// claim, SMTP on pooled connections, marking sent with its engagement
// event) into a local go-smtp server, with the workspace's rate at its
// maximum so the path, not the limit, is measured.
func BenchmarkSend(b *testing.B) {
	e := setupEngine(b, func(c *Config) { c.SMTP.PoolSize = 8 })
	e.widenPool(b, 24)
	e.settings(b, func(s *store.WorkspaceSettings) { s.SendRatePerSecond = 10000 })
	lead := e.newLead(b, "bench@example.org", nil)
	ids := e.bulkMessages(b, lead, b.N)
	work := make(chan uuid.UUID, len(ids))
	for _, id := range ids {
		work <- id
	}
	close(work)

	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for id := range work {
				if err := e.eng.Send(e.ctx, SendPayload{WorkspaceID: e.ws.ID, MessageID: id}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := len(e.smtp.Messages()); n != b.N {
		b.Fatalf("the server got %d messages, want %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "emails/s")
}

// bulkMessages stores n queued marketing messages to lead with COPY.
func (e *engineBundle) bulkMessages(b *testing.B, lead store.Lead, n int) []uuid.UUID {
	b.Helper()
	ids := make([]uuid.UUID, n)
	rows := make([][]any, n)
	for i := range n {
		ids[i] = store.NewID()
		rows[i] = []any{ids[i], e.ws.ID, lead.ID, "bench:" + ids[i].String(), store.MessageMarketing, lead.Email,
			"Benchmark", "<p>Hello from the benchmark</p>", "Hello from the benchmark", ids[i].String() + "@lf.example"}
	}
	if _, err := e.store.Pool.CopyFrom(e.ctx, pgx.Identifier{"messages"},
		[]string{"id", "workspace_id", "lead_id", "dedupe_key", "kind", "to_email", "subject", "html_body", "text_body", "message_id"},
		pgx.CopyFromRows(rows)); err != nil {
		b.Fatalf("copy messages: %v", err)
	}
	return ids
}

// BenchmarkSchedulingLag puts 100,000 enrollments (LEADFLOW_BENCH_ENROLLMENTS
// to change it) due at the same moment, at a wait step followed by an email
// step, and measures how long the scheduler and the step workers take to
// advance every one of them: the lag of each from its due time (p50, p99,
// max) and enrollments advanced per second.
func BenchmarkSchedulingLag(b *testing.B) {
	n := 100_000
	if s := os.Getenv("LEADFLOW_BENCH_ENROLLMENTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("LEADFLOW_BENCH_ENROLLMENTS=%q", s)
		}
	}
	for range b.N {
		b.StopTimer()
		e := setupEngine(b, func(c *Config) {
			c.SchedulerInterval = 100 * time.Millisecond
			c.Lease = 5 * time.Minute
		})
		e.widenPool(b, 24)
		e.concurrency = 16
		tpl := e.newTemplate(b, "Later", "<p>Later</p>", "Later")
		seq := e.newSequence(b, []Step{waitStep("w", time.Hour), emailStep("e", tpl)}, nil)
		due := e.bulkEnrollments(b, seq, n)
		b.StartTimer()

		start := time.Now()
		e.startWorker(b)
		var advanced int
		eventually(b, 30*time.Minute, func() bool {
			if err := e.store.Pool.QueryRow(e.ctx, `SELECT count(*) FROM enrollments WHERE step_key = 'e'`).Scan(&advanced); err != nil {
				b.Fatal(err)
			}
			return advanced == n
		}, "%d enrollments advanced", n)
		elapsed := time.Since(start)
		b.StopTimer()

		// Each enrollment's lag: from its due time to its advance (the
		// step run's time, which is its updated_at).
		var p50, p99, most float64
		if err := e.store.Pool.QueryRow(e.ctx, `
			SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), percentile_cont(0.99) WITHIN GROUP (ORDER BY lag), max(lag)
			FROM (SELECT extract(epoch FROM updated_at - $1) AS lag FROM enrollments) l`, due).Scan(&p50, &p99, &most); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(p50, "p50-lag-s")
		b.ReportMetric(p99, "p99-lag-s")
		b.ReportMetric(most, "max-lag-s")
		b.ReportMetric(float64(n)/elapsed.Seconds(), "enrollments/s")
		b.StartTimer()
	}
}

// bulkEnrollments stores n leads, each enrolled in seq at its first step and
// due now, with COPY; it returns the due time.
func (e *engineBundle) bulkEnrollments(b *testing.B, seq store.Sequence, n int) time.Time {
	b.Helper()
	steps, err := decodeSteps(seq.Steps)
	if err != nil {
		b.Fatal(err)
	}
	due := e.clock.Now()
	leads := make([][]any, n)
	enrs := make([][]any, n)
	for i := range n {
		leadID := store.NewID()
		email := "lead" + strconv.Itoa(i) + "@bench.example"
		leads[i] = []any{leadID, e.ws.ID, email, email, store.LeadNurturing, true}
		enrs[i] = []any{store.NewID(), e.ws.ID, seq.ID, leadID, store.EnrollmentActive, steps[0].Key, due, "bench", due, due}
	}
	if _, err := e.store.Pool.CopyFrom(e.ctx, pgx.Identifier{"leads"},
		[]string{"id", "workspace_id", "email", "email_canonical", "status", "consent"}, pgx.CopyFromRows(leads)); err != nil {
		b.Fatalf("copy leads: %v", err)
	}
	if _, err := e.store.Pool.CopyFrom(e.ctx, pgx.Identifier{"enrollments"},
		[]string{"id", "workspace_id", "sequence_id", "lead_id", "state", "step_key", "next_run_at", "enrolled_by", "created_at", "updated_at"},
		pgx.CopyFromRows(enrs)); err != nil {
		b.Fatalf("copy enrollments: %v", err)
	}
	if _, err := e.store.Pool.Exec(e.ctx, `ANALYZE leads, enrollments`); err != nil {
		b.Fatal(err)
	}
	return due
}

// widenPool reopens the bundle's store with a pool of conns connections
// (the default is four on a small machine, fewer than the workers) and
// rebuilds the engine on it.
func (e *engineBundle) widenPool(b *testing.B, conns int) {
	b.Helper()
	st, err := store.Open(e.ctx, e.dbURL+"?pool_max_conns="+strconv.Itoa(conns))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	e.store, e.cfg.Store = st, st
	if e.eng, err = New(e.cfg); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.eng.Close() })
}
