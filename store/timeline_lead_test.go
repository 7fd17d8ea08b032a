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
		{store.TimelineScore, "42", "B"},
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
