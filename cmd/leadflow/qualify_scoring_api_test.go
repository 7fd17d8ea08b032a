package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"leadflow/qualify"
	"leadflow/store"
)

// scoringAPI serves the qualify API as `serve` wires it, with two
// workspaces holding a key of every role, and the engine that works behind
// it.
type scoringAPI struct {
	*apiBundle
	eng *qualify.Engine
}

func setupScoringAPI(t *testing.T) *scoringAPI {
	t.Helper()
	base, eng := setupQualifyAPI(t)
	b := &scoringAPI{apiBundle: base, eng: eng}
	return b
}

// lead makes a lead of the workspace, or whatever edit makes of it.
func (b *scoringAPI) lead(t *testing.T, ws store.Workspace, edit func(*store.Lead)) store.Lead {
	t.Helper()
	id := store.NewID()
	l := store.Lead{
		ID: id, WorkspaceID: ws.ID, FirstName: "Ada", Email: id.String() + "@example.com",
		EmailCanonical: id.String() + "@example.com", Status: store.LeadNurturing,
	}
	if edit != nil {
		edit(&l)
	}
	l, err := b.st.InsertLead(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestQualifyScoringAPIRules(t *testing.T) {
	t.Parallel()
	b := setupScoringAPI(t)

	// The defaults until marketing sets its own.
	got := expectJSON[qualify.ScoringView](t, b.apiBundle, http.StatusOK, b.a.marketing, "GET", "/api/v1/scoring", nil)
	want := qualify.ScoringView{
		Points: map[string]int{
			"form_submitted": 10, "event_registered": 15, "event_attended": 20, "email_opened": 2, "email_clicked": 5,
			"unsubscribed": -20, "bounced": -10,
		},
		FitRules:        []qualify.FitRule{},
		GradeThresholds: map[string]int{"A": 80, "B": 60, "C": 40, "D": 20, "E": 1},
		HalfLife:        "30d", HalfLifeSeconds: 30 * 86400,
	}
	if diff := cmp.Diff(want, got, cmpIgnoreUpdatedAt); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}

	// A change of some members keeps the others.
	got = expectJSON[qualify.ScoringView](t, b.apiBundle, http.StatusOK, b.a.admin, "PUT", "/api/v1/scoring", map[string]any{
		"points":    map[string]int{"form_submitted": 20, "email_clicked": 10},
		"fit_rules": []map[string]any{{"field": "country", "op": "in", "values": []string{"US", "CA"}, "points": 50}},
		"half_life": "2w",
	})
	want.Points = map[string]int{"form_submitted": 20, "email_clicked": 10}
	want.FitRules = []qualify.FitRule{{Field: "country", Op: "in", Values: []string{"US", "CA"}, Points: 50}}
	want.HalfLife, want.HalfLifeSeconds = "14d", 14*86400
	if diff := cmp.Diff(want, got, cmpIgnoreUpdatedAt); diff != "" {
		t.Errorf("after PUT (-want +got):\n%s", diff)
	}
	again := expectJSON[qualify.ScoringView](t, b.apiBundle, http.StatusOK, b.a.marketing, "GET", "/api/v1/scoring", nil)
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("GET after PUT (-put +get):\n%s", diff)
	}

	// Faults are named by their place.
	fields := expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.a.marketing, "PUT", "/api/v1/scoring", map[string]any{
		"points":           map[string]int{"tweeted": 1},
		"fit_rules":        []map[string]any{{"field": "title", "op": "matches", "value": "x", "points": 1}},
		"grade_thresholds": map[string]int{"A": 10, "B": 20},
		"half_life":        "0d",
	})
	if diff := cmp.Diff([]string{"fit_rules[0].op", "grade_thresholds.B", "half_life", "points.tweeted"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}
	fields = expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.a.marketing, "PUT", "/api/v1/scoring",
		map[string]any{"half_life": 30, "weights": 1})
	if diff := cmp.Diff([]string{"weights"}, fieldNames(fields)); diff != "" {
		t.Errorf("unknown member (-want +got):\n%s", diff)
	}

	// Roles and workspaces.
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.sales, "GET", "/api/v1/scoring", nil)
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.sales, "PUT", "/api/v1/scoring", map[string]any{"half_life": "1d"})
	expectError(t, b.apiBundle, http.StatusUnauthorized, "unauthorized", "", "GET", "/api/v1/scoring", nil)
	theirs := expectJSON[qualify.ScoringView](t, b.apiBundle, http.StatusOK, b.b.marketing, "GET", "/api/v1/scoring", nil)
	if theirs.HalfLife != "30d" || theirs.Points["form_submitted"] != 10 {
		t.Errorf("the other workspace's rules changed: %+v", theirs)
	}
}

var cmpIgnoreUpdatedAt = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".UpdatedAt" }, cmp.Ignore())

func TestQualifyScoringAPIRecompute(t *testing.T) {
	t.Parallel()
	b := setupScoringAPI(t)
	ctx := context.Background()
	var leads []store.Lead
	for range 3 {
		l := b.lead(t, b.a.ws, func(l *store.Lead) { l.Country = "US" })
		if _, err := b.st.InsertEngagementEvent(ctx, store.EngagementEvent{
			WorkspaceID: l.WorkspaceID, LeadID: l.ID, Kind: store.EngagementFormSubmitted, SourceID: store.NewID(),
		}); err != nil {
			t.Fatal(err)
		}
		leads = append(leads, l)
	}
	b.eng.RunOnce(ctx)
	expectJSON[qualify.ScoringView](t, b.apiBundle, http.StatusOK, b.a.marketing, "PUT", "/api/v1/scoring", map[string]any{
		"points":    map[string]int{"form_submitted": 40},
		"fit_rules": []map[string]any{{"field": "country", "op": "equals", "value": "us", "points": 85}},
	})

	job := expectJSON[qualify.ScoreJob](t, b.apiBundle, http.StatusAccepted, b.a.marketing, "POST", "/api/v1/scoring/recompute", nil)
	if job.Status != store.ScoreJobRunning || job.Total != 3 || job.Done != 0 {
		t.Fatalf("job = %+v, want running 0/3", job)
	}
	path := "/api/v1/scoring/jobs/" + job.ID.String()
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.b.marketing, "GET", path, nil)
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.sales, "POST", "/api/v1/scoring/recompute", nil)

	deadline := time.Now().Add(30 * time.Second)
	for job.Status == store.ScoreJobRunning {
		if time.Now().After(deadline) {
			t.Fatalf("job still running: %+v", job)
		}
		b.eng.RunOnce(ctx)
		job = expectJSON[qualify.ScoreJob](t, b.apiBundle, http.StatusOK, b.a.marketing, "GET", path, nil)
	}
	if job.Status != store.ScoreJobDone || job.Done != 3 || job.Total != 3 || job.FinishedAt == nil {
		t.Errorf("finished job = %+v", job)
	}
	for _, l := range leads {
		got, err := b.st.GetLead(ctx, l.WorkspaceID, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Score != 40 || got.Grade != "A" {
			t.Errorf("lead after the job: score %d grade %q, want 40 A", got.Score, got.Grade)
		}
	}
}

func TestQualifyCriteriaAPI(t *testing.T) {
	t.Parallel()
	b := setupScoringAPI(t)
	body := map[string]any{
		"name": "MQL", "expression": `primary_interest != "" && score >= 30 && grade in ["A", "B"]`,
		"description": "Agreed in the Q3 pipeline review",
		"agreed_by":   map[string]string{"marketing": "Ann", "sales": "Bob"},
	}
	v1 := expectJSON[qualify.Criteria](t, b.apiBundle, http.StatusCreated, b.a.marketing, "POST", "/api/v1/criteria", body)
	if v1.Version != 1 || v1.Active || v1.AgreedByMarketing != "Ann" || v1.AgreedBySales != "Bob" {
		t.Errorf("v1 = %+v", v1)
	}
	body["expression"] = `primary_interest != "" && score >= 40`
	v2 := expectJSON[qualify.Criteria](t, b.apiBundle, http.StatusCreated, b.a.admin, "POST", "/api/v1/criteria", body)
	if v2.Version != 2 || v2.Name != "MQL" {
		t.Errorf("v2 = %+v", v2)
	}

	// A bad expression names the expression, with the compiler's message.
	bad := map[string]any{"name": "MQL", "expression": "scroe >= 30", "agreed_by": map[string]string{"marketing": "Ann"}}
	fields := expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.a.marketing, "POST", "/api/v1/criteria", bad)
	if diff := cmp.Diff([]string{"agreed_by.sales", "expression"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}
	if !strings.Contains(fields["expression"], "unknown name scroe") {
		t.Errorf("expression message = %q", fields["expression"])
	}

	activated := expectJSON[qualify.Criteria](t, b.apiBundle, http.StatusOK, b.a.marketing, "POST", "/api/v1/criteria/"+v1.ID.String()+"/activate", nil)
	if !activated.Active || activated.ActivatedAt == nil {
		t.Errorf("activated = %+v", activated)
	}
	expectJSON[qualify.Criteria](t, b.apiBundle, http.StatusOK, b.a.marketing, "POST", "/api/v1/criteria/"+v2.ID.String()+"/activate", nil)
	list := expectJSON[struct {
		Items []qualify.Criteria `json:"items"`
	}](t, b.apiBundle, http.StatusOK, b.a.marketing, "GET", "/api/v1/criteria?name=MQL", nil)
	var active []int
	for _, c := range list.Items {
		if c.Active {
			active = append(active, c.Version)
		}
	}
	if len(list.Items) != 2 || !cmp.Equal(active, []int{2}) {
		t.Errorf("list = %+v, want 2 versions with v2 active", list.Items)
	}
	one := expectJSON[qualify.Criteria](t, b.apiBundle, http.StatusOK, b.a.marketing, "GET", "/api/v1/criteria/"+v1.ID.String(), nil)
	if one.Active || one.Expression != v1.Expression {
		t.Errorf("v1 after v2's activation = %+v", one)
	}

	// Roles and workspaces.
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.sales, "POST", "/api/v1/criteria", body)
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.sales, "POST", "/api/v1/criteria/"+v1.ID.String()+"/activate", nil)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.b.marketing, "GET", "/api/v1/criteria/"+v1.ID.String(), nil)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.b.marketing, "POST", "/api/v1/criteria/"+v1.ID.String()+"/activate", nil)
	theirs := expectJSON[struct {
		Items []qualify.Criteria `json:"items"`
	}](t, b.apiBundle, http.StatusOK, b.b.marketing, "GET", "/api/v1/criteria", nil)
	if len(theirs.Items) != 0 {
		t.Errorf("the other workspace lists %d criteria", len(theirs.Items))
	}
}

// callResult is the answer of a qualification call.
type callResult struct {
	Decision qualify.QualificationDecision `json:"decision"`
	Lead     qualify.Lead                  `json:"lead"`
	Handoff  *qualify.Handoff              `json:"handoff"`
}

func TestQualifyCallAPI(t *testing.T) {
	t.Parallel()
	b := setupScoringAPI(t)
	ctx := context.Background()
	call := func(l store.Lead) string { return "/api/v1/leads/" + l.ID.String() + "/qualification" }
	followUp := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)

	// dead_end: disqualified, with the reason.
	dead := b.lead(t, b.a.ws, nil)
	res := expectJSON[callResult](t, b.apiBundle, http.StatusCreated, b.a.sales, "POST", call(dead), map[string]any{
		"outcome": "dead_end", "reason": "went with a competitor", "budget": "none",
	})
	if res.Lead.Status != store.LeadDisqualified || res.Lead.StatusReason != "went with a competitor" ||
		res.Lead.Budget != "none" || res.Decision.Outcome != store.DecisionDeadEnd ||
		res.Decision.Reason != "went with a competitor" || res.Decision.Values["budget"] != "none" ||
		!strings.HasPrefix(res.Decision.Actor, "api_key:") || res.Handoff != nil {
		t.Errorf("dead end = %+v", res)
	}

	// maybe: contacted, to be called again.
	maybe := b.lead(t, b.a.ws, nil)
	fields := expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.a.sales, "POST", call(maybe),
		map[string]any{"outcome": "maybe"})
	if diff := cmp.Diff([]string{"follow_up_at"}, fieldNames(fields)); diff != "" {
		t.Errorf("maybe without a date (-want +got):\n%s", diff)
	}
	res = expectJSON[callResult](t, b.apiBundle, http.StatusCreated, b.a.admin, "POST", call(maybe), map[string]any{
		"outcome": "maybe", "follow_up_at": followUp.Format(time.RFC3339), "need": "replace spreadsheets",
		"authority": "VP Ops", "timeline": "Q3",
	})
	if res.Lead.Status != store.LeadContacted || res.Lead.FollowUpAt == nil || !res.Lead.FollowUpAt.Equal(followUp) ||
		res.Lead.Need != "replace spreadsheets" || res.Lead.Authority != "VP Ops" || res.Lead.Timeline != "Q3" ||
		res.Decision.Outcome != store.DecisionMaybe || res.Decision.Values["timeline"] != "Q3" {
		t.Errorf("maybe = %+v", res)
	}

	// opportunity: qualified now and handed off; a lead needs a primary
	// interest, which the call can give.
	opp := b.lead(t, b.a.ws, nil)
	fields = expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.a.sales, "POST", call(opp),
		map[string]any{"outcome": "opportunity"})
	if diff := cmp.Diff([]string{"primary_interest"}, fieldNames(fields)); diff != "" {
		t.Errorf("opportunity without interest (-want +got):\n%s", diff)
	}
	res = expectJSON[callResult](t, b.apiBundle, http.StatusCreated, b.a.sales, "POST", call(opp), map[string]any{
		"outcome": "opportunity", "primary_interest": "Engines", "budget": "50k",
	})
	if res.Lead.Status != store.LeadMarketingQualified || res.Decision.Outcome != store.DecisionOpportunity ||
		res.Handoff == nil || res.Handoff.DecisionID != res.Decision.ID || res.Handoff.Status != store.HandoffOpen {
		t.Errorf("opportunity = %+v", res)
	}
	// An open handoff is decided by accepting or rejecting it.
	expectError(t, b.apiBundle, http.StatusConflict, "conflict", b.a.sales, "POST", call(opp),
		map[string]any{"outcome": "opportunity"})
	expectError(t, b.apiBundle, http.StatusConflict, "conflict", b.a.sales, "POST", call(opp),
		map[string]any{"outcome": "dead_end", "reason": "changed our mind"})
	converted := b.lead(t, b.a.ws, func(l *store.Lead) { l.Status = store.LeadConverted; l.PrimaryInterest = "Engines" })
	expectError(t, b.apiBundle, http.StatusConflict, "conflict", b.a.sales, "POST", call(converted),
		map[string]any{"outcome": "opportunity"})

	// The decisions so far, oldest first, with the audit trail behind them.
	q := expectJSON[struct {
		Decisions  []qualify.QualificationDecision `json:"decisions"`
		Evaluation qualify.Evaluation              `json:"evaluation"`
	}](t, b.apiBundle, http.StatusOK, b.a.marketing, "GET", call(opp), nil)
	if len(q.Decisions) != 1 || q.Decisions[0].Outcome != store.DecisionOpportunity ||
		q.Evaluation.Blocked != "the workspace has no active criteria" {
		t.Errorf("qualification of the opportunity = %+v", q)
	}
	audit, err := b.st.LeadAudit(ctx, b.a.ws.ID, opp.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.Action+" "+e.Field+" "+e.NewValue)
	}
	wantActions := []string{
		"field_overwritten budget 50k",
		"field_overwritten primary_interest Engines",
		"status_changed status marketing_qualified",
	}
	for _, a := range wantActions {
		if !strings.Contains(strings.Join(actions, "\n"), a) {
			t.Errorf("audit %q missing from %q", a, actions)
		}
	}

	// Validation, roles and workspaces.
	fields = expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.a.sales, "POST", call(maybe),
		map[string]any{"outcome": "perhaps", "follow_up_at": "tomorrow"})
	if diff := cmp.Diff([]string{"follow_up_at"}, fieldNames(fields)); diff != "" {
		t.Errorf("bad date (-want +got):\n%s", diff)
	}
	fields = expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.a.sales, "POST", call(maybe),
		map[string]any{"outcome": "perhaps", "follow_up_at": "2001-01-01"})
	if diff := cmp.Diff([]string{"follow_up_at", "outcome"}, fieldNames(fields)); diff != "" {
		t.Errorf("bad outcome and past date (-want +got):\n%s", diff)
	}
	fresh := b.lead(t, b.a.ws, nil)
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.marketing, "POST", call(fresh),
		map[string]any{"outcome": "dead_end", "reason": "x"})
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.b.sales, "POST", call(fresh),
		map[string]any{"outcome": "dead_end", "reason": "x"})
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.b.sales, "GET", call(fresh), nil)
	if got, err := b.st.GetLead(ctx, fresh.WorkspaceID, fresh.ID); err != nil || got.Status != store.LeadNurturing {
		t.Errorf("refused calls changed the lead: %+v, %v", got, err)
	}
}
