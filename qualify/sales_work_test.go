package qualify

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/store"
)

// salesWork is a workspace with two teams: Ann and Bob in the manager Meg's
// team, Cat in another team with no manager.
type salesWork struct {
	*hoBundle
	ann, bob, cat, meg, sue store.User
	mine, other             store.Team
}

func setupSalesWork(t *testing.T) *salesWork {
	t.Helper()
	b := &salesWork{hoBundle: hoSetup(t)}
	b.ann, b.bob, b.cat = b.user(t, "Ann", true), b.user(t, "Bob", true), b.user(t, "Cat", true)
	b.meg, b.sue = b.user(t, "Meg", true), b.user(t, "Sue", true)
	b.exec(t, `UPDATE users SET role = 'sales_manager' WHERE id = $1`, b.meg.ID)
	b.exec(t, `UPDATE users SET role = 'sales_admin' WHERE id = $1`, b.sue.ID)
	b.mine = b.team(t, "Mine", &b.meg, member(b.ann, 1, 0), member(b.bob, 1, 0))
	b.other = b.team(t, "Other", nil, member(b.cat, 1, 0))
	b.rules(t, store.AssignmentRule{Country: "FR", TeamID: b.other.ID}, store.AssignmentRule{TeamID: b.mine.ID})
	b.settings(t, time.Hour, 3)
	return b
}

func person(u store.User) Worker { return Worker{Role: store.RoleSales, UserID: u.ID} }

func TestReassignByAManagerWithinTheirTeams(t *testing.T) {
	t.Parallel()
	b := setupSalesWork(t)
	h := b.handOff(t, b.lead(t, "DE", ""))
	from, to := b.ann, b.bob
	if *h.OwnerID != from.ID {
		from, to = to, from
	}

	// A rep reassigns nothing, not even their own.
	if _, _, err := b.eng.Reassign(b.ctx, b.ws.ID, h.ID, person(from), "user:x", to.ID); !isForbidden(err) {
		t.Errorf("a rep reassigning: %v, want ForbiddenError", err)
	}
	// A manager gives it only to a member of a team they manage.
	_, _, err := b.eng.Reassign(b.ctx, b.ws.ID, h.ID, person(b.meg), "user:meg", b.cat.ID)
	if fe, ok := errors.AsType[*ValidationError](err); !ok || fe.Fields["owner_id"] == "" {
		t.Errorf("a manager reassigning outside their teams: %v, want a ValidationError on owner_id", err)
	}
	b.clock.advance(10 * time.Minute)
	got, _, err := b.eng.Reassign(b.ctx, b.ws.ID, h.ID, person(b.meg), "user:meg", to.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *got.OwnerID != to.ID || got.Reassignments != 1 || !got.SLADueAt.Equal(b.clock.Now().Add(time.Hour)) {
		t.Errorf("after reassigning: owner %v, reassignments %d, due %v", got.OwnerID, got.Reassignments, got.SLADueAt)
	}
	if n := b.count(t, `SELECT count(*) FROM handoff_events WHERE handoff_id = $1 AND action = 'reassigned' AND actor = 'user:meg' AND owner_id = $2`, h.ID, to.ID); n != 1 {
		t.Errorf("reassigned events by user:meg = %d, want 1", n)
	}
	if l, _ := b.st.GetLead(b.ctx, b.ws.ID, h.LeadID); l.OwnerID == nil || *l.OwnerID != to.ID {
		t.Errorf("the lead's owner is %v, want the new owner", l.OwnerID)
	}
	if n := b.count(t, `SELECT count(*) FROM messages WHERE to_email = $1 AND subject LIKE 'Lead reassigned to you:%'`, to.Email); n != 1 {
		t.Errorf("emails telling the new owner = %d, want 1", n)
	}
	// The former owner may no longer decide on it.
	if err := b.eng.MayWork(b.ctx, b.ws.ID, person(from), got.OwnerID, got.TeamID); !isForbidden(err) {
		t.Errorf("the former owner on the reassigned handoff: %v, want ForbiddenError", err)
	}
	// A manager outside the team does not even see it; a sales admin
	// reassigns it.
	otherTeamHandoff := b.handOff(t, b.lead(t, "FR", ""))
	if _, _, err := b.eng.Reassign(b.ctx, b.ws.ID, otherTeamHandoff.ID, person(b.meg), "user:meg", b.ann.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a manager reassigning another team's handoff: %v, want store.ErrNotFound", err)
	}
	if _, _, err := b.eng.Reassign(b.ctx, b.ws.ID, otherTeamHandoff.ID, person(b.sue), "user:sue", b.ann.ID); err != nil {
		t.Errorf("a sales admin reassigning: %v", err)
	}
}

func isForbidden(err error) bool {
	_, ok := errors.AsType[*ForbiddenError](err)
	return ok
}

func TestOpenHandoffsAreListedByDeadlineInTheirScope(t *testing.T) {
	t.Parallel()
	b := setupSalesWork(t)
	var all []store.Handoff
	for i := range 5 {
		country := "DE"
		if i == 4 {
			country = "FR"
		}
		all = append(all, b.handOff(t, b.lead(t, country, "")))
		b.clock.advance(-time.Minute) // each later one due sooner
	}
	ids := func(hs []store.WorkHandoff) []uuid.UUID {
		out := make([]uuid.UUID, len(hs))
		for i, h := range hs {
			out[i] = h.ID
		}
		return out
	}
	bySLA := slices.Clone(all)
	slices.SortFunc(bySLA, func(x, y store.Handoff) int { return x.SLADueAt.Compare(y.SLADueAt) })
	want := func(keep func(store.Handoff) bool) []uuid.UUID {
		var out []uuid.UUID
		for _, h := range bySLA {
			if keep(h) {
				out = append(out, h.ID)
			}
		}
		return out
	}
	for _, c := range []struct {
		name string
		w    Worker
		keep func(store.Handoff) bool
	}{
		{"rep", person(b.ann), func(h store.Handoff) bool { return *h.OwnerID == b.ann.ID }},
		{"manager", person(b.meg), func(h store.Handoff) bool { return *h.TeamID == b.mine.ID }},
		{"sales admin", person(b.sue), func(store.Handoff) bool { return true }},
		{"admin", Worker{Role: store.RoleAdmin}, func(store.Handoff) bool { return true }},
	} {
		scope, err := b.eng.HandoffScope(b.ctx, b.ws.ID, c.w)
		if err != nil {
			t.Fatal(err)
		}
		// Two at a time, through the cursor.
		var got []uuid.UUID
		var after *store.SLACursor
		for range 10 {
			page, err := b.st.OpenHandoffsBySLA(b.ctx, b.ws.ID, scope, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ids(page)...)
			if len(page) < 2 {
				break
			}
			last := page[len(page)-1]
			after = &store.SLACursor{DueAt: last.SLADueAt, ID: last.ID}
		}
		if diff := cmp.Diff(want(c.keep), got); diff != "" {
			t.Errorf("%s's handoffs (-want +got):\n%s", c.name, diff)
		}
	}
	// Decided ones leave the list.
	if _, err := b.eng.Reject(b.ctx, b.ws.ID, bySLA[0].ID, "test", RejectInput{Reason: "no"}); err != nil {
		t.Fatal(err)
	}
	page, err := b.st.OpenHandoffsBySLA(b.ctx, b.ws.ID, store.WorkScope{All: true}, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(ids(page), bySLA[0].ID) || len(page) != 4 {
		t.Errorf("after a rejection the list holds %d, with the rejected one: %v", len(page), slices.Contains(ids(page), bySLA[0].ID))
	}
}

func TestLeadTimelineIsNewestFirstAndBounded(t *testing.T) {
	t.Parallel()
	b := setupSalesWork(t)
	l := b.lead(t, "DE", "")
	h := b.handOff(t, l)
	b.clock.advance(time.Minute)
	if _, err := b.eng.Reject(b.ctx, b.ws.ID, h.ID, "user:ann", RejectInput{Reason: "No budget"}); err != nil {
		t.Fatal(err)
	}
	es, err := b.st.LeadTimeline(b.ctx, b.ws.ID, l.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for i, e := range es {
		kinds[e.Kind+":"+e.Title]++
		if i > 0 && e.At.After(es[i-1].At) {
			t.Errorf("entry %d (%v) is newer than the one before (%v)", i, e.At, es[i-1].At)
		}
	}
	for _, k := range []string{"handoff:created", "handoff:rejected", "decision:qualified", "audit:owner_assigned", "audit:status_changed"} {
		if kinds[k] == 0 {
			t.Errorf("timeline has no %s: %v", k, kinds)
		}
	}
	if es[0].Kind != store.TimelineHandoff && es[0].Kind != store.TimelineAudit {
		t.Errorf("newest entry is %+v, want the rejection", es[0])
	}
	few, err := b.st.LeadTimeline(b.ctx, b.ws.ID, l.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(es[:2], few); diff != "" {
		t.Errorf("a timeline of 2 is not the newest 2 (-want +got):\n%s", diff)
	}
}
