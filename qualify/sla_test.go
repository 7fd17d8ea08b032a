package qualify

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/store"
)

// expire runs the SLA job once.
func (b *hoBundle) expire(t *testing.T) {
	t.Helper()
	if err := b.eng.expireHandoffs(b.ctx); err != nil {
		t.Fatalf("expire handoffs: %v", err)
	}
}

func (b *hoBundle) handoff(t *testing.T, h store.Handoff) store.Handoff {
	t.Helper()
	got, err := b.st.GetHandoff(b.ctx, b.ws.ID, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSLAReassignsToNextOwnerThenEscalatesToManager(t *testing.T) {
	t.Parallel()
	b := hoSetup(t)
	b.settings(t, 4*time.Hour, 1)
	ann, bob, cat, mia := b.user(t, "Ann", true), b.user(t, "Bob", true), b.user(t, "Cat", true), b.user(t, "Mia", true)
	team := b.team(t, "Sales", &mia, member(ann, 1, 0), member(bob, 1, 0), member(cat, 1, 0))
	b.rules(t, store.AssignmentRule{TeamID: team.ID})
	b.webhook(t, "https://hooks.example/h", "s", EventHandoffCreated, EventHandoffReassigned)
	l := b.lead(t, "GB", "")
	h := b.handOff(t, l)
	first := *h.OwnerID
	key := func(u uuid.UUID, n string) string { return "handoff:" + h.ID.String() + ":" + u.String() + ":" + n }
	emails := map[uuid.UUID]string{ann.ID: ann.Email, bob.ID: bob.Email, cat.ID: cat.Email, mia.ID: mia.Email}

	// Within its SLA nothing happens.
	b.clock.advance(4*time.Hour - time.Second)
	b.expire(t)
	if got := b.handoff(t, h); got.Reassignments != 0 || *got.OwnerID != first {
		t.Fatalf("reassigned before its SLA passed: %+v", got)
	}

	// Past it: the next owner by the same round-robin, never the first
	// again, with a new deadline; both are told.
	b.clock.advance(time.Second)
	b.expire(t)
	h1 := b.handoff(t, h)
	second := *h1.OwnerID
	if second == first || second == mia.ID || h1.Reassignments != 1 || !h1.SLADueAt.Equal(b.clock.Now().Add(4*time.Hour)) {
		t.Fatalf("after the first SLA: %+v (first owner %s)", h1, first)
	}
	if lead, _ := b.st.GetLead(b.ctx, b.ws.ID, l.ID); lead.OwnerID == nil || *lead.OwnerID != second {
		t.Errorf("lead owner = %v, want %s", lead.OwnerID, second)
	}

	// Past max_reassignments (1): the team's manager, once and for all.
	b.clock.advance(4 * time.Hour)
	b.expire(t)
	h2 := b.handoff(t, h)
	if *h2.OwnerID != mia.ID || h2.Reassignments != 2 || h2.Status != store.HandoffOpen {
		t.Fatalf("after the second SLA: %+v, want Mia's", h2)
	}
	b.clock.advance(48 * time.Hour)
	b.expire(t)
	if got := b.handoff(t, h); got.Reassignments != 2 || *got.OwnerID != mia.ID {
		t.Errorf("escalated handoff moved again: %+v", got)
	}

	if diff := cmp.Diff([]hoEvent{
		{store.HandoffEventCreated, &first},
		{store.HandoffEventReassigned, &second},
		{store.HandoffEventEscalated, &mia.ID},
	}, b.events(t, h)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	lead := "Ada Lovelace (Analytical Engines)"
	wantMessages := []hoMessage{
		{DedupeKey: key(first, "0"), ToEmail: emails[first], Subject: "New lead for you: " + lead},
		{DedupeKey: key(first, "1"), ToEmail: emails[first], Subject: "Lead moved to another owner: " + lead},
		{DedupeKey: key(second, "1"), ToEmail: emails[second], Subject: "Lead reassigned to you: " + lead},
		{DedupeKey: key(mia.ID, "2"), ToEmail: mia.Email, Subject: "Escalated lead: " + lead},
		{DedupeKey: key(second, "2"), ToEmail: emails[second], Subject: "Lead moved to another owner: " + lead},
	}
	for i := range wantMessages {
		wantMessages[i].Kind, wantMessages[i].Status = store.MessageTransactional, store.MessageQueued
	}
	got := b.messages(t)
	sortMessages := cmp.Transformer("byKey", func(ms []hoMessage) map[string]hoMessage {
		out := map[string]hoMessage{}
		for _, m := range ms {
			out[m.DedupeKey] = m
		}
		return out
	})
	if diff := cmp.Diff(wantMessages, got, sortMessages); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	type delivery struct {
		DedupeKey string `db:"dedupe_key"`
		Escalated *bool  `db:"escalated"`
	}
	yes, no := true, false
	if diff := cmp.Diff([]delivery{
		{"handoff.created:" + h.ID.String(), nil},
		{"handoff.reassigned:" + h.ID.String() + ":1", &no},
		{"handoff.reassigned:" + h.ID.String() + ":2", &yes},
	}, hoRows[delivery](t, b, `SELECT dedupe_key, (payload->>'escalated')::boolean AS escalated
		FROM webhook_deliveries ORDER BY created_at, dedupe_key`)); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
}

func TestSLAConcurrentRunsReassignOnce(t *testing.T) {
	t.Parallel()
	b := hoSetup(t)
	b.settings(t, time.Hour, 3)
	ann, bob, cat := b.user(t, "Ann", true), b.user(t, "Bob", true), b.user(t, "Cat", true)
	b.rules(t, store.AssignmentRule{TeamID: b.team(t, "Sales", nil, member(ann, 1, 0), member(bob, 1, 0), member(cat, 1, 0)).ID})
	var hs []store.Handoff
	for range 5 {
		hs = append(hs, b.handOff(t, b.lead(t, "GB", "")))
	}
	// One is decided already: the SLA leaves it alone.
	b.exec(t, `UPDATE handoffs SET status = 'accepted' WHERE id = $1`, hs[0].ID)

	b.clock.advance(time.Hour)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if err := b.eng.expireHandoffs(b.ctx); err != nil {
				t.Errorf("expire handoffs: %v", err)
			}
		})
	}
	wg.Wait()

	got := map[int]int{}
	for _, h := range hs {
		got[b.handoff(t, h).Reassignments]++
	}
	if diff := cmp.Diff(map[int]int{0: 1, 1: 4}, got); diff != "" {
		t.Errorf("handoffs by reassignments (-want +got):\n%s", diff)
	}
	if n := b.count(t, `SELECT count(*) FROM handoff_events WHERE action = 'reassigned'`); n != 4 {
		t.Errorf("%d reassigned events, want 4", n)
	}
}
