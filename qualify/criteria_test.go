package qualify_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"leadflow/qualify"
	"leadflow/store"
)

func TestCriteriaValidation(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	ok := qualify.CriteriaInput{
		Name: "MQL", Expression: `score >= 30`, AgreedByMarketing: "Ann", AgreedBySales: "Bob",
	}
	for _, tt := range []struct {
		name string
		edit func(*qualify.CriteriaInput)
		// want maps each field at fault to a piece of its message.
		want map[string]string
	}{
		{"unknown name", func(in *qualify.CriteriaInput) { in.Expression = `scroe >= 30` },
			map[string]string{"expression": "unknown name scroe"}},
		{"not a boolean", func(in *qualify.CriteriaInput) { in.Expression = `score + 1` },
			map[string]string{"expression": "bool"}},
		{"syntax", func(in *qualify.CriteriaInput) { in.Expression = `score >= ` },
			map[string]string{"expression": "unexpected"}},
		{"wrong type", func(in *qualify.CriteriaInput) { in.Expression = `grade > 3` },
			map[string]string{"expression": "invalid operation"}},
		{"nothing agreed", func(in *qualify.CriteriaInput) {
			in.Name, in.Expression, in.AgreedByMarketing, in.AgreedBySales = " ", "", "", " "
		}, map[string]string{
			"name": "required", "expression": "required", "agreed_by.marketing": "required", "agreed_by.sales": "required",
		}},
		{"too long", func(in *qualify.CriteriaInput) { in.Name = strings.Repeat("x", 101) },
			map[string]string{"name": "at most"}},
	} {
		in := ok
		tt.edit(&in)
		_, err := b.eng.CreateCriteria(b.ctx, b.ws.ID, in)
		var verr *qualify.ValidationError
		if !errors.As(err, &verr) {
			t.Errorf("%s: err = %v, want a ValidationError", tt.name, err)
			continue
		}
		got := map[string]string{}
		for field, msg := range verr.FieldErrors() {
			got[field] = msg
			if want, ok := tt.want[field]; ok && strings.Contains(msg, want) {
				got[field] = want
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s", tt.name, diff)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM criteria`); n != 0 {
		t.Errorf("%d criteria saved from invalid input", n)
	}
	// Every name of the environment compiles.
	in := ok
	in.Expression = `score >= 1 && grade in ["A"] && status == "new" && primary_interest != "" && country == "US" &&
		state == "CA" && title contains "CTO" && company != "" && lead_source == "Web" && budget != "" &&
		authority != "" && need != "" && timeline != "" && "Engines" in interests && consent`
	if _, err := b.eng.CreateCriteria(b.ctx, b.ws.ID, in); err != nil {
		t.Errorf("full environment: %v", err)
	}
}

func TestCriteriaVersionsAndActivation(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	other := b.workspace(t, "globex")
	create := func(ws store.Workspace, name, expression string) store.Criteria {
		t.Helper()
		c, err := b.eng.CreateCriteria(b.ctx, ws.ID, qualify.CriteriaInput{
			Name: name, Expression: expression, AgreedByMarketing: "Ann", AgreedBySales: "Bob",
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	v1 := create(b.ws, "MQL", `score >= 30`)
	v2 := create(b.ws, "MQL", `score >= 40`)
	otherName := create(b.ws, "Event MQL", `score >= 50`)
	theirs := create(other, "MQL", `score >= 10`)
	type version struct {
		Name    string
		Version int
		Active  bool
	}
	versions := func(ws store.Workspace) []version {
		t.Helper()
		cs, err := b.st.ListCriteria(b.ctx, ws.ID, store.CriteriaFilter{Page: store.Page{Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		var out []version
		for _, c := range cs {
			out = append(out, version{c.Name, c.Version, c.Active})
		}
		return out
	}
	want := []version{{"Event MQL", 1, false}, {"MQL", 2, false}, {"MQL", 1, false}}
	if diff := cmp.Diff(want, versions(b.ws)); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
	if theirs.Version != 1 {
		t.Errorf("another workspace's first version = %d, want 1", theirs.Version)
	}

	if _, err := b.eng.ActivateCriteria(b.ctx, b.ws.ID, v1.ID); err != nil {
		t.Fatal(err)
	}
	got, err := b.eng.ActivateCriteria(b.ctx, b.ws.ID, v2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Active || got.ActivatedAt == nil || got.AgreedByMarketing != "Ann" || got.AgreedBySales != "Bob" {
		t.Errorf("activated = %+v", got)
	}
	want = []version{{"Event MQL", 1, false}, {"MQL", 2, true}, {"MQL", 1, false}}
	if diff := cmp.Diff(want, versions(b.ws)); diff != "" {
		t.Errorf("after activating v2 (-want +got):\n%s", diff)
	}
	if _, err := b.eng.ActivateCriteria(b.ctx, b.ws.ID, theirs.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("activating another workspace's criteria: err = %v, want ErrNotFound", err)
	}

	// Concurrent activations and saves: one active version, no version
	// number twice.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			id := []store.Criteria{v1, v2, otherName}[i%3].ID
			if _, err := b.eng.ActivateCriteria(b.ctx, b.ws.ID, id); err != nil {
				t.Errorf("activate: %v", err)
			}
		})
		wg.Go(func() {
			_, err := b.eng.CreateCriteria(b.ctx, b.ws.ID, qualify.CriteriaInput{
				Name: "MQL", Expression: `score >= 60`, AgreedByMarketing: "Ann", AgreedBySales: "Bob",
			})
			if err != nil {
				t.Errorf("create: %v", err)
			}
		})
	}
	wg.Wait()
	if n := b.count(t, `SELECT count(*) FROM criteria WHERE workspace_id = $1 AND active`, b.ws.ID); n != 1 {
		t.Errorf("%d active criteria, want 1", n)
	}
	if n := b.count(t, `SELECT count(DISTINCT version) FROM criteria WHERE workspace_id = $1 AND name = 'MQL'`, b.ws.ID); n != 10 {
		t.Errorf("%d distinct MQL versions, want 10", n)
	}
	if n := b.count(t, `SELECT count(*) FROM criteria WHERE workspace_id = $1 AND active`, other.ID); n != 0 {
		t.Errorf("the other workspace has %d active criteria, want 0", n)
	}
}

func TestCriteriaDecisionRecordsVersionAndValues(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	b.rules(t, b.ws, "", `[{"field": "company", "op": "exists", "points": 70}]`, "", "")
	b.activate(t, b.ws, "MQL", `primary_interest != "" && score >= 10 && grade in ["A", "B"]`)
	c := b.activate(t, b.ws, "MQL", `primary_interest != "" && score >= 15 && grade in ["A", "B"]`)
	l := b.newLead(t, b.ws, func(l *store.Lead) { l.PrimaryInterest, l.Company = "Engines", "Acme" })

	b.event(t, l, store.EngagementFormSubmitted, b.clock.Now())
	b.eng.RunOnce(b.ctx)
	if n := b.count(t, `SELECT count(*) FROM qualification_decisions`); n != 0 {
		t.Fatalf("a score of 10 made %d decisions under v2 (15)", n)
	}
	ev, err := b.eng.Evaluate(b.ctx, b.ws.ID, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEv := qualify.Evaluation{
		CriteriaID: &c.ID, CriteriaVersion: &c.Version, Qualifies: false,
		Values: map[string]any{"grade": "B", "primary_interest": "Engines", "score": 10},
	}
	if diff := cmp.Diff(wantEv, ev); diff != "" {
		t.Errorf("evaluation (-want +got):\n%s", diff)
	}

	b.event(t, l, "email_clicked", b.clock.Now())
	b.eng.RunOnce(b.ctx)
	ds, err := b.eng.Decisions(b.ctx, b.ws.ID, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 {
		t.Fatalf("decisions = %+v, want 1", ds)
	}
	d := ds[0]
	// The values come back from JSON: numbers are float64.
	want := store.QualificationDecision{
		ID: d.ID, WorkspaceID: b.ws.ID, LeadID: l.ID, CriteriaID: &c.ID, CriteriaVersion: &c.Version,
		Outcome: store.DecisionQualified, Actor: qualify.WorkerActor, CreatedAt: b.clock.Now(),
		Values: map[string]any{"grade": "B", "primary_interest": "Engines", "score": float64(15)},
	}
	if diff := cmp.Diff(want, d, cmpTime); diff != "" {
		t.Errorf("decision (-want +got):\n%s", diff)
	}
	got := b.lead(t, l)
	if got.Status != store.LeadMarketingQualified {
		t.Errorf("status = %q, want marketing_qualified", got.Status)
	}
	audit, err := b.st.LeadAudit(b.ctx, b.ws.ID, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(audit, func(e store.AuditEntry) bool { return e.Action == store.AuditStatusChanged })
	if i < 0 {
		t.Fatalf("no status_changed audit entry in %+v", audit)
	}
	if e := audit[i]; e.Actor != qualify.WorkerActor || e.OldValue != store.LeadNurturing ||
		e.NewValue != store.LeadMarketingQualified || e.Detail["decision_id"] != d.ID.String() {
		t.Errorf("audit entry = %+v", e)
	}
	if n := b.count(t, `SELECT count(*) FROM handoffs WHERE lead_id = $1 AND decision_id = $2 AND status = 'open'`,
		l.ID, d.ID); n != 1 {
		t.Errorf("%d open handoffs of the decision, want 1", n)
	}
	ev, err = b.eng.Evaluate(b.ctx, b.ws.ID, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Qualifies || ev.Blocked == "" {
		t.Errorf("evaluation of the qualified lead = %+v, want qualifies but blocked", ev)
	}
}

func TestCriteriaNeedPrimaryInterest(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	// Criteria that forget the primary interest still cannot qualify a lead
	// without one.
	b.activate(t, b.ws, "Loud", `score >= 10`)
	without := b.newLead(t, b.ws, nil)
	with := b.newLead(t, b.ws, func(l *store.Lead) { l.PrimaryInterest = "Engines" })
	for range 5 {
		b.event(t, without, store.EngagementFormSubmitted, b.clock.Now())
		b.event(t, with, store.EngagementFormSubmitted, b.clock.Now())
	}
	b.eng.RunOnce(b.ctx)
	got := b.lead(t, without)
	if got.Score != 50 || got.Status != store.LeadNurturing {
		t.Errorf("lead without interest: score %d status %q, want 50 nurturing", got.Score, got.Status)
	}
	for what, sql := range map[string]string{
		"decisions": `SELECT count(*) FROM qualification_decisions WHERE lead_id = $1`,
		"handoffs":  `SELECT count(*) FROM handoffs WHERE lead_id = $1`,
	} {
		if n := b.count(t, sql, without.ID); n != 0 {
			t.Errorf("lead without interest: %d %s, want 0", n, what)
		}
		if n := b.count(t, sql, with.ID); n != 1 {
			t.Errorf("lead with interest: %d %s, want 1", n, what)
		}
	}
	ev, err := b.eng.Evaluate(b.ctx, b.ws.ID, without.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Qualifies || !strings.Contains(ev.Blocked, "primary purchase interest") {
		t.Errorf("evaluation = %+v, want blocked by the primary interest", ev)
	}
}

func TestSeedCriteriaDemoPath(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	for range 2 { // the second seeding changes nothing
		if err := qualify.SeedCriteria(b.ctx, b.st.Queries, b.ws.ID); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := b.st.ListCriteria(b.ctx, b.ws.ID, store.CriteriaFilter{Page: store.Page{Limit: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || !cs[0].Active || cs[0].Expression != qualify.DemoCriteriaExpression {
		t.Fatalf("seeded criteria = %+v", cs)
	}
	// The README's demo lead: a form with a product interest, a company and
	// a lead source, then a click in the nurture email.
	demo := func(l *store.Lead) {
		l.PrimaryInterest, l.Company, l.LeadSource = "Engines", "Analytical Engines", "Web"
	}
	clicked := b.newLead(t, b.ws, demo)
	opened := b.newLead(t, b.ws, demo)
	noInterest := b.newLead(t, b.ws, func(l *store.Lead) { demo(l); l.PrimaryInterest = "" })
	for _, l := range []store.Lead{clicked, opened, noInterest} {
		b.event(t, l, store.EngagementFormSubmitted, b.clock.Now().Add(-10*time.Minute))
		b.event(t, l, "email_opened", b.clock.Now())
	}
	b.event(t, clicked, "email_clicked", b.clock.Now())
	b.event(t, noInterest, "email_clicked", b.clock.Now())
	b.eng.RunOnce(b.ctx)
	type state struct {
		Score         int
		Grade, Status string
	}
	got := map[string]state{}
	for name, l := range map[string]store.Lead{"clicked": clicked, "opened": opened, "no interest": noInterest} {
		l = b.lead(t, l)
		got[name] = state{l.Score, l.Grade, l.Status}
	}
	want := map[string]state{
		"clicked":     {17, "B", store.LeadMarketingQualified},
		"opened":      {12, "B", store.LeadNurturing},
		"no interest": {17, "D", store.LeadNurturing},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("demo leads (-want +got):\n%s", diff)
	}
}

// cmpTime compares times by instant, whatever their location.
var cmpTime = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
