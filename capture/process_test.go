package capture_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"

	"leadflow/capture"
	"leadflow/store"
	"leadflow/store/storetest"
)

// workerBundle is what the resolve, sweeper and merge tests work with: a
// fresh database, a processor on it, and a workspace with a contact-us form.
type workerBundle struct {
	ctx   context.Context
	store *store.Store
	proc  *capture.Processor
	ws    store.Workspace
	form  store.Form
}

func setupWorker(t *testing.T) *workerBundle {
	t.Helper()
	ctx := context.Background()
	s := storetest.NewStore(t)
	proc, err := capture.NewProcessor(capture.ProcessorConfig{Store: s})
	if err != nil {
		t.Fatalf("NewProcessor: %v", err)
	}
	b := &workerBundle{ctx: ctx, store: s, proc: proc}
	b.ws = b.newWorkspace(t, "acme-marketing")
	b.form = b.newForm(t, b.ws, nil)
	return b
}

func (b *workerBundle) newWorkspace(t *testing.T, name string) store.Workspace {
	t.Helper()
	ws, err := b.store.EnsureWorkspace(b.ctx, name)
	if err != nil {
		t.Fatalf("new workspace: %v", err)
	}
	return ws
}

// newForm makes a contact-us form, or whatever edit makes of it.
func (b *workerBundle) newForm(t *testing.T, ws store.Workspace, edit func(*store.Form)) store.Form {
	t.Helper()
	f := store.Form{ID: store.NewID(), WorkspaceID: ws.ID, Key: "f" + store.NewID().String()[24:],
		Kind: store.FormContactUs, ConsentText: "Yes, send me news."}
	if edit != nil {
		edit(&f)
	}
	_, err := b.store.Pool.Exec(b.ctx, `
		INSERT INTO forms (id, workspace_id, key, kind, event_id, campaign, consent_text)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		f.ID, f.WorkspaceID, f.Key, f.Kind, f.EventID, f.Campaign, f.ConsentText)
	if err != nil {
		t.Fatalf("new form: %v", err)
	}
	return f
}

// newEvent makes an event; capacity 0 means unlimited.
func (b *workerBundle) newEvent(t *testing.T, ws store.Workspace, capacity int) uuid.UUID {
	t.Helper()
	id := store.NewID()
	var capArg *int
	if capacity > 0 {
		capArg = &capacity
	}
	if _, err := b.store.Pool.Exec(b.ctx, `INSERT INTO events (id, workspace_id, name, capacity) VALUES ($1, $2, 'Launch day', $3)`,
		id, ws.ID, capArg); err != nil {
		t.Fatalf("new event: %v", err)
	}
	return id
}

func (b *workerBundle) newContact(t *testing.T, ws store.Workspace, c store.Contact) store.Contact {
	t.Helper()
	c.ID, c.WorkspaceID = store.NewID(), ws.ID
	if c.Email != "" {
		c.Email, c.EmailCanonical = normEmail(t, c.Email)
	}
	if _, err := b.store.Pool.Exec(b.ctx, `
		INSERT INTO contacts (id, workspace_id, first_name, last_name, email, email_canonical, phone, company, title, country)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.ID, c.WorkspaceID, c.FirstName, c.LastName, c.Email, c.EmailCanonical, c.Phone, c.Company, c.Title, c.Country); err != nil {
		t.Fatalf("new contact: %v", err)
	}
	return c
}

func normEmail(t *testing.T, posted string) (email, canonical string) {
	t.Helper()
	email, canonical, err := capture.NormalizeEmail(posted)
	if err != nil {
		t.Fatalf("NormalizeEmail(%q): %v", posted, err)
	}
	return email, canonical
}

// person is a submission's normalised fields for the given posted email.
func personFields(t *testing.T, posted, first, last, company string) capture.Fields {
	t.Helper()
	f := capture.Fields{FirstName: first, LastName: last, Company: company}
	if posted != "" {
		f.Email, f.EmailCanonical = normEmail(t, posted)
	}
	return f
}

// responseOpts are the parts of a response fixture tests vary.
type responseOpts struct {
	receivedAt time.Time
	status     string
	verdict    string
	utm        map[string]string
	custom     map[string]string
}

// newResponse commits a response as capture would, pending unless opts say
// otherwise, received a minute ago by default.
func (b *workerBundle) newResponse(t *testing.T, form store.Form, f capture.Fields, opts ...func(*responseOpts)) uuid.UUID {
	t.Helper()
	o := responseOpts{receivedAt: time.Now().Add(-time.Minute), status: store.ResponsePending,
		verdict: store.VerdictOK, utm: map[string]string{}, custom: map[string]string{}}
	for _, opt := range opts {
		opt(&o)
	}
	fields, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	id := store.NewID()
	ip := netip.MustParseAddr("203.0.113.7")
	if _, err := b.store.Pool.Exec(b.ctx, `
		INSERT INTO responses (id, workspace_id, form_id, received_at, ip, user_agent, raw, fields, utm, custom,
			verdict, status)
		VALUES ($1, $2, $3, $4, $5, 'test', $6, $7, $8, $9, $10, $11)`,
		id, form.WorkspaceID, form.ID, o.receivedAt, ip, map[string][]string{"email": {f.Email}},
		fields, o.utm, o.custom, o.verdict, o.status); err != nil {
		t.Fatalf("new response: %v", err)
	}
	return id
}

func (b *workerBundle) process(t *testing.T, responseID uuid.UUID) capture.Outcome {
	t.Helper()
	out, err := b.proc.Process(b.ctx, responseID)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	return out
}

func (b *workerBundle) lead(t *testing.T, ws store.Workspace, id uuid.UUID) store.Lead {
	t.Helper()
	l, err := b.store.GetLead(b.ctx, ws.ID, id)
	if err != nil {
		t.Fatalf("GetLead: %v", err)
	}
	return l
}

func (b *workerBundle) response(t *testing.T, ws store.Workspace, id uuid.UUID) store.Response {
	t.Helper()
	r, err := b.store.GetResponse(b.ctx, ws.ID, id)
	if err != nil {
		t.Fatalf("GetResponse: %v", err)
	}
	return r
}

// warmPool opens every connection the pool may hold, so concurrent
// transactions really overlap instead of queueing behind connection set-up.
func (b *workerBundle) warmPool(t *testing.T) {
	t.Helper()
	var held []*pgxpool.Conn
	for range b.store.Pool.Config().MaxConns {
		c, err := b.store.Pool.Acquire(b.ctx)
		if err != nil {
			t.Fatalf("warm pool: %v", err)
		}
		held = append(held, c)
	}
	for _, c := range held {
		c.Release()
	}
}

// count runs a count(*) query.
func (b *workerBundle) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := b.store.Pool.QueryRow(b.ctx, query, args...).Scan(&n); err != nil {
		t.Fatalf("count %q: %v", query, err)
	}
	return n
}

// auditActions lists a lead's audit trail as "action field old->new".
func (b *workerBundle) auditActions(t *testing.T, ws store.Workspace, leadID uuid.UUID) []string {
	t.Helper()
	entries, err := b.store.LeadAudit(b.ctx, ws.ID, leadID)
	if err != nil {
		t.Fatalf("LeadAudit: %v", err)
	}
	var out []string
	for _, e := range entries {
		s := e.Action
		if e.Field != "" {
			s += " " + e.Field + " " + e.OldValue + "->" + e.NewValue
		}
		out = append(out, s)
	}
	return out
}

// recordState snapshots everything processing writes, to show a repeat
// changed nothing.
func (b *workerBundle) recordState(t *testing.T) string {
	t.Helper()
	var s string
	if err := b.store.Pool.QueryRow(b.ctx, `
		SELECT (SELECT count(*) FROM leads)::text || ' leads, ' ||
		       (SELECT count(*) FROM lead_audit)::text || ' audit, ' ||
		       (SELECT count(*) FROM engagement_events)::text || ' engagement, ' ||
		       (SELECT count(*) FROM event_registrations)::text || ' registrations, ' ||
		       (SELECT count(*) FROM possible_duplicates)::text || ' duplicates, ' ||
		       (SELECT string_agg(id::text || '=' || status || '/' || outcome || '/' || coalesce(lead_id::text, '') || '@' || coalesce(processed_at::text, ''), ',' ORDER BY id) FROM responses) || ' ' ||
		       (SELECT string_agg(id::text || '@' || updated_at::text, ',' ORDER BY id) FROM leads)`).Scan(&s); err != nil {
		t.Fatalf("record state: %v", err)
	}
	return s
}

// eventually polls cond until it holds or the deadline passes.
func pollFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for an outcome
	}
}

// startWorkers runs a real Asynq server on the test's Redis database with
// handler, stopped when the test ends.
func startWorkers(t *testing.T, redisURL string, concurrency int, handler asynq.Handler) {
	t.Helper()
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatalf("parse redis url: %v", err)
	}
	srv := asynq.NewServer(opt, asynq.Config{
		Concurrency:     concurrency,
		Queues:          map[string]int{capture.Queue: 1},
		LogLevel:        asynq.FatalLevel,
		ShutdownTimeout: 10 * time.Second,
		// Fail fast in tests: a retried task would otherwise wait seconds.
		RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return 10 * time.Millisecond },
	})
	mux := asynq.NewServeMux()
	mux.Handle(capture.TypeProcessResponse, handler)
	if err := srv.Start(mux); err != nil {
		t.Fatalf("start asynq server: %v", err)
	}
	t.Cleanup(srv.Shutdown)
}

func newQueueClient(t *testing.T, redisURL string) *asynq.Client {
	t.Helper()
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatalf("parse redis url: %v", err)
	}
	c := asynq.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// janeVariants are one person's email as fifty submissions might post it.
func janeVariants(n int) []string {
	forms := []string{"Jane@Example.com", "JANE@example.COM", "jane+x@example.com", "jane@example.com",
		" Jane+Newsletter@EXAMPLE.com "}
	out := make([]string, n)
	for i := range out {
		out[i] = forms[i%len(forms)]
	}
	return out
}

func (b *workerBundle) assertOneJane(t *testing.T, n int) {
	t.Helper()
	_, canonical := normEmail(t, "jane@example.com")
	if got := b.count(t, `SELECT count(*) FROM leads WHERE workspace_id = $1`, b.ws.ID); got != 1 {
		t.Fatalf("leads = %d, want 1", got)
	}
	var leadID uuid.UUID
	if err := b.store.Pool.QueryRow(b.ctx, `SELECT id FROM leads WHERE email_canonical = $1`, canonical).Scan(&leadID); err != nil {
		t.Fatalf("find jane's lead: %v", err)
	}
	got := map[string]int{
		"processed responses": b.count(t, `SELECT count(*) FROM responses WHERE lead_id = $1 AND status = 'processed'`, leadID),
		"created outcomes":    b.count(t, `SELECT count(*) FROM responses WHERE outcome = 'created'`),
		"merged outcomes":     b.count(t, `SELECT count(*) FROM responses WHERE outcome = 'merged'`),
		"created audit":       b.count(t, `SELECT count(*) FROM lead_audit WHERE lead_id = $1 AND action = 'created'`, leadID),
		"merge audit":         b.count(t, `SELECT count(*) FROM lead_audit WHERE lead_id = $1 AND action = 'response_merged'`, leadID),
		"engagement":          b.count(t, `SELECT count(*) FROM engagement_events WHERE lead_id = $1`, leadID),
	}
	want := map[string]int{
		"processed responses": n,
		"created outcomes":    1,
		"merged outcomes":     n - 1,
		"created audit":       1,
		"merge audit":         n - 1,
		"engagement":          n,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("jane's records (-want +got):\n%s", diff)
	}
}

func TestProcessFiftyConcurrentSubmissionsMakeOneLead(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	var ids []uuid.UUID
	for _, email := range janeVariants(50) {
		ids = append(ids, b.newResponse(t, b.form, personFields(t, email, "Jane", "Doe", "Example Inc")))
	}

	b.warmPool(t)
	start := make(chan struct{})
	errs := make(chan error, len(ids))
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			<-start
			_, err := b.proc.Process(b.ctx, id)
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Process: %v", err)
		}
	}
	b.assertOneJane(t, len(ids))
}

// Phones have no unique index behind them: only the identity lock keeps
// concurrent submissions of one phone to one lead.
func TestProcessConcurrentPhoneOnlySubmissionsMakeOneLead(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	var ids []uuid.UUID
	for range 20 {
		ids = append(ids, b.newResponse(t, b.form, capture.Fields{Phone: "+14155550142", FirstName: "Ida"}))
	}
	b.warmPool(t)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			<-start
			if _, err := b.proc.Process(b.ctx, id); err != nil {
				t.Errorf("Process: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := b.count(t, `SELECT count(*) FROM leads`); n != 1 {
		t.Errorf("leads = %d, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM responses WHERE status = 'processed'`); n != len(ids) {
		t.Errorf("processed responses = %d, want %d", n, len(ids))
	}
}

func TestProcessFiftySubmissionsThroughAsynqMakeOneLead(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	redisURL := storetest.RedisURL(t)
	client := newQueueClient(t, redisURL)
	for _, email := range janeVariants(50) {
		id := b.newResponse(t, b.form, personFields(t, email, "Jane", "Doe", "Example Inc"))
		if err := capture.EnqueueProcess(b.ctx, client, id); err != nil {
			t.Fatalf("EnqueueProcess: %v", err)
		}
	}
	startWorkers(t, redisURL, 10, asynq.HandlerFunc(b.proc.ProcessTask))
	pollFor(t, 30*time.Second, "fifty responses processed", func() bool {
		return b.count(t, `SELECT count(*) FROM responses WHERE status = 'processed'`) == 50
	})
	b.assertOneJane(t, 50)
}

func TestProcessTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	eventID := b.newEvent(t, b.ws, 10)
	regForm := b.newForm(t, b.ws, func(f *store.Form) { f.Kind, f.EventID = store.FormEventRegistration, &eventID })
	first := b.newResponse(t, b.form, personFields(t, "ann@example.com", "Ann", "Lee", "Initech"))
	second := b.newResponse(t, regForm, personFields(t, "ann@example.com", "Ann", "Lee", "Initech Corp"))

	out1 := b.process(t, first)
	out2 := b.process(t, second)
	before := b.recordState(t)

	again1 := b.process(t, first)
	again2 := b.process(t, second)
	if diff := cmp.Diff(before, b.recordState(t)); diff != "" {
		t.Errorf("processing again changed records (-before +after):\n%s", diff)
	}
	want1, want2 := out1, out2
	want1.Unchanged, want2.Unchanged = true, true
	want2.Registration = "" // a repeat reports what it did, and it did nothing
	if diff := cmp.Diff(want1, again1); diff != "" {
		t.Errorf("repeat outcome of the first response (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want2, again2); diff != "" {
		t.Errorf("repeat outcome of the second response (-want +got):\n%s", diff)
	}
	if out2.Result != capture.OutcomeMerged || out2.Registration != store.RegistrationRegistered {
		t.Errorf("second response: result %q registration %q, want merged, registered", out2.Result, out2.Registration)
	}
}

func TestProcessReenqueuedAfterCompletionChangesNothing(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	redisURL := storetest.RedisURL(t)
	client := newQueueClient(t, redisURL)
	handled := make(chan error, 10)
	startWorkers(t, redisURL, 2, asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		err := b.proc.ProcessTask(ctx, task)
		handled <- err
		return err
	}))
	id := b.newResponse(t, b.form, personFields(t, "bo@example.com", "Bo", "Ng", "Hooli"))

	var afterFirst string
	for round := range 2 {
		// The handler reports before Asynq has marked the task done; until
		// then the task ID is taken and an enqueue merges into it. Enqueue
		// for real only once the first task has completed.
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := client.EnqueueContext(b.ctx, capture.NewProcessTask(id))
			if err == nil {
				break
			}
			if !errors.Is(err, asynq.ErrTaskIDConflict) || time.Now().After(deadline) {
				t.Fatalf("round %d: enqueue: %v", round, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		select {
		case err := <-handled:
			if err != nil {
				t.Fatalf("round %d: handler: %v", round, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: task never handled", round)
		}
		if round == 0 {
			afterFirst = b.recordState(t)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM responses WHERE status = 'processed'`); n != 1 {
		t.Fatalf("processed responses = %d, want 1", n)
	}
	if diff := cmp.Diff(afterFirst, b.recordState(t)); diff != "" {
		t.Errorf("the re-enqueued task changed records (-first +second):\n%s", diff)
	}
}

func TestProcessTaskRetrySemantics(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	id := b.newResponse(t, b.form, personFields(t, "cy@example.com", "Cy", "Park", ""))
	good, _ := json.Marshal(capture.ProcessPayload{ResponseID: id})
	unknown, _ := json.Marshal(capture.ProcessPayload{ResponseID: store.NewID()})
	tests := []struct {
		name      string
		payload   []byte
		wantErr   bool
		wantRetry bool
	}{
		{name: "known response", payload: good},
		{name: "undecodable payload", payload: []byte("{not json"), wantErr: true},
		{name: "no response id", payload: []byte(`{}`), wantErr: true},
		{name: "unknown response", payload: unknown, wantErr: true},
	}
	for _, tt := range tests {
		err := b.proc.ProcessTask(b.ctx, asynq.NewTask(capture.TypeProcessResponse, tt.payload))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.name, err, tt.wantErr)
		}
		if err != nil && !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("%s: err = %v, want it to skip retries", tt.name, err)
		}
	}

	// The database going away is transient: Asynq must retry.
	closed := storetest.NewStore(t)
	closedProc, err := capture.NewProcessor(capture.ProcessorConfig{Store: closed})
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	err = closedProc.ProcessTask(b.ctx, asynq.NewTask(capture.TypeProcessResponse, good))
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Errorf("with the database closed: err = %v, want a retryable error", err)
	}
}

func TestProcessHeldSpamIsLeftAloneUntilReleased(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	held := b.newResponse(t, b.form, personFields(t, "spam@example.com", "Buy", "Now", ""), func(o *responseOpts) {
		o.verdict, o.status = store.VerdictSpam, store.ResponseHeld
	})
	ok := b.newResponse(t, b.form, personFields(t, "real@example.com", "Real", "Person", ""))

	out := b.process(t, held)
	if diff := cmp.Diff(capture.Outcome{ResponseID: held, WorkspaceID: b.ws.ID, Status: store.ResponseHeld, Unchanged: true}, out, cmpopts.IgnoreFields(capture.Outcome{}, "ReceivedAt")); diff != "" {
		t.Errorf("outcome of a held response (-want +got):\n%s", diff)
	}
	if n := b.count(t, `SELECT count(*) FROM leads`); n != 0 {
		t.Fatalf("a held response made %d leads", n)
	}

	if _, err := b.proc.Release(b.ctx, b.ws.ID, ok, "api_key:test"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Release of a response never held: err = %v, want ErrConflict", err)
	}
	other := b.newWorkspace(t, "someone-else")
	if _, err := b.proc.Release(b.ctx, other.ID, held, "api_key:test"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Release from another workspace: err = %v, want ErrNotFound", err)
	}
	for range 2 { // releasing twice is harmless
		r, err := b.proc.Release(b.ctx, b.ws.ID, held, "api_key:test")
		if err != nil {
			t.Fatalf("Release: %v", err)
		}
		if diff := cmp.Diff([2]string{store.VerdictReleased, store.ResponsePending}, [2]string{r.Verdict, r.Status}); diff != "" {
			t.Errorf("released response verdict/status (-want +got):\n%s", diff)
		}
	}
	out = b.process(t, held)
	if out.Result != capture.OutcomeCreated || out.Status != store.ResponseProcessed {
		t.Errorf("released response: %+v, want a created lead", out)
	}
	if _, err := b.proc.Release(b.ctx, b.ws.ID, held, "api_key:test"); err != nil {
		t.Errorf("Release after processing: %v", err)
	}
	if got := b.response(t, b.ws, held).Status; got != store.ResponseProcessed {
		t.Errorf("a processed released response went back to %q", got)
	}
}

func TestProcessWorkspaceIsolation(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	other := b.newWorkspace(t, "other-company")
	otherForm := b.newForm(t, other, nil)
	b.newContact(t, other, store.Contact{FirstName: "Dee", LastName: "Ray", Email: "dee@example.com"})

	here := b.process(t, b.newResponse(t, b.form, personFields(t, "dee@example.com", "Dee", "Ray", "Globex")))
	there := b.process(t, b.newResponse(t, otherForm, personFields(t, "DEE@example.com", "Dee", "Ray", "Globex")))

	if here.LeadID == there.LeadID {
		t.Fatal("two workspaces share one lead")
	}
	got := []string{here.Result, there.Result}
	if diff := cmp.Diff([]string{capture.OutcomeCreated, capture.OutcomeLinkedContact}, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if l := b.lead(t, b.ws, here.LeadID); l.ContactID != nil {
		t.Errorf("lead linked to another workspace's contact %v", l.ContactID)
	}
	if _, err := b.store.GetLead(b.ctx, b.ws.ID, there.LeadID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the other workspace's lead seen from here: %v", err)
	}
	if n := b.count(t, `SELECT count(*) FROM possible_duplicates`); n != 0 {
		t.Errorf("%d possible duplicates across workspaces, want 0", n)
	}
}

// logBuffer is a log destination goroutines can share.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// switchableQueue is the real queue client with a switch that makes it fail
// as it does when Redis is down.
type switchableQueue struct {
	capture.Enqueuer
	down  atomic.Bool
	calls atomic.Int64
}

func (q *switchableQueue) EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	q.calls.Add(1)
	if q.down.Load() {
		return nil, fmt.Errorf("dial tcp 127.0.0.1:6379: connect: connection refused")
	}
	return q.Enqueuer.EnqueueContext(ctx, task, opts...)
}
