package qualify_test

import (
	"errors"
	"strings"
	"testing"

	"leadflow/qualify"
	"leadflow/store"
)

// runaways are expressions that, run without a budget, allocate until the
// process dies: a repeated long string, and a string doubled in a loop.
var runaways = []string{
	`len(repeat(repeat("x", 999999), 999999)) > 0`,
	`len(reduce(1..64, #acc + #acc, "x")) > 0`,
	`primary_interest != "" && len(replace(repeat("x", 100000), "", repeat("y", 100000))) > 0`,
	`let a = map(1..1000, #); all(a, {all(a, {all(a, {# > 0})})})`,
}

func TestCriteriaRunawayExpressionRefusedWhenSaved(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	for _, src := range runaways {
		_, err := b.eng.CreateCriteria(b.ctx, b.ws.ID, qualify.CriteriaInput{
			Name: "Runaway", Expression: src, AgreedByMarketing: "Ann", AgreedBySales: "Bob",
		})
		verr, ok := errors.AsType[*qualify.ValidationError](err)
		if !ok || !strings.Contains(verr.Fields["expression"], "fails on") {
			t.Errorf("save %s: %v, want a validation error on expression naming the sample lead", src, err)
		}
	}
	// An expression that fails on a lead that gave nothing is refused too.
	_, err := b.eng.CreateCriteria(b.ctx, b.ws.ID, qualify.CriteriaInput{
		Name: "First interest", Expression: `interests[0] == "Widgets"`, AgreedByMarketing: "Ann", AgreedBySales: "Bob",
	})
	if verr, ok := errors.AsType[*qualify.ValidationError](err); !ok || !strings.Contains(verr.Fields["expression"], "index out of range") {
		t.Errorf("save of an expression failing on an empty lead: %v, want a validation error", err)
	}
	if n := b.count(t, `SELECT count(*) FROM criteria WHERE workspace_id = $1`, b.ws.ID); n != 0 {
		t.Errorf("%d criteria saved, want none", n)
	}
}

func TestCriteriaRunawayActiveVersionDeactivatedOthersKeepScoring(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	other := b.workspace(t, "globex")
	b.activate(t, other, "MQL", `primary_interest != "" && score >= 1`)
	// A runaway version saved and activated before its expression was
	// checked, as by an earlier leadflow: it must not take the process
	// down at every start.
	runaway := store.NewID()
	if _, err := b.st.Pool.Exec(b.ctx, `INSERT INTO criteria (id, workspace_id, name, version, expression,
		agreed_by_marketing, agreed_by_sales, active, activated_at)
		VALUES ($1, $2, 'Runaway', 1, $3, 'Ann', 'Bob', true, now())`, runaway, b.ws.ID, runaways[1]); err != nil {
		t.Fatal(err)
	}
	interested := func(l *store.Lead) { l.PrimaryInterest = "Engines" }
	mine := []store.Lead{b.newLead(t, b.ws, interested), b.newLead(t, b.ws, interested)}
	theirs := b.newLead(t, other, interested)
	for _, l := range append(mine, theirs) {
		b.event(t, l, store.EngagementFormSubmitted, b.clock.Now())
	}
	b.drain(t)

	c, err := b.st.GetCriteria(b.ctx, b.ws.ID, runaway)
	if err != nil {
		t.Fatal(err)
	}
	if c.Active || c.DeactivatedAt == nil || !strings.Contains(c.DeactivatedReason, "budget") {
		t.Errorf("runaway criteria: active %v, deactivated at %v because %q; want deactivated for its budget",
			c.Active, c.DeactivatedAt, c.DeactivatedReason)
	}
	evs, err := b.st.CriteriaEvents(b.ctx, b.ws.ID, runaway)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Action != "deactivated" || evs[0].Actor != qualify.WorkerActor || evs[0].Reason != c.DeactivatedReason {
		t.Errorf("criteria trail = %+v, want one deactivation by the worker with the reason", evs)
	}
	for _, l := range mine {
		got := b.lead(t, l)
		if got.Score != 10 || got.Status != store.LeadNurturing {
			t.Errorf("lead of the runaway's workspace: score %d, %s; want scored 10 and still nurturing", got.Score, got.Status)
		}
	}
	if got := b.lead(t, theirs); got.Status != store.LeadMarketingQualified {
		t.Errorf("other workspace's lead is %s, want marketing_qualified", got.Status)
	}

	// The deactivated version is not tried again.
	b.event(t, mine[0], store.EngagementEmailClicked, b.clock.Now())
	b.drain(t)
	if n := b.count(t, `SELECT count(*) FROM criteria_events WHERE criteria_id = $1`, runaway); n != 1 {
		t.Errorf("%d criteria events after another rescore, want 1", n)
	}
	if got := b.lead(t, mine[0]).Score; got != 15 {
		t.Errorf("score after a click = %d, want 15", got)
	}
}
