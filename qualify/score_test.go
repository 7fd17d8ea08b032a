package qualify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/qualify"
	"leadflow/store"
	"leadflow/store/storetest"
)

const day = 24 * time.Hour

// scoreClock is the engine's injected clock, moved by the test.
type scoreClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *scoreClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *scoreClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// scoreBundle is an engine on a fresh database with one workspace, and a
// clock the test moves.
type scoreBundle struct {
	ctx   context.Context
	st    *store.Store
	eng   *qualify.Engine
	clock *scoreClock
	ws    store.Workspace
}

func scoreSetup(t *testing.T) *scoreBundle {
	t.Helper()
	st := storetest.NewStore(t)
	rdb := redis.NewClient(storetest.RedisOptions(t))
	t.Cleanup(func() { rdb.Close() })
	// The database's own clock dates the marks; the engine's is near it, so
	// that decay's "an hour old" is meaningful on both.
	clock := &scoreClock{now: time.Now().UTC().Truncate(time.Second)}
	eng, err := qualify.New(qualify.Config{
		Store: st, Queue: asynq.NewClientFromRedisClient(rdb), BaseURL: "https://leadflow.example",
		Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	b := &scoreBundle{ctx: context.Background(), st: st, eng: eng, clock: clock}
	b.ws = b.workspace(t, "acme")
	return b
}

func (b *scoreBundle) workspace(t *testing.T, name string) store.Workspace {
	t.Helper()
	ws, err := b.st.EnsureWorkspace(b.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// newLead makes a lead of the workspace, or whatever edit makes of it.
func (b *scoreBundle) newLead(t *testing.T, ws store.Workspace, edit func(*store.Lead)) store.Lead {
	t.Helper()
	id := store.NewID()
	l := store.Lead{
		ID: id, WorkspaceID: ws.ID, FirstName: "Ada", Email: id.String() + "@example.com",
		EmailCanonical: id.String() + "@example.com", Status: store.LeadNurturing,
	}
	if edit != nil {
		edit(&l)
	}
	l, err := b.st.InsertLead(b.ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// event records an engagement event of the lead, as capture and nurture do.
func (b *scoreBundle) event(t *testing.T, l store.Lead, kind string, at time.Time) {
	t.Helper()
	_, err := b.st.InsertEngagementEvent(b.ctx, store.EngagementEvent{
		WorkspaceID: l.WorkspaceID, LeadID: l.ID, Kind: kind, SourceID: store.NewID(), OccurredAt: at,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rules sets the workspace's scoring rules from JSON members.
func (b *scoreBundle) rules(t *testing.T, ws store.Workspace, points, fit, thresholds, halfLife string) {
	t.Helper()
	u := qualify.ScoringUpdate{}
	if points != "" {
		u.Points = json.RawMessage(points)
	}
	if fit != "" {
		u.FitRules = json.RawMessage(fit)
	}
	if thresholds != "" {
		u.GradeThresholds = json.RawMessage(thresholds)
	}
	if halfLife != "" {
		u.HalfLife = &halfLife
	}
	if _, err := b.eng.PutScoring(b.ctx, ws.ID, u); err != nil {
		t.Fatalf("put scoring: %v", err)
	}
}

func (b *scoreBundle) lead(t *testing.T, l store.Lead) store.Lead {
	t.Helper()
	got, err := b.st.GetLead(b.ctx, l.WorkspaceID, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (b *scoreBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := b.st.Pool.QueryRow(b.ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// scoreOf is what a test compares of a lead.
type scoreOf struct {
	Score int
	Grade string
}

func (b *scoreBundle) scores(t *testing.T, leads map[string]store.Lead) map[string]scoreOf {
	t.Helper()
	out := map[string]scoreOf{}
	for name, l := range leads {
		got := b.lead(t, l)
		out[name] = scoreOf{got.Score, got.Grade}
	}
	return out
}

func TestScoreDecaysWithHalfLife(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	b.rules(t, b.ws, `{"form_submitted": 20, "email_clicked": 8, "unsubscribed": -20}`, "", "", "30d")
	now := b.clock.Now()
	leads := map[string]store.Lead{}
	for name, events := range map[string][]struct {
		kind string
		age  time.Duration
	}{
		"fresh":           {{"form_submitted", 0}},
		"one half-life":   {{"form_submitted", 30 * day}},
		"two half-lives":  {{"form_submitted", 60 * day}},
		"sum":             {{"form_submitted", 60 * day}, {"email_clicked", 0}},
		"unsubscribed":    {{"form_submitted", 0}, {"unsubscribed", 0}},
		"unscored kind":   {{"page_viewed", 0}},
		"dated in future": {{"form_submitted", -day}},
	} {
		l := b.newLead(t, b.ws, nil)
		for _, e := range events {
			b.event(t, l, e.kind, now.Add(-e.age))
		}
		leads[name] = l
	}
	b.eng.RunOnce(b.ctx)
	want := map[string]scoreOf{
		"fresh":           {20, "F"},
		"one half-life":   {10, "F"},
		"two half-lives":  {5, "F"}, // 60 days at a 30-day half-life: a quarter
		"sum":             {13, "F"},
		"unsubscribed":    {0, "F"},
		"unscored kind":   {0, "F"},
		"dated in future": {20, "F"},
	}
	if diff := cmp.Diff(want, b.scores(t, leads)); diff != "" {
		t.Errorf("scores (-want +got):\n%s", diff)
	}
	if got := b.lead(t, leads["fresh"]).ScoredAt; got == nil || !got.Equal(now) {
		t.Errorf("scored_at = %v, want the engine's now %v", got, now)
	}
}

func TestScoreDecayLowersScoreWithoutEvents(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	b.rules(t, b.ws, `{"form_submitted": 20}`, "", "", "30d")
	l := b.newLead(t, b.ws, nil)
	b.event(t, l, "form_submitted", b.clock.Now())
	b.eng.RunOnce(b.ctx)
	if got := b.lead(t, l).Score; got != 20 {
		t.Fatalf("score = %d, want 20", got)
	}

	// Sixty days pass with no event: decay marks the stale score in one run
	// and the next run recomputes it.
	b.clock.advance(60 * day)
	b.eng.RunOnce(b.ctx)
	b.eng.RunOnce(b.ctx)
	got := b.lead(t, l)
	if got.Score != 5 {
		t.Errorf("score after 60 days = %d, want 5", got.Score)
	}
	if got.ScoredAt == nil || !got.ScoredAt.Equal(b.clock.Now()) {
		t.Errorf("scored_at = %v, want %v", got.ScoredAt, b.clock.Now())
	}
	if n := b.count(t, `SELECT count(*) FROM score_dirty`); n != 0 {
		t.Errorf("%d leads still marked", n)
	}
}

func TestScoreGradeFromFitRules(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	b.rules(t, b.ws, "", `[
		{"field": "country", "op": "in", "values": ["US", "CA"], "points": 30},
		{"field": "title", "op": "contains", "value": "director", "points": 40},
		{"field": "company", "op": "exists", "points": 20},
		{"field": "budget", "op": "equals", "value": "approved", "points": 10},
		{"field": "lead_source", "op": "equals", "value": "Partner", "points": -30}
	]`, `{"A": 90, "B": 60, "C": 40, "D": 20, "E": 1}`, "")
	leads := map[string]store.Lead{
		"everything": b.newLead(t, b.ws, func(l *store.Lead) {
			l.Country, l.Title, l.Company, l.Budget = "us ", "Sales Director", "Acme", "Approved"
		}),
		"director": b.newLead(t, b.ws, func(l *store.Lead) { l.Title, l.Company = "IT DIRECTOR", "Acme" }),
		"country":  b.newLead(t, b.ws, func(l *store.Lead) { l.Country, l.Company = "CA", "Acme" }),
		"company":  b.newLead(t, b.ws, func(l *store.Lead) { l.Company = "Acme" }),
		"nothing":  b.newLead(t, b.ws, func(l *store.Lead) { l.Country = "FR" }),
		"negative": b.newLead(t, b.ws, func(l *store.Lead) { l.Company, l.LeadSource = "Acme", "partner" }),
	}
	// A recompute job scores leads that have no event yet.
	if _, err := b.eng.StartRecompute(b.ctx, b.ws.ID); err != nil {
		t.Fatal(err)
	}
	b.eng.RunOnce(b.ctx)
	want := map[string]scoreOf{
		"everything": {0, "A"}, // 30 + 40 + 20 + 10
		"director":   {0, "B"}, // 40 + 20
		"country":    {0, "C"}, // 30 + 20
		"company":    {0, "D"}, // 20
		"nothing":    {0, "F"}, // 0
		"negative":   {0, "F"}, // 20 - 30
	}
	if diff := cmp.Diff(want, b.scores(t, leads)); diff != "" {
		t.Errorf("grades (-want +got):\n%s", diff)
	}

	// A fit field changed by anyone marks the lead: the next run regrades.
	if _, err := b.st.Pool.Exec(b.ctx, `UPDATE leads SET title = 'Marketing Director' WHERE id = $1`,
		leads["country"].ID); err != nil {
		t.Fatal(err)
	}
	b.eng.RunOnce(b.ctx)
	if got := b.lead(t, leads["country"]).Grade; got != "A" {
		t.Errorf("grade after the title change = %q, want A", got)
	}
}

func TestScoreEventRescoresWithinOneRun(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	l := b.newLead(t, b.ws, nil)
	// The default points: a form is 10, a click 5.
	b.event(t, l, store.EngagementFormSubmitted, b.clock.Now())
	b.eng.RunOnce(b.ctx)
	if got := b.lead(t, l).Score; got != 10 {
		t.Fatalf("score after a form = %d, want 10", got)
	}
	b.event(t, l, "email_clicked", b.clock.Now())
	b.eng.RunOnce(b.ctx)
	first := b.lead(t, l)
	if first.Score != 15 {
		t.Fatalf("score after a click = %d, want 15", first.Score)
	}

	// Rescoring the same inputs at the same time writes the same result.
	if _, err := b.st.Pool.Exec(b.ctx, `INSERT INTO score_dirty (lead_id, workspace_id) VALUES ($1, $2)`,
		l.ID, l.WorkspaceID); err != nil {
		t.Fatal(err)
	}
	b.eng.RunOnce(b.ctx)
	again := b.lead(t, l)
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("rescoring changed the lead (-first +again):\n%s", diff)
	}
	if n := b.count(t, `SELECT count(*) FROM qualification_decisions`); n != 0 {
		t.Errorf("%d decisions without criteria, want 0", n)
	}
}

func TestScoreRecomputeJobReappliesRules(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	other := b.workspace(t, "globex")
	const leads = 250 // several of the job's batches
	for _, ws := range []store.Workspace{b.ws, other} {
		if _, err := b.st.Pool.Exec(b.ctx, `
			INSERT INTO leads (id, workspace_id, email, email_canonical, status, company)
			SELECT gen_random_uuid(), $1, i || '@example.com', i || '@example.com', 'nurturing', 'Acme'
			FROM generate_series(1, $2) i`, ws.ID, leads); err != nil {
			t.Fatal(err)
		}
		if _, err := b.st.Pool.Exec(b.ctx, `
			INSERT INTO engagement_events (id, workspace_id, lead_id, kind, source_id, occurred_at)
			SELECT gen_random_uuid(), workspace_id, id, 'form_submitted', gen_random_uuid(), $2
			FROM leads WHERE workspace_id = $1`, ws.ID, b.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	b.drain(t)
	if n := b.count(t, `SELECT count(*) FROM leads WHERE score = 10`); n != 2*leads {
		t.Fatalf("%d leads scored 10, want %d", n, 2*leads)
	}

	// New rules change nobody's score until they are re-applied.
	b.rules(t, b.ws, `{"form_submitted": 25}`, `[{"field": "company", "op": "exists", "points": 50}]`, "", "")
	b.eng.RunOnce(b.ctx)
	if n := b.count(t, `SELECT count(*) FROM leads WHERE score = 25`); n != 0 {
		t.Fatalf("%d leads rescored without a job", n)
	}
	job, err := b.eng.StartRecompute(b.ctx, b.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != store.ScoreJobRunning || job.Total != leads || job.Done != 0 {
		t.Fatalf("new job = %+v, want running 0/%d", job, leads)
	}
	deadline := time.Now().Add(30 * time.Second)
	var progress []int
	for job.Status == store.ScoreJobRunning {
		if time.Now().After(deadline) {
			t.Fatalf("job still running: %+v", job)
		}
		b.eng.RunOnce(b.ctx)
		if job, err = b.eng.ScoreJob(b.ctx, b.ws.ID, job.ID); err != nil {
			t.Fatal(err)
		}
		progress = append(progress, job.Done)
	}
	if job.Status != store.ScoreJobDone || job.Done != leads || job.Total != leads || job.FinishedAt == nil {
		t.Errorf("finished job = %+v (progress %v), want done %d/%d", job, progress, leads, leads)
	}
	got := map[string]int{}
	rows, err := b.st.Pool.Query(b.ctx, `
		SELECT CASE WHEN workspace_id = $1 THEN 'acme' ELSE 'globex' END || ' ' || score || ' ' || grade, count(*)
		FROM leads GROUP BY 1`, b.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		got[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Every lead of the workspace has the new rules (25 points, 50 fit
	// points: C); the other workspace's keep theirs.
	want := map[string]int{"acme 25 C": leads, "globex 10 F": leads}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("leads by workspace, score and grade (-want +got):\n%s", diff)
	}

	// Another workspace's job is not found.
	if _, err := b.eng.ScoreJob(b.ctx, other.ID, job.ID); err == nil {
		t.Error("another workspace read the job")
	}
}

func TestScoreRulesValidation(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	half := "soon"
	_, err := b.eng.PutScoring(b.ctx, b.ws.ID, qualify.ScoringUpdate{
		Points: json.RawMessage(`{"form_submitted": 5, "tweeted": 3}`),
		FitRules: json.RawMessage(`[
			{"field": "title", "op": "equals", "value": "CEO", "points": 10},
			{"field": "shoe_size", "op": "exists", "points": 1},
			{"field": "country", "op": "like", "value": "US", "points": 1},
			{"field": "country", "op": "in", "points": 1},
			{"field": "country", "op": "equals", "points": "ten"},
			{"field": "title", "op": "exists", "colour": "red"}
		]`),
		GradeThresholds: json.RawMessage(`{"A": 50, "B": 60, "G": 1}`),
		HalfLife:        &half,
	})
	verr, ok := err.(*qualify.ValidationError)
	if !ok {
		t.Fatalf("err = %v, want a ValidationError", err)
	}
	var names []string
	for name := range verr.FieldErrors() {
		names = append(names, name)
	}
	want := map[string]bool{
		"points.tweeted": true, "fit_rules[1].field": true, "fit_rules[2].op": true,
		"fit_rules[3].values": true, "fit_rules[4].points": true, "fit_rules[5].colour": true,
		"grade_thresholds.B": true, "grade_thresholds.G": true, "half_life": true,
	}
	got := map[string]bool{}
	for _, n := range names {
		got[n] = true
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}
	// Nothing was saved.
	v, err := b.eng.Scoring(b.ctx, b.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.HalfLife != "30d" || v.Points["form_submitted"] != 10 || len(v.FitRules) != 0 {
		t.Errorf("rules after a rejected change = %+v, want the defaults", v)
	}
}

// TestQualifyOnceUnderConcurrency runs the engine from several goroutines
// while events keep arriving: the lead gets one decision and one handoff.
func TestQualifyOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	b.activate(t, b.ws, "MQL", `primary_interest != "" && score >= 30`)
	l := b.newLead(t, b.ws, func(l *store.Lead) { l.PrimaryInterest = "Engines" })
	bystander := b.newLead(t, b.ws, func(l *store.Lead) { l.PrimaryInterest = "Engines" })

	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	var wg sync.WaitGroup
	var runs atomic.Int64
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				b.eng.RunOnce(ctx)
				runs.Add(1)
			}
		})
	}
	for range 10 {
		b.event(t, l, store.EngagementFormSubmitted, b.clock.Now())
		b.event(t, bystander, "email_opened", b.clock.Now())
	}
	// The racing runners qualify the lead; events go on arriving after.
	deadline := time.Now().Add(30 * time.Second)
	for b.lead(t, l).Status != store.LeadMarketingQualified {
		if time.Now().After(deadline) {
			t.Fatalf("lead not qualified: %+v", b.lead(t, l))
		}
	}
	for range 10 {
		b.event(t, l, store.EngagementFormSubmitted, b.clock.Now())
	}
	cancel()
	wg.Wait()
	// Whatever the racing runs left marked, one runner finishes.
	b.drain(t)
	if got := b.lead(t, l).Score; got != 200 {
		t.Errorf("score = %d, want 200", got)
	}

	got := b.lead(t, l)
	if got.Status != store.LeadMarketingQualified {
		t.Errorf("status = %q, want marketing_qualified", got.Status)
	}
	for what, sql := range map[string]string{
		"decisions":       `SELECT count(*) FROM qualification_decisions WHERE lead_id = $1`,
		"handoffs":        `SELECT count(*) FROM handoffs WHERE lead_id = $1`,
		"status audits":   `SELECT count(*) FROM lead_audit WHERE lead_id = $1 AND action = 'status_changed'`,
		"status history":  `SELECT count(*) FROM lead_status_history WHERE lead_id = $1 AND to_status = 'marketing_qualified'`,
		"worker decision": `SELECT count(*) FROM qualification_decisions WHERE lead_id = $1 AND actor = 'worker:qualify'`,
	} {
		if n := b.count(t, sql, l.ID); n != 1 {
			t.Errorf("%s: %d, want 1", what, n)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM qualification_decisions WHERE lead_id = $1`, bystander.ID); n != 0 {
		t.Errorf("bystander (score %d) has %d decisions", b.lead(t, bystander).Score, n)
	}
	t.Logf("%d engine runs", runs.Load())
}

// drain runs the engine until no lead is marked for rescoring.
func (b *scoreBundle) drain(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.eng.RunOnce(b.ctx)
		if b.count(t, `SELECT count(*) FROM score_dirty`) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("leads still marked for rescoring")
		}
	}
}

// activate saves and activates a criteria version.
func (b *scoreBundle) activate(t *testing.T, ws store.Workspace, name, expression string) store.Criteria {
	t.Helper()
	c, err := b.eng.CreateCriteria(b.ctx, ws.ID, qualify.CriteriaInput{
		Name: name, Expression: expression, AgreedByMarketing: "Ann", AgreedBySales: "Bob",
	})
	if err != nil {
		t.Fatalf("create criteria: %v", err)
	}
	if c, err = b.eng.ActivateCriteria(b.ctx, ws.ID, c.ID); err != nil {
		t.Fatalf("activate criteria: %v", err)
	}
	return c
}

// BenchmarkScorePending measures how fast the scoring worker drains marked
// leads (five events each, active criteria that nobody meets), in one
// process: the throughput behind "within seconds of an event".
func BenchmarkScorePending(b *testing.B) {
	ctx := context.Background()
	st := storetest.NewStore(b)
	rdb := redis.NewClient(storetest.RedisOptions(b))
	b.Cleanup(func() { rdb.Close() })
	eng, err := qualify.New(qualify.Config{
		Store: st, Queue: asynq.NewClientFromRedisClient(rdb), BaseURL: "https://leadflow.example",
	})
	if err != nil {
		b.Fatal(err)
	}
	ws, err := st.EnsureWorkspace(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	c, err := eng.CreateCriteria(ctx, ws.ID, qualify.CriteriaInput{
		Name: "MQL", Expression: `primary_interest != "" && score >= 1000`, AgreedByMarketing: "Ann", AgreedBySales: "Bob",
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := eng.ActivateCriteria(ctx, ws.ID, c.ID); err != nil {
		b.Fatal(err)
	}
	const leads = 2000
	for _, sql := range []string{
		`INSERT INTO leads (id, workspace_id, email, email_canonical, status, primary_interest)
		 SELECT gen_random_uuid(), $1, i || '@example.com', i || '@example.com', 'nurturing', 'Engines'
		 FROM generate_series(1, ` + fmt.Sprint(leads) + `) i`,
		`INSERT INTO engagement_events (id, workspace_id, lead_id, kind, source_id, occurred_at)
		 SELECT gen_random_uuid(), workspace_id, id, k, gen_random_uuid(), now() - i * interval '1 day'
		 FROM leads, unnest('{form_submitted,email_sent,email_opened,email_clicked,email_opened}'::text[]) WITH ORDINALITY AS e(k, i)
		 WHERE workspace_id = $1`,
	} {
		if _, err := st.Pool.Exec(ctx, sql, ws.ID); err != nil {
			b.Fatal(err)
		}
	}
	count := func() int {
		var n int
		if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM score_dirty`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		if _, err := st.Pool.Exec(ctx, `INSERT INTO score_dirty (lead_id, workspace_id)
			SELECT id, workspace_id FROM leads ON CONFLICT DO NOTHING`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for count() > 0 {
			eng.RunOnce(ctx)
		}
	}
	b.ReportMetric(float64(leads*b.N)/b.Elapsed().Seconds(), "leads/s")
}
