package capture_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/capture"
	"leadflow/store"
)

func TestMergeLeadsMovesResponsesAndHistory(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	eventID := b.newEvent(t, b.ws, 0)
	regForm := b.newForm(t, b.ws, func(f *store.Form) { f.Kind, f.EventID = store.FormEventRegistration, &eventID })

	// One person under two addresses: the kept lead knows the company, the
	// other the title, the phone and another interest, and both registered
	// for the event.
	keepF := personFields(t, "hal@work.example", "Hal", "Jordan", "Ferris Air")
	keepF.ProductInterest = "Analytics"
	keep := b.process(t, b.newResponse(t, b.form, keepF))
	b.process(t, b.newResponse(t, regForm, personFields(t, "hal@work.example", "", "", "")))
	otherF := personFields(t, "hal@home.example", "Hal", "Jordan", "Ferris Air")
	otherF.ProductInterest, otherF.Phone, otherF.Title = "Billing", "+14155550199", "Pilot"
	other := b.process(t, b.newResponse(t, b.form, otherF))
	b.process(t, b.newResponse(t, regForm, personFields(t, "hal@home.example", "", "", "")))
	b.process(t, b.newResponse(t, b.form, personFields(t, "hal+x@home.example", "", "", "")))
	if n := b.count(t, `SELECT count(*) FROM possible_duplicates WHERE lead_id = $1 AND match_lead_id = $2`, other.LeadID, keep.LeadID); n != 1 {
		t.Fatalf("the second lead was not flagged as a possible duplicate of the first (%d flags)", n)
	}

	const actor = "api_key:0190c0de-0000-7000-8000-000000000001"
	kept, err := b.proc.MergeLeads(b.ctx, b.ws.ID, keep.LeadID, other.LeadID, actor)
	if err != nil {
		t.Fatalf("MergeLeads: %v", err)
	}
	want := leadProfile{FirstName: "Hal", LastName: "Jordan", Email: "hal@work.example", Phone: "+14155550199",
		Company: "Ferris Air", Title: "Pilot", PrimaryInterest: "Analytics", Interests: []string{"Analytics", "Billing"}}
	if diff := cmp.Diff(want, leadProfileOf(kept)); diff != "" {
		t.Errorf("kept lead (-want +got):\n%s", diff)
	}
	if got := b.lead(t, b.ws, other.LeadID).MergedInto; got == nil || *got != keep.LeadID {
		t.Errorf("other lead merged_into = %v, want %v", got, keep.LeadID)
	}

	got := map[string]int{
		"responses on kept":      b.count(t, `SELECT count(*) FROM responses WHERE lead_id = $1`, keep.LeadID),
		"responses on other":     b.count(t, `SELECT count(*) FROM responses WHERE lead_id = $1`, other.LeadID),
		"engagement on kept":     b.count(t, `SELECT count(*) FROM engagement_events WHERE lead_id = $1`, keep.LeadID),
		"registrations on kept":  b.count(t, `SELECT count(*) FROM event_registrations WHERE lead_id = $1`, keep.LeadID),
		"registrations in total": b.count(t, `SELECT count(*) FROM event_registrations`),
		"audit on other":         b.count(t, `SELECT count(*) FROM lead_audit WHERE lead_id = $1`, other.LeadID),
		"open duplicates":        b.count(t, `SELECT count(*) FROM possible_duplicates WHERE status = 'open'`),
		"live leads":             b.count(t, `SELECT count(*) FROM leads WHERE merged_into IS NULL`),
	}
	wantCounts := map[string]int{
		"responses on kept":      5,
		"responses on other":     0,
		"engagement on kept":     5,
		"registrations on kept":  1, // one person, one place at the event
		"registrations in total": 1,
		"audit on other":         1, // only the line saying where it went
		"open duplicates":        0,
		"live leads":             1,
	}
	if diff := cmp.Diff(wantCounts, got); diff != "" {
		t.Errorf("after the merge (-want +got):\n%s", diff)
	}

	trail, err := b.store.LeadAudit(b.ctx, b.ws.ID, keep.LeadID)
	if err != nil {
		t.Fatal(err)
	}
	last := trail[len(trail)-1]
	if last.Action != store.AuditMerged || last.Actor != actor || last.NewValue != other.LeadID.String() {
		t.Errorf("last audit entry = %+v, want %q by %s naming %v", last, store.AuditMerged, actor, other.LeadID)
	}
	var fromOther int
	for _, e := range trail {
		if e.Action == store.AuditCreated && e.ResponseID != nil && *e.ResponseID != keep.ResponseID {
			fromOther++
		}
	}
	if fromOther != 1 {
		t.Errorf("the other lead's creation is %d times in the kept trail, want 1", fromOther)
	}

	// The merged person's next responses find the kept lead by either
	// email, and the other address does not displace the kept one.
	for _, email := range []string{"hal@home.example", "hal+news@work.example"} {
		out := b.process(t, b.newResponse(t, b.form, personFields(t, email, "", "", "")))
		if out.LeadID != keep.LeadID {
			t.Errorf("a response from %s went to %v, want the kept lead %v", email, out.LeadID, keep.LeadID)
		}
	}
	if got := b.lead(t, b.ws, keep.LeadID).Email; got != "hal@work.example" {
		t.Errorf("kept lead's email = %q, want hal@work.example", got)
	}
}

func TestMergeLeadsRefusals(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	other := b.newWorkspace(t, "other-company")
	otherForm := b.newForm(t, other, nil)
	a := b.process(t, b.newResponse(t, b.form, personFields(t, "a@example.com", "A", "A", ""))).LeadID
	c := b.process(t, b.newResponse(t, b.form, personFields(t, "c@example.com", "C", "C", ""))).LeadID
	d := b.process(t, b.newResponse(t, b.form, personFields(t, "d@example.com", "D", "D", ""))).LeadID
	foreign := b.process(t, b.newResponse(t, otherForm, personFields(t, "f@example.com", "F", "F", ""))).LeadID
	if _, err := b.proc.MergeLeads(b.ctx, b.ws.ID, c, d, "api_key:test"); err != nil {
		t.Fatalf("MergeLeads: %v", err)
	}

	tests := []struct {
		name         string
		keep, merged uuid.UUID
		wantNotFound bool
		wantFields   []string
	}{
		{name: "a lead of another workspace", keep: a, merged: foreign, wantNotFound: true},
		{name: "into a lead of another workspace", keep: foreign, merged: a, wantNotFound: true},
		{name: "an unknown lead", keep: a, merged: store.NewID(), wantNotFound: true},
		{name: "a lead with itself", keep: a, merged: a, wantFields: []string{"other_id"}},
		{name: "a lead merged already", keep: a, merged: d, wantFields: []string{"other_id"}},
		{name: "into a lead merged already", keep: d, merged: a, wantFields: []string{"id"}},
	}
	before := b.recordState(t)
	for _, tt := range tests {
		_, err := b.proc.MergeLeads(b.ctx, b.ws.ID, tt.keep, tt.merged, "api_key:test")
		var verr *capture.ValidationError
		switch {
		case tt.wantNotFound && !errors.Is(err, store.ErrNotFound):
			t.Errorf("%s: err = %v, want ErrNotFound", tt.name, err)
		case tt.wantFields != nil && !errors.As(err, &verr):
			t.Errorf("%s: err = %v, want a ValidationError", tt.name, err)
		case verr != nil:
			var fields []string
			for f := range verr.FieldErrors() {
				fields = append(fields, f)
			}
			if diff := cmp.Diff(tt.wantFields, fields); diff != "" {
				t.Errorf("%s: fields at fault (-want +got):\n%s", tt.name, diff)
			}
		}
	}
	if diff := cmp.Diff(before, b.recordState(t)); diff != "" {
		t.Errorf("refused merges changed records (-before +after):\n%s", diff)
	}
}

// newOpenHandoff hands a lead off to sales, as qualification would.
func (b *workerBundle) newOpenHandoff(t *testing.T, leadID uuid.UUID) uuid.UUID {
	t.Helper()
	decision, handoff := store.NewID(), store.NewID()
	if _, err := b.store.Pool.Exec(b.ctx, `
		INSERT INTO qualification_decisions (id, workspace_id, lead_id, outcome, actor)
		VALUES ($1, $2, $3, 'qualified', 'test')`, decision, b.ws.ID, leadID); err != nil {
		t.Fatalf("new decision: %v", err)
	}
	if _, err := b.store.Pool.Exec(b.ctx, `
		INSERT INTO handoffs (id, workspace_id, lead_id, decision_id, sla_due_at)
		VALUES ($1, $2, $3, $4, now() + interval '1 day')`, handoff, b.ws.ID, leadID, decision); err != nil {
		t.Fatalf("new handoff: %v", err)
	}
	return handoff
}

func TestManualMergeSettlesOpenHandoff(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	lead := func(email string) uuid.UUID {
		return b.process(t, b.newResponse(t, b.form, personFields(t, email, "Hal", "Ito", ""))).LeadID
	}
	type handoff struct {
		Lead   uuid.UUID
		Status string
	}
	handoffOf := func(id uuid.UUID) handoff {
		var h handoff
		if err := b.store.Pool.QueryRow(b.ctx, `SELECT lead_id, status FROM handoffs WHERE id = $1`, id).Scan(&h.Lead, &h.Status); err != nil {
			t.Fatal(err)
		}
		return h
	}

	// The retired lead's open handoff moves to a survivor that has none ...
	keep, other := lead("hal@one.example"), lead("hal@two.example")
	moved := b.newOpenHandoff(t, other)
	if _, err := b.proc.MergeLeads(b.ctx, b.ws.ID, keep, other, "api_key:test"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(handoff{keep, "open"}, handoffOf(moved)); diff != "" {
		t.Errorf("handoff of the retired lead (-want +got):\n%s", diff)
	}

	// ... and is closed when the survivor has its own.
	keep2, other2 := lead("hal@three.example"), lead("hal@four.example")
	kept := b.newOpenHandoff(t, keep2)
	closed := b.newOpenHandoff(t, other2)
	if _, err := b.proc.MergeLeads(b.ctx, b.ws.ID, keep2, other2, "api_key:test"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(handoff{other2, "rejected"}, handoffOf(closed)); diff != "" {
		t.Errorf("second handoff of a merge (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(handoff{keep2, "open"}, handoffOf(kept)); diff != "" {
		t.Errorf("survivor's handoff (-want +got):\n%s", diff)
	}
	// No open handoff is left on a merged-away lead for sales to convert.
	if n := b.count(t, `SELECT count(*) FROM handoffs h JOIN leads l ON l.id = h.lead_id
		WHERE h.status = 'open' AND l.merged_into IS NOT NULL`); n != 0 {
		t.Errorf("open handoffs on merged leads = %d, want 0", n)
	}
	if n := b.count(t, `SELECT count(*) FROM handoff_events WHERE action = 'merged' AND handoff_id IN ($1, $2)`, moved, closed); n != 2 {
		t.Errorf("handoff history lines of the merges = %d, want 2", n)
	}
}
