package qualify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"leadflow/store"
	"leadflow/store/storetest"
)

// These tests are inside the package: they drive handOff, the SLA job and
// the webhook loop one step at a time, on a clock they move.

// hoClock is the engine's injected clock, moved by the test.
type hoClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *hoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *hoClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// hoLogs keeps what the engine logs.
type hoLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *hoLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *hoLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// hoBundle is an engine on a fresh database with one workspace, a clock the
// test moves and the engine's logs.
type hoBundle struct {
	ctx   context.Context
	st    *store.Store
	eng   *Engine
	clock *hoClock
	ws    store.Workspace
	logs  *hoLogs
}

func hoSetup(t *testing.T) *hoBundle {
	t.Helper()
	ctx := context.Background()
	st := storetest.NewStore(t)
	rdb := redis.NewClient(storetest.RedisOptions(t))
	t.Cleanup(func() { rdb.Close() })
	clock := &hoClock{now: time.Date(2031, 3, 10, 9, 0, 0, 0, time.UTC)}
	logs := &hoLogs{}
	eng, err := New(Config{
		Store: st, Queue: asynq.NewClientFromRedisClient(rdb), BaseURL: "https://leadflow.example",
		Now: clock.Now, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := st.EnsureWorkspace(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	return &hoBundle{ctx: ctx, st: st, eng: eng, clock: clock, ws: ws, logs: logs}
}

// user makes a sales rep of the workspace.
func (b *hoBundle) user(t *testing.T, name string, available bool) store.User {
	t.Helper()
	u, err := b.st.InsertUser(b.ctx, store.User{
		WorkspaceID: b.ws.ID, Name: name, Email: strings.ToLower(name) + "@sales.example",
		Role: store.UserSalesRep, Available: available,
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// team makes a team with a manager (or none) and members.
func (b *hoBundle) team(t *testing.T, name string, manager *store.User, members ...store.TeamMember) store.Team {
	t.Helper()
	tm := store.Team{WorkspaceID: b.ws.ID, Name: name}
	if manager != nil {
		tm.ManagerID = &manager.ID
	}
	err := b.st.InTx(b.ctx, func(q *store.Queries) error {
		var err error
		if tm, err = q.InsertTeam(b.ctx, tm); err != nil {
			return err
		}
		return q.ReplaceTeamMembers(b.ctx, b.ws.ID, tm.ID, members)
	})
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func member(u store.User, weight int, dailyCap int) store.TeamMember {
	m := store.TeamMember{UserID: u.ID, Weight: weight}
	if dailyCap > 0 {
		m.DailyCap = &dailyCap
	}
	return m
}

// rules sets the workspace's territory rules.
func (b *hoBundle) rules(t *testing.T, rules ...store.AssignmentRule) {
	t.Helper()
	err := b.st.InTx(b.ctx, func(q *store.Queries) error {
		_, err := q.ReplaceAssignmentRules(b.ctx, b.ws.ID, rules)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// settings sets the workspace's SLA and reassignment limit.
func (b *hoBundle) settings(t *testing.T, sla time.Duration, maxReassignments int) {
	t.Helper()
	_, err := b.st.PutAssignmentSettings(b.ctx, store.AssignmentSettings{
		WorkspaceID: b.ws.ID, SLASeconds: int64(sla / time.Second), MaxReassignments: maxReassignments,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// lead makes a marketing-qualified lead of a territory.
func (b *hoBundle) lead(t *testing.T, country, state string) store.Lead {
	t.Helper()
	id := store.NewID()
	l, err := b.st.InsertLead(b.ctx, store.Lead{
		ID: id, WorkspaceID: b.ws.ID, FirstName: "Ada", LastName: "Lovelace", Company: "Analytical Engines",
		Email: id.String() + "@lead.example", EmailCanonical: id.String() + "@lead.example",
		Country: country, State: state, PrimaryInterest: "widgets", Status: store.LeadMarketingQualified,
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// decision records a qualification of the lead, committed.
func (b *hoBundle) decision(t *testing.T, l store.Lead) store.QualificationDecision {
	t.Helper()
	d, err := b.st.InsertQualificationDecision(b.ctx, store.QualificationDecision{
		WorkspaceID: l.WorkspaceID, LeadID: l.ID, Outcome: store.DecisionQualified, Actor: "worker:qualify",
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// handOff qualifies the lead and hands it off in one transaction, as
// qualifying does.
func (b *hoBundle) handOff(t *testing.T, l store.Lead) store.Handoff {
	t.Helper()
	d := b.decision(t, l)
	var h store.Handoff
	err := b.st.InTx(b.ctx, func(q *store.Queries) error {
		var err error
		h, err = b.eng.handOff(b.ctx, q, l, d)
		return err
	})
	if err != nil {
		t.Fatalf("hand off: %v", err)
	}
	return h
}

// webhook adds an active webhook subscribed to events.
func (b *hoBundle) webhook(t *testing.T, url, secret string, events ...string) store.Webhook {
	t.Helper()
	w, err := b.st.InsertWebhook(b.ctx, store.Webhook{WorkspaceID: b.ws.ID, URL: url, Events: events, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (b *hoBundle) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := b.st.Pool.Exec(b.ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (b *hoBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := b.st.Pool.QueryRow(b.ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// hoRows reads rows into T by column name.
func hoRows[T any](t *testing.T, b *hoBundle, sql string, args ...any) []T {
	t.Helper()
	rows, _ := b.st.Pool.Query(b.ctx, sql, args...)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[T])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// hoMessage is a queued notification as the test checks it.
type hoMessage struct {
	DedupeKey string     `db:"dedupe_key"`
	ToEmail   string     `db:"to_email"`
	Subject   string     `db:"subject"`
	Kind      string     `db:"kind"`
	Status    string     `db:"status"`
	LeadID    *uuid.UUID `db:"lead_id"`
}

func (b *hoBundle) messages(t *testing.T) []hoMessage {
	t.Helper()
	return hoRows[hoMessage](t, b, `SELECT dedupe_key, to_email, subject, kind, status, lead_id
		FROM messages WHERE workspace_id = $1 ORDER BY created_at, dedupe_key`, b.ws.ID)
}

// hoEvent is a line of a handoff's history as the test checks it.
type hoEvent struct {
	Action  string     `db:"action"`
	OwnerID *uuid.UUID `db:"owner_id"`
}

func (b *hoBundle) events(t *testing.T, h store.Handoff) []hoEvent {
	t.Helper()
	return hoRows[hoEvent](t, b, `SELECT action, owner_id FROM handoff_events WHERE handoff_id = $1 ORDER BY id`, h.ID)
}

func TestHandOffTerritoryThenWeightedRoundRobin(t *testing.T) {
	t.Parallel()
	b := hoSetup(t)
	ann, bob := b.user(t, "Ann", true), b.user(t, "Bob", true)
	cal, dee := b.user(t, "Cal", true), b.user(t, "Dee", true)
	emea := b.team(t, "EMEA", nil, member(ann, 2, 0), member(bob, 1, 0))
	california := b.team(t, "California", nil, member(cal, 1, 0))
	rest := b.team(t, "Rest", nil, member(dee, 1, 0))
	b.rules(t,
		store.AssignmentRule{Country: "US", State: "CA", TeamID: california.ID},
		store.AssignmentRule{Country: "", TeamID: rest.ID},
		store.AssignmentRule{Country: "GB", TeamID: emea.ID},
	)
	names := map[uuid.UUID]string{ann.ID: "Ann", bob.ID: "Bob", cal.ID: "Cal", dee.ID: "Dee"}

	// 30 British leads over a 2:1 team: 20 and 10, however the country is
	// written.
	got := map[string]int{}
	for i := range 30 {
		country := "GB"
		if i%2 == 1 {
			country = "gb"
		}
		h := b.handOff(t, b.lead(t, country, ""))
		if h.TeamID == nil || *h.TeamID != emea.ID {
			t.Fatalf("handoff %d: team %v, want EMEA", i, h.TeamID)
		}
		got[names[*h.OwnerID]]++
	}
	// Territory first: California's rule names a state; New York falls to
	// the default rule wherever it sits in the list.
	for _, l := range []store.Lead{b.lead(t, "US", "CA"), b.lead(t, "US", "NY"), b.lead(t, "", "")} {
		got[names[*b.handOff(t, l).OwnerID]]++
	}
	if diff := cmp.Diff(map[string]int{"Ann": 20, "Bob": 10, "Cal": 1, "Dee": 2}, got); diff != "" {
		t.Errorf("handoffs per owner (-want +got):\n%s", diff)
	}
}

func TestHandOffRecordsNotifiesAndQueuesWebhooks(t *testing.T) {
	t.Parallel()
	b := hoSetup(t)
	ann := b.user(t, "Ann", true)
	team := b.team(t, "Sales", nil, member(ann, 1, 0))
	b.rules(t, store.AssignmentRule{TeamID: team.ID})
	b.settings(t, 4*time.Hour, 2)
	created := b.webhook(t, "https://hooks.example/created", "s1", EventHandoffCreated)
	b.webhook(t, "https://hooks.example/accepted", "s2", EventHandoffAccepted)
	off := b.webhook(t, "https://hooks.example/off", "s3", EventHandoffCreated)
	b.exec(t, `UPDATE webhooks SET active = false WHERE id = $1`, off.ID)
	l := b.lead(t, "FR", "")

	h := b.handOff(t, l)

	if diff := cmp.Diff(store.Handoff{
		ID: h.ID, WorkspaceID: b.ws.ID, LeadID: l.ID, DecisionID: h.DecisionID, OwnerID: &ann.ID, TeamID: &team.ID,
		Status: store.HandoffOpen, SLADueAt: b.clock.Now().Add(4 * time.Hour), CreatedAt: b.clock.Now(),
	}, h, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("handoff (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]hoEvent{{store.HandoffEventCreated, &ann.ID}}, b.events(t, h)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	lead, err := b.st.GetLead(b.ctx, b.ws.ID, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if lead.OwnerID == nil || *lead.OwnerID != ann.ID {
		t.Errorf("lead owner = %v, want Ann", lead.OwnerID)
	}
	audit := b.count(t, `SELECT count(*) FROM lead_audit WHERE lead_id = $1 AND action = 'owner_assigned'
		AND new_value = $2`, l.ID, ann.ID.String())
	if audit != 1 {
		t.Errorf("owner_assigned audit entries = %d, want 1", audit)
	}
	// The email goes to the owner, about the lead but not to or of it.
	want := []hoMessage{{
		DedupeKey: "handoff:" + h.ID.String() + ":" + ann.ID.String() + ":0", ToEmail: "ann@sales.example",
		Subject: "New lead for you: Ada Lovelace (Analytical Engines)", Kind: store.MessageTransactional,
		Status: store.MessageQueued,
	}}
	if diff := cmp.Diff(want, b.messages(t)); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	var msgID, text string
	b.st.Pool.QueryRow(b.ctx, `SELECT message_id, text_body FROM messages WHERE workspace_id = $1`, b.ws.ID).Scan(&msgID, &text)
	if !strings.HasSuffix(msgID, "@leadflow.example") || strings.ContainsAny(msgID, "<>") || !strings.Contains(text, "https://leadflow.example/console/handoffs/"+h.ID.String()) {
		t.Errorf("message id %q, text %q: want the host of BaseURL and the handoff's link", msgID, text)
	}
	// One delivery, to the active webhook subscribed to handoff.created.
	type delivery struct {
		WebhookID uuid.UUID `db:"webhook_id"`
		Event     string    `db:"event"`
		DedupeKey string    `db:"dedupe_key"`
		Status    string    `db:"status"`
	}
	if diff := cmp.Diff([]delivery{{created.ID, EventHandoffCreated, "handoff.created:" + h.ID.String(), "pending"}},
		hoRows[delivery](t, b, `SELECT webhook_id, event, dedupe_key, status FROM webhook_deliveries`)); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
}

func TestHandOffAvailabilityCapsAndFallbacks(t *testing.T) {
	t.Parallel()
	b := hoSetup(t)
	// Caps reset at the workspace's midnight: Tokyo's comes at 15:00 UTC.
	b.exec(t, `UPDATE workspaces SET timezone = 'Asia/Tokyo' WHERE id = $1`, b.ws.ID)
	b.clock.advance(5 * time.Hour) // 14:00 UTC, 23:00 in Tokyo
	ann, bob, mgr := b.user(t, "Ann", true), b.user(t, "Bob", false), b.user(t, "Max", true)
	capped := b.team(t, "Capped", &mgr, member(ann, 3, 2), member(bob, 5, 0))
	lonely := b.team(t, "Lonely", nil, member(bob, 1, 0))
	b.rules(t,
		store.AssignmentRule{Country: "DE", TeamID: capped.ID},
		store.AssignmentRule{Country: "AT", TeamID: lonely.ID},
	)
	owner := func(h store.Handoff) string {
		if h.OwnerID == nil {
			return "nobody"
		}
		return map[uuid.UUID]string{ann.ID: "Ann", bob.ID: "Bob", mgr.ID: "Max"}[*h.OwnerID]
	}
	var got []string
	// Bob is away; Ann takes two, her cap; then the manager.
	for range 3 {
		got = append(got, owner(b.handOff(t, b.lead(t, "DE", ""))))
	}
	// Midnight in Tokyo: Ann's cap is new.
	b.clock.advance(time.Hour)
	got = append(got, owner(b.handOff(t, b.lead(t, "DE", ""))))
	// A team with nobody available and no manager, and a lead no rule
	// covers: the handoff is made, unassigned, for the inbox.
	got = append(got, owner(b.handOff(t, b.lead(t, "AT", ""))))
	unmatched := b.handOff(t, b.lead(t, "JP", ""))
	got = append(got, owner(unmatched))
	if diff := cmp.Diff([]string{"Ann", "Ann", "Max", "Ann", "nobody", "nobody"}, got); diff != "" {
		t.Errorf("owners (-want +got):\n%s", diff)
	}
	if unmatched.TeamID != nil {
		t.Errorf("unmatched lead's team = %v, want none", unmatched.TeamID)
	}
	// Nobody to tell for the unassigned ones: four emails, not six.
	if n := len(b.messages(t)); n != 4 {
		t.Errorf("%d messages, want 4", n)
	}
}

func TestHandOffOneOpenPerLeadUnderConcurrency(t *testing.T) {
	t.Parallel()
	b := hoSetup(t)
	ann := b.user(t, "Ann", true)
	team := b.team(t, "Sales", nil, member(ann, 1, 0))
	b.rules(t, store.AssignmentRule{TeamID: team.ID})
	b.webhook(t, "https://hooks.example/created", "s1", EventHandoffCreated)
	l := b.lead(t, "GB", "")

	// Several qualifications of one lead race to hand it off, each in its
	// own transaction that goes on after handOff answers.
	const racers = 8
	decisions := make([]store.QualificationDecision, racers)
	for i := range decisions {
		decisions[i] = b.decision(t, l)
	}
	var wg sync.WaitGroup
	errs := make([]error, racers)
	conflicted := make([]bool, racers)
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			errs[i] = b.st.InTx(b.ctx, func(q *store.Queries) error {
				_, err := b.eng.handOff(b.ctx, q, l, decisions[i])
				if !errors.Is(err, store.ErrConflict) {
					return err
				}
				// Already handed off: the caller's transaction is still
				// usable, and commits.
				if _, err := q.GetLead(b.ctx, b.ws.ID, l.ID); err != nil {
					return err
				}
				conflicted[i] = true
				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	var ok, conflicts int
	for i, err := range errs {
		switch {
		case err != nil:
			t.Errorf("hand off: %v", err)
		case conflicted[i]:
			conflicts++
		default:
			ok++
		}
	}
	if ok != 1 || conflicts != racers-1 {
		t.Errorf("%d handed off and %d conflicts, want 1 and %d", ok, conflicts, racers-1)
	}
	for table, want := range map[string]int{
		`SELECT count(*) FROM handoffs WHERE lead_id = $1`:                                                1,
		`SELECT count(*) FROM handoff_events e JOIN handoffs h ON h.id = e.handoff_id WHERE lead_id = $1`: 1,
		`SELECT count(*) FROM webhook_deliveries WHERE payload->'lead'->>'id' = $1::text`:                 1,
	} {
		if got := b.count(t, table, l.ID); got != want {
			t.Errorf("%s = %d, want %d", table, got, want)
		}
	}
	if n := len(b.messages(t)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}
