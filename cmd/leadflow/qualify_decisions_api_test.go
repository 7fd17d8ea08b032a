package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/store"
)

func TestQualifyReportsFunnelRejectsDatesOutOfRange(t *testing.T) {
	t.Parallel()
	b := setupSalesAPI(t)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"?to=9999-12-31", []string{"to"}},
		{"?from=9999-12-30&to=9999-12-31", []string{"from", "to"}},
		{"?to=0001-01-01", []string{"to"}},
		{"?from=0000-01-01", []string{"from"}},
		{"?to=9999-12-31T23:59:59Z", []string{"to"}},
		{"?to=2026-13-01", []string{"to"}},
		{"?from=2026-02-30", []string{"from"}},
		{"?to=%00", []string{"to"}},
	} {
		fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.marketing, "GET",
			"/api/v1/reports/funnel"+tc.query, nil)
		if diff := cmp.Diff(tc.want, fieldNames(fields)); diff != "" {
			t.Errorf("%s: fields at fault (-want +got):\n%s", tc.query, diff)
		}
	}
	// The widest range allowed still answers.
	expectJSON[map[string]any](t, b, http.StatusOK, b.a.marketing, "GET", "/api/v1/reports/funnel?from=1970-01-01&to=2999-12-31", nil)
}

func TestQualifyAssignmentRequalifyCooldown(t *testing.T) {
	t.Parallel()
	b := setupSalesAPI(t)
	type cooldown struct {
		RequalifyCooldown string `json:"requalify_cooldown"`
	}
	if got := expectJSON[cooldown](t, b, http.StatusOK, b.a.admin, "GET", "/api/v1/assignment", nil); got.RequalifyCooldown != "30d" {
		t.Errorf("default cooldown %q, want 30d", got.RequalifyCooldown)
	}
	for in, want := range map[string]string{"12h": "12h", "0": "0s", "90d": "90d"} {
		got := expectJSON[cooldown](t, b, http.StatusOK, b.a.admin, "PUT", "/api/v1/assignment", map[string]any{"requalify_cooldown": in})
		if got.RequalifyCooldown != want {
			t.Errorf("PUT %q: cooldown %q, want %q", in, got.RequalifyCooldown, want)
		}
	}
	for _, in := range []string{"soon", "-1d", "400d"} {
		fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.admin, "PUT", "/api/v1/assignment",
			map[string]any{"requalify_cooldown": in})
		if diff := cmp.Diff([]string{"requalify_cooldown"}, fieldNames(fields)); diff != "" {
			t.Errorf("%q: fields at fault (-want +got):\n%s", in, diff)
		}
	}
}

func TestQualifySalesScopeOnHandoffsAndOpportunities(t *testing.T) {
	t.Parallel()
	b := setupConvertAPI(t)
	ws := b.a.ws.ID
	ann := b.user(t, ws, "Ann Rep", store.UserSalesRep)
	bob := b.user(t, ws, "Bob Rep", store.UserSalesRep)
	mia := b.user(t, ws, "Mia Manager", store.UserSalesManager)
	ctx := context.Background()
	east, err := b.st.InsertTeam(ctx, store.Team{WorkspaceID: ws, Name: "East reps", ManagerID: &mia.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.st.ReplaceTeamMembers(ctx, ws, east.ID, []store.TeamMember{{UserID: ann.ID, Weight: 1}}); err != nil {
		t.Fatal(err)
	}
	annKey, bobKey, miaKey := b.userKey(t, ws, ann.ID), b.userKey(t, ws, bob.ID), b.userKey(t, ws, mia.ID)
	decide := func(h store.Handoff, verb string) string {
		return "/api/v1/handoffs/" + h.ID.String() + "/" + verb
	}
	reject := map[string]any{"reason": "not now"}

	annH := b.handoff(t, ws, "one@lead.example", &ann.ID)
	bobH := b.handoff(t, ws, "two@lead.example", &bob.ID)
	// A sales key that acts as no user reads but may not decide; a rep
	// does not see another rep's handoff, nor a manager one outside their
	// teams.
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.sales, "POST", decide(annH, "accept"), nil)
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.sales, "POST", decide(annH, "reject"), reject)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", bobKey, "POST", decide(annH, "accept"), nil)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", bobKey, "POST", decide(annH, "reject"), reject)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", miaKey, "POST", decide(bobH, "reject"), reject)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", annKey, "POST", decide(bobH, "accept"), nil)
	if got, err := b.st.GetHandoff(ctx, ws, annH.ID); err != nil || got.Status != store.HandoffOpen {
		t.Fatalf("Ann's handoff after refusals: %+v %v, want open", got, err)
	}

	// The owner decides their own; the team's manager their team's; a sales
	// admin anyone's.
	conv := expectJSON[conversionBody](t, b.apiBundle, http.StatusOK, annKey, "POST", decide(annH, "accept"), nil)
	expectJSON[map[string]any](t, b.apiBundle, http.StatusOK, b.salesAdminKey, "POST", decide(bobH, "reject"), reject)
	teamH := b.handoff(t, ws, "three@lead.example", &ann.ID)
	expectJSON[map[string]any](t, b.apiBundle, http.StatusOK, miaKey, "POST", decide(teamH, "reject"), reject)

	// The same for the opportunity Ann's accept made.
	opp := "/api/v1/opportunities/" + conv.Opportunity.ID.String()
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", bobKey, "PATCH", opp, map[string]any{"stage": "closed_won"})
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.sales, "PATCH", opp, map[string]any{"stage": "closed_won"})
	for stage, key := range map[string]string{"proposal": annKey, "negotiation": miaKey, "discovery": b.salesAdminKey} {
		got := expectJSON[struct{ Stage string }](t, b.apiBundle, http.StatusOK, key, "PATCH", opp, map[string]any{"stage": stage})
		if got.Stage != stage {
			t.Errorf("stage %q, want %q", got.Stage, stage)
		}
	}
	// Everyone in sales still reads every opportunity; a handoff only the
	// people who may work it, and a key acting as no user.
	for _, key := range []string{bobKey, b.a.sales} {
		expectJSON[map[string]any](t, b.apiBundle, http.StatusOK, key, "GET", opp, nil)
	}
	expectJSON[map[string]any](t, b.apiBundle, http.StatusOK, b.a.sales, "GET", "/api/v1/handoffs/"+annH.ID.String(), nil)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", bobKey, "GET", "/api/v1/handoffs/"+annH.ID.String(), nil)
}

func TestQualifyCriteriaAPIRunawayExpression(t *testing.T) {
	t.Parallel()
	b, eng := setupQualifyAPI(t)
	ctx := context.Background()
	body := func(expression string) map[string]any {
		return map[string]any{"name": "Runaway", "expression": expression,
			"agreed_by": map[string]any{"marketing": "Ann", "sales": "Bob"}}
	}
	// Refused when saved, with the reason.
	fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.marketing, "POST", "/api/v1/criteria",
		body(`len(reduce(1..64, #acc + #acc, "x")) > 0`))
	if !strings.Contains(fields["expression"], "evaluation budget") {
		t.Errorf("expression fault %q, want it to name the evaluation budget", fields["expression"])
	}

	// One that blows its budget only on some real lead is deactivated, in
	// sight, when it does.
	type view struct {
		ID                uuid.UUID `json:"id"`
		Status            string    `json:"status"`
		Active            bool      `json:"active"`
		DeactivatedReason string    `json:"deactivated_reason"`
		Events            []struct {
			Action, Actor, Reason string
		} `json:"events"`
	}
	c := expectJSON[view](t, b, http.StatusCreated, b.a.marketing, "POST", "/api/v1/criteria",
		body(`company == "Boom" ? len(repeat(company, 999999)) > 0 : score > 100`))
	if c = expectJSON[view](t, b, http.StatusOK, b.a.marketing, "POST", "/api/v1/criteria/"+c.ID.String()+"/activate", nil); c.Status != "active" {
		t.Fatalf("activated criteria status %q", c.Status)
	}
	id := store.NewID()
	lead, err := b.st.InsertLead(ctx, store.Lead{
		ID: id, WorkspaceID: b.a.ws.ID, FirstName: "Bo", Email: id.String() + "@lead.example",
		EmailCanonical: id.String() + "@lead.example", Company: "Boom", PrimaryInterest: "Widgets", Status: store.LeadNurturing,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.InsertEngagementEvent(ctx, store.EngagementEvent{
		WorkspaceID: lead.WorkspaceID, LeadID: lead.ID, Kind: store.EngagementFormSubmitted, SourceID: store.NewID(), OccurredAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		eng.RunOnce(ctx)
		c = expectJSON[view](t, b, http.StatusOK, b.a.marketing, "GET", "/api/v1/criteria/"+c.ID.String(), nil)
		if c.Status != "active" || time.Now().After(deadline) {
			break
		}
	}
	if c.Status != "deactivated" || c.Active || !strings.Contains(c.DeactivatedReason, lead.ID.String()) ||
		len(c.Events) != 1 || c.Events[0].Action != "deactivated" || c.Events[0].Reason != c.DeactivatedReason {
		t.Errorf("criteria after the run = %+v, want deactivated naming the lead, with its trail", c)
	}
	list := expectJSON[struct{ Items []view }](t, b, http.StatusOK, b.a.marketing, "GET", "/api/v1/criteria", nil)
	if len(list.Items) != 1 || list.Items[0].Status != "deactivated" {
		t.Errorf("criteria list = %+v, want the one deactivated", list.Items)
	}
	if got, err := b.st.GetLead(ctx, b.a.ws.ID, lead.ID); err != nil || got.Score != 10 {
		t.Errorf("lead score %d (%v), want 10: scoring goes on", got.Score, err)
	}
}
