package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/store"
	"leadflow/store/storetest"
)

// backlogBundle is a workspace with one lead, for the claims' behaviour
// tests; every claim runs across workspaces, so each test has its database.
type backlogBundle struct {
	st   *store.Store
	ws   uuid.UUID
	lead uuid.UUID
	now  time.Time
	exec func(sql string, args ...any)
}

func setupBacklog(t *testing.T) backlogBundle {
	t.Helper()
	st := storetest.NewStore(t)
	b := backlogBundle{st: st, ws: store.NewID(), lead: store.NewID(), now: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)}
	b.exec = func(sql string, args ...any) {
		t.Helper()
		if _, err := st.Pool.Exec(context.Background(), sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	b.exec(`INSERT INTO workspaces (id, name) VALUES ($1, 'w')`, b.ws)
	b.exec(`INSERT INTO leads (id, workspace_id, email, email_canonical) VALUES ($1, $2, 'a@example.com', 'a@example.com')`, b.lead, b.ws)
	return b
}

// An escalated handoff stays open past its new deadline: DueHandoffs no
// longer lists it once the escalation is recorded, however it was recorded.
func TestDueHandoffsLeaveEscalatedOnes(t *testing.T) {
	t.Parallel()
	b := setupBacklog(t)
	ctx := context.Background()
	user := store.NewID()
	b.exec(`INSERT INTO users (id, workspace_id, name, email, role) VALUES ($1, $2, 'Rep', 'rep@example.com', 'sales_rep')`, user, b.ws)
	var hs []uuid.UUID
	for i := range 3 {
		lead, dec, h := b.lead, store.NewID(), store.NewID()
		if i > 0 {
			lead = store.NewID()
			b.exec(`INSERT INTO leads (id, workspace_id, email, email_canonical) VALUES ($1, $2, $3, $3)`, lead, b.ws, h.String()+"@example.com")
		}
		b.exec(`INSERT INTO qualification_decisions (id, workspace_id, lead_id, outcome, actor) VALUES ($1, $2, $3, 'qualified', 'test')`, dec, b.ws, lead)
		b.exec(`INSERT INTO handoffs (id, workspace_id, lead_id, decision_id, owner_id, status, sla_due_at, created_at)
			VALUES ($1, $2, $3, $4, $5, 'open', $6, $6)`, h, b.ws, lead, dec, user, b.now.Add(-time.Duration(3-i)*time.Hour))
		hs = append(hs, h)
	}
	due := func() []uuid.UUID {
		t.Helper()
		ds, err := b.st.DueHandoffs(ctx, b.now, 50)
		if err != nil {
			t.Fatal(err)
		}
		var ids []uuid.UUID
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		return ids
	}
	if diff := cmp.Diff(hs, due()); diff != "" {
		t.Fatalf("due before escalation (-want +got):\n%s", diff)
	}
	if err := b.st.RecordHandoffDecisionEvent(ctx, hs[1], store.HandoffEventEscalated, &user, "worker:sla", nil, b.now); err != nil {
		t.Fatal(err)
	}
	// Another kind of event changes nothing.
	if err := b.st.RecordHandoffDecisionEvent(ctx, hs[2], store.HandoffEventReassigned, &user, "worker:sla", nil, b.now); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uuid.UUID{hs[0], hs[2]}, due()); diff != "" {
		t.Fatalf("due after escalating the second (-want +got):\n%s", diff)
	}
}

// A paused sequence's due enrollments are not claimed, and are claimed at
// once, at their own schedule, when it resumes.
func TestClaimDueEnrollmentsPausedSequence(t *testing.T) {
	t.Parallel()
	b := setupBacklog(t)
	ctx := context.Background()
	active, paused := store.NewID(), store.NewID()
	b.exec(`INSERT INTO sequences (id, workspace_id, name, status) VALUES ($1, $3, 'A', 'active'), ($2, $3, 'P', 'paused')`, active, paused, b.ws)
	lead2 := store.NewID()
	b.exec(`INSERT INTO leads (id, workspace_id, email, email_canonical) VALUES ($1, $2, 'b@example.com', 'b@example.com')`, lead2, b.ws)
	enrol := func(seq, lead uuid.UUID, due time.Time, enqueued *time.Time) uuid.UUID {
		id := store.NewID()
		b.exec(`INSERT INTO enrollments (id, workspace_id, sequence_id, lead_id, state, step_key, next_run_at, enqueued_at)
			VALUES ($1, $2, $3, $4, 'active', 'step1', $5, $6)`, id, b.ws, seq, lead, due, enqueued)
		return id
	}
	recent := b.now.Add(-10 * time.Second)
	a1 := enrol(active, b.lead, b.now.Add(-time.Minute), nil)
	enrol(active, lead2, b.now.Add(-3*time.Minute), &recent) // on the queue
	p1 := enrol(paused, b.lead, b.now.Add(-2*time.Minute), nil)
	p2 := enrol(paused, lead2, b.now.Add(-4*time.Minute), nil)
	claim := func(now time.Time) []uuid.UUID {
		t.Helper()
		ds, err := b.st.ClaimDueEnrollments(ctx, now, b.now.Add(-time.Minute), 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []uuid.UUID
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		slices.SortFunc(ids, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
		return ids
	}
	if diff := cmp.Diff([]uuid.UUID{a1}, claim(b.now)); diff != "" {
		t.Fatalf("claimed while paused (-want +got):\n%s", diff)
	}
	if _, err := b.st.SetSequenceStatus(ctx, b.ws, paused, store.SequenceActive); err != nil {
		t.Fatal(err)
	}
	want := []uuid.UUID{p1, p2}
	slices.SortFunc(want, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
	if diff := cmp.Diff(want, claim(b.now.Add(time.Second))); diff != "" {
		t.Fatalf("claimed after resume (-want +got):\n%s", diff)
	}
}

// Queued messages are claimed oldest first when never claimed or when their
// lease or deferral ran out; those on the queue or deferred are left alone.
func TestClaimQueuedMessagesOnlyClaimable(t *testing.T) {
	t.Parallel()
	b := setupBacklog(t)
	ctx := context.Background()
	cutoff := b.now.Add(-time.Minute)
	msg := func(name string, created time.Time, enqueued *time.Time) uuid.UUID {
		id := store.NewID()
		b.exec(`INSERT INTO messages (id, workspace_id, lead_id, dedupe_key, kind, to_email, subject, html_body, text_body,
				message_id, status, enqueued_at, created_at)
			VALUES ($1, $2, $3, $4, 'marketing', 'a@example.com', 's', 'h', 't', $4, 'queued', $5, $6)`,
			id, b.ws, b.lead, name+id.String(), enqueued, created)
		return id
	}
	at := func(d time.Duration) *time.Time { t := b.now.Add(d); return &t }
	lost := msg("lost", b.now.Add(-5*time.Hour), at(-10*time.Minute))  // lease ran out
	fresh := msg("fresh", b.now.Add(-4*time.Hour), nil)                // never claimed
	msg("onqueue", b.now.Add(-6*time.Hour), at(-10*time.Second))       // on the queue
	msg("deferred", b.now.Add(-7*time.Hour), at(10*time.Minute))       // deferred
	retry := msg("retry", b.now.Add(-3*time.Hour), at(-2*time.Minute)) // deferral ran out
	newer := msg("newer", b.now.Add(-time.Hour), nil)                  // never claimed, newest
	b.exec(`UPDATE messages SET status = 'sent' WHERE id = $1`, msg("sent", b.now.Add(-8*time.Hour), nil))
	claim := func(limit int) []uuid.UUID {
		t.Helper()
		ms, err := b.st.ClaimQueuedMessages(ctx, b.now, cutoff, limit)
		if err != nil {
			t.Fatal(err)
		}
		var ids []uuid.UUID
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		return ids
	}
	// RETURNING gives no order: the limit shows which were taken.
	got := claim(3)
	slices.SortFunc(got, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
	want := []uuid.UUID{lost, fresh, retry}
	slices.SortFunc(want, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("first claim, limit 3 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uuid.UUID{newer}, claim(10)); diff != "" {
		t.Fatalf("second claim (-want +got):\n%s", diff)
	}
	if got := claim(10); len(got) != 0 {
		t.Fatalf("third claim took %v, want none", got)
	}
}
