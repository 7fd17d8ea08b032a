package nurture

import (
	"cmp"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/capture"
	"leadflow/store"
	"leadflow/store/storetest"
)

const (
	testSecret  = "a test secret that is long enough for the signer"
	testBaseURL = "https://lf.example"
)

// engineBundle is what the engine tests work with: a fresh database and
// Redis database, a real SMTP server, a workspace with its sending settings,
// and an engine on a clock the test can move.
type engineBundle struct {
	ctx      context.Context
	store    *store.Store
	dbURL    string
	redisURL string
	rdb      *redis.Client
	queue    *asynq.Client
	smtp     *smtpServer
	clock    *testClock
	signer   *Signer
	cfg      Config
	eng      *Engine
	ws       store.Workspace
	// concurrency is how many tasks startWorker runs at once (default 8).
	concurrency int
}

// setupEngine builds the bundle; edit may change the engine's config.
func setupEngine(t testing.TB, edit ...func(*Config)) *engineBundle {
	t.Helper()
	ctx := context.Background()
	b := &engineBundle{ctx: ctx, clock: &testClock{}}
	b.dbURL = storetest.DatabaseURL(t)
	st, err := store.Open(ctx, b.dbURL)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(st.Close)
	b.store = st
	b.redisURL = storetest.RedisURL(t)
	opts, err := redis.ParseURL(b.redisURL)
	if err != nil {
		t.Fatalf("redis url: %v", err)
	}
	b.rdb = redis.NewClient(opts)
	t.Cleanup(func() { b.rdb.Close() })
	b.queue = asynq.NewClientFromRedisClient(b.rdb)
	b.smtp = newSMTPServer(t)
	// Links are signed at one instant, so a test can make the same link
	// again and compare.
	signedAt := time.Now()
	if b.signer, err = NewSignerFrom(SignerConfig{Secret: testSecret, Now: func() time.Time { return signedAt }}); err != nil {
		t.Fatal(err)
	}
	b.settings(t, func(s *store.WorkspaceSettings) {})
	b.cfg = Config{
		Store: st, Queue: b.queue, Redis: b.rdb, Signer: b.signer, BaseURL: testBaseURL,
		SMTP:              SMTPConfig{Host: b.smtp.Host, Port: b.smtp.Port, TLS: "none", HeloName: "test-engine"},
		Logger:            testLogger(),
		Now:               b.clock.Now,
		SchedulerInterval: 50 * time.Millisecond,
		Lease:             3 * time.Second,
		RetryDelay:        func(int) time.Duration { return 100 * time.Millisecond },
	}
	for _, e := range edit {
		e(&b.cfg)
	}
	if b.eng, err = New(b.cfg); err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { b.eng.Close() })
	return b
}

// settings writes the workspace's sending settings: a sender, a postal
// address and a fast rate, changed by edit.
func (b *engineBundle) settings(t testing.TB, edit func(*store.WorkspaceSettings)) store.Workspace {
	t.Helper()
	ws, err := b.store.EnsureWorkspace(b.ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	s := store.WorkspaceSettings{
		SenderName: "Acme Marketing", SenderEmail: "news@acme.example",
		PostalAddress: "Acme Ltd, 1 High Street, Bristol BS1 1AA", SendRatePerSecond: 1000,
		Timezone: "UTC",
	}
	edit(&s)
	if ws, err = b.store.UpdateWorkspaceSettings(b.ctx, ws.ID, s); err != nil {
		t.Fatalf("workspace settings: %v", err)
	}
	b.ws = ws
	return ws
}

// startWorker runs, in this process, an Asynq server with the engine's
// handlers and the engine's scheduler, until the test ends.
func (b *engineBundle) startWorker(t testing.TB) {
	t.Helper()
	srv := newTestServer(b.rdb, cmp.Or(b.concurrency, 8))
	mux := asynq.NewServeMux()
	b.eng.Handlers(mux)
	if err := srv.Start(mux); err != nil {
		t.Fatalf("start asynq server: %v", err)
	}
	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.eng.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Shutdown()
	})
}

// startProcess starts a worker process (killed when the test ends) and
// waits until it takes tasks. Worker processes run on the real clock.
func (b *engineBundle) startProcess(t testing.TB, helo string) *storetest.Process {
	t.Helper()
	return storetest.StartProcess(t, workerEnv, testWorkerConfig{
		DatabaseURL: b.dbURL, RedisURL: b.redisURL, SMTPHost: b.smtp.Host, SMTPPort: b.smtp.Port,
		Helo: helo, BaseURL: testBaseURL, Secret: testSecret, Lease: b.cfg.Lease,
		Interval: b.cfg.SchedulerInterval, Concurrency: 8, PoolSize: b.cfg.SMTP.PoolSize,
	})
}

// testClock is the real clock moved forward by the test.
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// Advance moves the clock forward.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// Set moves the clock to t (forward only, for the scheduler's sake).
func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off = time.Until(t)
}

// newTemplate stores a template.
func (b *engineBundle) newTemplate(t testing.TB, subject, html, text string) store.Template {
	t.Helper()
	tpl, err := b.store.InsertTemplate(b.ctx, store.Template{
		WorkspaceID: b.ws.ID, Name: "t " + subject, Subject: subject, HTMLBody: html, TextBody: text,
		Defaults: map[string]string{"first_name": "there"},
	})
	if err != nil {
		t.Fatalf("new template: %v", err)
	}
	return tpl
}

// newSequence stores an active sequence with these steps; edit may change
// it before it is stored.
func (b *engineBundle) newSequence(t testing.TB, steps []Step, edit func(*store.Sequence)) store.Sequence {
	t.Helper()
	raw, err := json.Marshal(steps)
	if err != nil {
		t.Fatal(err)
	}
	s := store.Sequence{WorkspaceID: b.ws.ID, Name: "Welcome", Timezone: "UTC", Steps: raw,
		ExitCriteria: []string{ExitUnsubscribed, ExitBounced, ExitQualified, ExitConverted}}
	if edit != nil {
		edit(&s)
	}
	seq, err := b.store.InsertSequence(b.ctx, s)
	if err != nil {
		t.Fatalf("new sequence: %v", err)
	}
	if seq, err = b.store.SetSequenceStatus(b.ctx, b.ws.ID, seq.ID, store.SequenceActive); err != nil {
		t.Fatalf("activate sequence: %v", err)
	}
	return seq
}

// newLead stores a lead with this address, consenting, changed by edit.
func (b *engineBundle) newLead(t testing.TB, email string, edit func(*store.Lead)) store.Lead {
	t.Helper()
	now := time.Now()
	l := store.Lead{WorkspaceID: b.ws.ID, Email: email, EmailCanonical: strings.ToLower(email),
		FirstName: "Ada", LastName: "Lovelace", Company: "Analytical Engines", Status: store.LeadNew,
		Consent: true, ConsentAt: &now}
	if edit != nil {
		edit(&l)
	}
	tz := l.Timezone
	l, err := b.store.InsertLead(b.ctx, l)
	if err != nil {
		t.Fatalf("new lead: %v", err)
	}
	if tz != "" { // InsertLead leaves the time zone to later flows
		if _, err := b.store.Pool.Exec(b.ctx, `UPDATE leads SET timezone = $2 WHERE id = $1`, l.ID, tz); err != nil {
			t.Fatal(err)
		}
		l.Timezone = tz
	}
	return l
}

// newForm stores a contact-us form, or an event registration form for
// eventID.
func (b *engineBundle) newForm(t testing.TB, eventID *uuid.UUID) store.Form {
	t.Helper()
	f := store.Form{ID: store.NewID(), WorkspaceID: b.ws.ID, Key: "f" + store.NewID().String()[24:], Kind: store.FormContactUs}
	if eventID != nil {
		f.Kind, f.EventID = store.FormEventRegistration, eventID
	}
	if _, err := b.store.Pool.Exec(b.ctx, `INSERT INTO forms (id, workspace_id, key, kind, event_id) VALUES ($1, $2, $3, $4, $5)`,
		f.ID, f.WorkspaceID, f.Key, f.Kind, f.EventID); err != nil {
		t.Fatalf("new form: %v", err)
	}
	return f
}

// enroll enrolls a lead by hand.
func (b *engineBundle) enroll(t testing.TB, seq store.Sequence, lead store.Lead) store.Enrollment {
	t.Helper()
	enr, err := b.eng.EnrollManual(b.ctx, b.ws.ID, seq.ID, lead.ID, "test")
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	return enr
}

// enrollment reads an enrollment back.
func (b *engineBundle) enrollment(t testing.TB, id uuid.UUID) store.Enrollment {
	t.Helper()
	e, err := b.store.GetEnrollment(b.ctx, b.ws.ID, id)
	if err != nil {
		t.Fatalf("get enrollment: %v", err)
	}
	return e
}

// messages lists the messages to an address, oldest first.
func (b *engineBundle) messages(t testing.TB, to string) []store.Message {
	t.Helper()
	rows, err := b.store.Pool.Query(b.ctx, `SELECT id FROM messages WHERE workspace_id = $1 AND to_email = $2 ORDER BY created_at, id`, b.ws.ID, to)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	var out []store.Message
	for _, id := range ids {
		m, err := b.store.GetMessage(b.ctx, b.ws.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// waitEnrollment polls until the enrollment satisfies cond.
func (b *engineBundle) waitEnrollment(t testing.TB, id uuid.UUID, within time.Duration, what string, cond func(store.Enrollment) bool) store.Enrollment {
	t.Helper()
	var e store.Enrollment
	eventually(t, within, func() bool {
		e = b.enrollment(t, id)
		return cond(e)
	}, "enrollment %s: %s", id, what)
	return e
}

// emailStep, waitStep and so on build steps.
func emailStep(key string, tpl store.Template) Step {
	id := tpl.ID
	return Step{Key: key, Type: StepEmail, TemplateID: &id}
}

func waitStep(key string, d time.Duration) Step {
	return Step{Key: key, Type: StepWait, Duration: Duration(d)}
}

// postResponse commits a pending response on form with these fields, as
// capture's intake would.
func (b *engineBundle) postResponse(t testing.TB, form store.Form, f capture.Fields) uuid.UUID {
	t.Helper()
	fields, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	id := store.NewID()
	if _, err := b.store.Pool.Exec(b.ctx, `
		INSERT INTO responses (id, workspace_id, form_id, received_at, user_agent, raw, fields, verdict, status)
		VALUES ($1, $2, $3, $4, 'test', $5, $6, 'ok', 'pending')`,
		id, form.WorkspaceID, form.ID, time.Now(), map[string][]string{"email": {f.Email}}, fields); err != nil {
		t.Fatalf("post response: %v", err)
	}
	return id
}

// processor is capture's response processor handing responses to the
// engine, as cmd wires them.
func (b *engineBundle) processor(t testing.TB) *capture.Processor {
	t.Helper()
	p, err := capture.NewProcessor(capture.ProcessorConfig{Store: b.store, Enroller: b.eng})
	if err != nil {
		t.Fatalf("NewProcessor: %v", err)
	}
	return p
}
