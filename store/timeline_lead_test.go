package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/store"
	"leadflow/store/storetest"
)

func TestLeadTimelineMergesItsSourcesNewestFirstAndBounded(t *testing.T) {
	t.Parallel()
	s := storetest.NewStore(t)
	ctx := context.Background()
	ws, err := s.EnsureWorkspace(ctx, "timeline")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	l, err := s.InsertLead(ctx, store.Lead{WorkspaceID: ws.ID, FirstName: "Tim", Email: "tim@x.test", EmailCanonical: "tim@x.test", Status: store.LeadNew, CreatedAt: base})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InsertAuditEntries(ctx, ws.ID, store.AuditEntry{LeadID: l.ID, At: base.Add(time.Hour), Actor: "user:1",
		Action: "updated", Field: "company", OldValue: "", NewValue: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetLeadScore(ctx, ws.ID, l.ID, store.ScoreChange{Score: 42, Grade: "B", At: base.Add(2 * time.Hour),
		Cause: store.ScoreCauseEngagement, EventKind: store.EngagementFormSubmitted}); err != nil {
		t.Fatal(err)
	}
	items, err := s.LeadTimeline(ctx, ws.ID, l.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Kind, Title, Detail string }
	var got []row
	for _, it := range items {
		got = append(got, row{it.Kind, it.Title, it.Detail})
	}
	want := []row{
		{store.TimelineScore, "0 → 42", "B"},
		{store.TimelineAudit, "updated", "company:  → Acme"},
		{store.TimelineStatus, store.LeadNew, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	if items, err := s.LeadTimeline(ctx, ws.ID, l.ID, 2); err != nil || len(items) != 2 || items[0].Kind != store.TimelineScore {
		t.Errorf("timeline of at most 2: %v, %v", items, err)
	}
	// Another workspace sees nothing of it.
	other, err := s.EnsureWorkspace(ctx, "timeline-other")
	if err != nil {
		t.Fatal(err)
	}
	if items, err := s.LeadTimeline(ctx, other.ID, l.ID, 10); err != nil || len(items) != 0 {
		t.Errorf("another workspace's timeline of the lead: %v, %v", items, err)
	}
}

// timelineBundle is a workspace with a lead to write the history of.
type timelineBundle struct {
	ctx  context.Context
	s    *store.Store
	ws   store.Workspace
	lead store.Lead
}

func timelineSetup(t *testing.T) *timelineBundle {
	t.Helper()
	b := &timelineBundle{ctx: context.Background(), s: storetest.NewStore(t)}
	var err error
	if b.ws, err = b.s.EnsureWorkspace(b.ctx, "history"); err != nil {
		t.Fatal(err)
	}
	b.lead, err = b.s.InsertLead(b.ctx, store.Lead{WorkspaceID: b.ws.ID, FirstName: "Sam", Email: "sam@x.test",
		EmailCanonical: "sam@x.test", Status: store.LeadNew})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *timelineBundle) score(t *testing.T, c store.ScoreChange) {
	t.Helper()
	c.MinDecay = 5
	l, err := b.s.SetLeadScore(b.ctx, b.ws.ID, b.lead.ID, c)
	if err != nil {
		t.Fatal(err)
	}
	if l.Score != c.Score || l.Grade != c.Grade || l.ScoredAt == nil || !l.ScoredAt.Equal(c.At) {
		t.Fatalf("set score %+v: lead has %d %q at %v", c, l.Score, l.Grade, l.ScoredAt)
	}
}

// items returns the lead's timeline items of one kind as "title | detail |
// actor", newest first.
func (b *timelineBundle) items(t *testing.T, kind string) []string {
	t.Helper()
	items, err := b.s.LeadTimeline(b.ctx, b.ws.ID, b.lead.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		if it.Kind == kind {
			out = append(out, it.Title+" | "+it.Detail+" | "+it.Actor)
		}
	}
	return out
}

func (b *timelineBundle) historyRows(t *testing.T) int {
	t.Helper()
	var n int
	if err := b.s.Pool.QueryRow(b.ctx, `SELECT count(*) FROM lead_score_history WHERE lead_id = $1`, b.lead.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLeadTimelineShowsEachScoreChangeWithItsCause(t *testing.T) {
	t.Parallel()
	b := timelineSetup(t)
	at := time.Date(2030, 5, 1, 9, 0, 0, 0, time.UTC)
	b.score(t, store.ScoreChange{Score: 10, Grade: "C", At: at, Cause: store.ScoreCauseEngagement, EventKind: store.EngagementFormSubmitted})
	b.score(t, store.ScoreChange{Score: 35, Grade: "C", At: at.Add(time.Hour), Cause: store.ScoreCauseEngagement, EventKind: store.EngagementEmailClicked})
	b.score(t, store.ScoreChange{Score: 50, Grade: "B", At: at.Add(2 * time.Hour), Cause: store.ScoreCauseRules})
	// Rescoring to the same score and grade (a recompute, a decay that
	// rounds to the same) is no change.
	b.score(t, store.ScoreChange{Score: 50, Grade: "B", At: at.Add(3 * time.Hour), Cause: store.ScoreCauseRecompute})
	b.score(t, store.ScoreChange{Score: 50, Grade: "B", At: at.Add(4 * time.Hour), Cause: store.ScoreCauseDecay})
	want := []string{
		"35 → 50 | C → B | scoring rules changed",
		"10 → 35 | C | email clicked",
		"0 → 10 | C | form submitted",
	}
	if diff := cmp.Diff(want, b.items(t, store.TimelineScore)); diff != "" {
		t.Errorf("score items (-want +got):\n%s", diff)
	}
	if n := b.historyRows(t); n != 3 {
		t.Errorf("%d history rows, want 3: rescoring to the same values wrote some", n)
	}
	// A recompute that changes the score is recorded as such.
	b.score(t, store.ScoreChange{Score: 45, Grade: "B", At: at.Add(5 * time.Hour), Cause: store.ScoreCauseRecompute})
	if got := b.items(t, store.TimelineScore); len(got) != 4 || got[0] != "50 → 45 | B | recompute" {
		t.Errorf("score items after a recompute: %q", got)
	}
}

func TestScoreHistoryKeepsDecayToStepsOfMinDecay(t *testing.T) {
	t.Parallel()
	b := timelineSetup(t)
	at := time.Date(2030, 5, 1, 9, 0, 0, 0, time.UTC)
	decay := func(score int, grade string) {
		t.Helper()
		at = at.Add(time.Hour)
		b.score(t, store.ScoreChange{Score: score, Grade: grade, At: at, Cause: store.ScoreCauseDecay})
	}
	b.score(t, store.ScoreChange{Score: 20, Grade: "C", At: at, Cause: store.ScoreCauseEngagement, EventKind: "event_registered"})
	decay(19, "C") // 1 and 4 below the recorded 20: fading, not yet recorded
	decay(16, "C")
	decay(15, "C") // 5 below: recorded, from the recorded 20
	decay(13, "C") // 2 below the recorded 15
	decay(12, "D") // a change of grade is recorded whatever the step
	decay(11, "D") // 1 below the recorded 12
	b.score(t, store.ScoreChange{Score: 16, Grade: "D", At: at.Add(time.Minute), Cause: store.ScoreCauseEngagement, EventKind: "email_opened"})
	at = at.Add(time.Minute)
	decay(14, "D")
	decay(0, "D") // faded out: recorded
	want := []string{
		"16 → 0 | D | decay",
		"11 → 16 | D | email opened",
		"15 → 12 | C → D | decay",
		"20 → 15 | C | decay",
		"0 → 20 | C | event registered",
	}
	if diff := cmp.Diff(want, b.items(t, store.TimelineScore)); diff != "" {
		t.Errorf("score items (-want +got):\n%s", diff)
	}
}

func TestLeadTimelineShowsAStatusChangeOnceWithWhoMadeIt(t *testing.T) {
	t.Parallel()
	b := timelineSetup(t)
	ann, err := b.s.InsertPerson(b.ctx, store.Person{WorkspaceID: b.ws.ID, Name: "Ann Rep", Email: "ann@x.test", Role: store.UserSalesRep})
	if err != nil {
		t.Fatal(err)
	}
	// As the console moves a lead: the status (its history row written by
	// the database at its clock) and the audit entry (at the process's) in
	// one transaction.
	move := func(actor, from, to string) {
		t.Helper()
		err := b.s.InTx(b.ctx, func(q *store.Queries) error {
			now := time.Now()
			if _, err := q.MoveLeadToStatus(b.ctx, b.ws.ID, b.lead.ID, to, "", now); err != nil {
				return err
			}
			return q.InsertAuditEntries(b.ctx, b.ws.ID, store.AuditEntry{LeadID: b.lead.ID, At: now, Actor: actor,
				Action: store.AuditStatusChanged, Field: "status", OldValue: from, NewValue: to})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	move("user:"+ann.ID.String(), store.LeadNew, store.LeadNurturing)
	move("worker:qualify", store.LeadNurturing, store.LeadMarketingQualified)
	// A status written without an audit entry still shows, from its
	// history.
	if _, err := b.s.MoveLeadToStatus(b.ctx, b.ws.ID, b.lead.ID, store.LeadSalesAccepted, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	items, err := b.s.LeadTimeline(b.ctx, b.ws.ID, b.lead.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.Kind+" | "+it.Title+" | "+it.Detail+" | "+it.Actor)
	}
	want := []string{
		"status | sales_accepted | marketing_qualified | ",
		"audit | status_changed | status: nurturing → marketing_qualified | worker:qualify",
		"audit | status_changed | status: new → nurturing | Ann Rep",
		"status | new |  | ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

func TestLeadDuplicatePairsNameTheOtherLeadAndWhy(t *testing.T) {
	t.Parallel()
	s := storetest.NewStore(t)
	ctx := context.Background()
	ws, err := s.EnsureWorkspace(ctx, "pairs")
	if err != nil {
		t.Fatal(err)
	}
	lead := func(email string) store.Lead {
		l, err := s.InsertLead(ctx, store.Lead{WorkspaceID: ws.ID, Email: email, EmailCanonical: email, Status: store.LeadNew})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b := lead("a@x.test"), lead("b@x.test")
	if _, err := s.InsertPossibleDuplicate(ctx, ws.ID, b.ID, store.FuzzyMatch{MatchLeadID: &a.ID, Similarity: 0.7, Reason: store.DuplicateSharedPhone}); err != nil {
		t.Fatal(err)
	}
	for _, side := range []struct{ from, other uuid.UUID }{{a.ID, b.ID}, {b.ID, a.ID}} {
		ps, err := s.LeadDuplicatePairs(ctx, ws.ID, side.from, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 1 || ps[0].OtherLeadID == nil || *ps[0].OtherLeadID != side.other || ps[0].Reason != store.DuplicateSharedPhone {
			t.Errorf("pairs seen from %s: %+v", side.from, ps)
		}
	}
}

func TestSearchLeadsFilters(t *testing.T) {
	t.Parallel()
	s := storetest.NewStore(t)
	ctx := context.Background()
	ws, err := s.EnsureWorkspace(ctx, "search")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.InsertPerson(ctx, store.Person{WorkspaceID: ws.ID, Name: "Olga Owner", Email: "olga@x.test", Role: store.UserSalesRep})
	if err != nil {
		t.Fatal(err)
	}
	owner := p.ID
	mk := func(email, grade, source string, score int, owner *uuid.UUID) {
		if _, err := s.InsertLead(ctx, store.Lead{WorkspaceID: ws.ID, FirstName: email, Email: email, EmailCanonical: email,
			Status: store.LeadNew, Grade: grade, LeadSource: source, Score: score, OwnerID: owner}); err != nil {
			t.Fatal(err)
		}
	}
	mk("low@x.test", "C", "Web", 5, nil)
	mk("mid@x.test", "B", "Event", 50, &owner)
	mk("high@x.test", "A", "Web", 90, &owner)
	ten, sixty := 10, 60
	for _, c := range []struct {
		name string
		f    store.LeadSearch
		want []string
	}{
		{"everything", store.LeadSearch{}, []string{"high@x.test", "mid@x.test", "low@x.test"}},
		{"score from 10", store.LeadSearch{MinScore: &ten}, []string{"high@x.test", "mid@x.test"}},
		{"score 10 to 60", store.LeadSearch{MinScore: &ten, MaxScore: &sixty}, []string{"mid@x.test"}},
		{"grade", store.LeadSearch{Grade: "A"}, []string{"high@x.test"}},
		{"source", store.LeadSearch{Source: "Web"}, []string{"high@x.test", "low@x.test"}},
		{"owner", store.LeadSearch{OwnerID: owner}, []string{"high@x.test", "mid@x.test"}},
		{"email", store.LeadSearch{Q: "low@"}, []string{"low@x.test"}},
	} {
		c.f.Limit = 10
		ls, err := s.SearchLeads(ctx, ws.ID, c.f)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range ls {
			got = append(got, l.Email)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}
