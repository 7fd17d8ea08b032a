package qualify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"leadflow/qualify"
	"leadflow/store"
)

// openHandoff returns the lead's open handoff.
func (b *scoreBundle) openHandoff(t *testing.T, l store.Lead) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := b.st.Pool.QueryRow(b.ctx, `SELECT id FROM handoffs WHERE lead_id = $1 AND status = 'open'`, l.ID).Scan(&id); err != nil {
		t.Fatalf("open handoff of %s: %v", l.ID, err)
	}
	return id
}

func (b *scoreBundle) handoffs(t *testing.T, l store.Lead) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM handoffs WHERE lead_id = $1`, l.ID)
}

func TestRejectedLeadIsNotHandedOffAgainUntilCooldownAndNewEngagement(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	b.activate(t, b.ws, "MQL", `primary_interest != "" && score >= 1`)
	interested := func(l *store.Lead) { l.PrimaryInterest = "Engines" }
	engaged := b.newLead(t, b.ws, interested) // engages again after the rejection
	quiet := b.newLead(t, b.ws, interested)   // never does
	for _, l := range []store.Lead{engaged, quiet} {
		b.event(t, l, store.EngagementFormSubmitted, b.clock.Now())
	}
	b.drain(t)
	for _, l := range []store.Lead{engaged, quiet} {
		if _, err := b.eng.Reject(b.ctx, b.ws.ID, b.openHandoff(t, l), "user:sam", qualify.RejectInput{Reason: "No budget this year"}); err != nil {
			t.Fatal(err)
		}
	}

	// An email sent to the lead is a rescore with no new points: sales'
	// decision stands.
	for _, l := range []store.Lead{engaged, quiet} {
		b.event(t, l, store.EngagementEmailSent, b.clock.Now())
	}
	b.drain(t)
	// So does the hourly decay.
	b.clock.advance(2 * time.Hour)
	before := b.lead(t, engaged).ScoredAt
	b.drain(t)
	b.eng.RunOnce(b.ctx)
	b.drain(t)
	if after := b.lead(t, engaged).ScoredAt; after == nil || before == nil || !after.After(*before) {
		t.Fatalf("decay did not rescore the lead: scored at %v, then %v", before, after)
	}
	// New engagement within the cooldown is not enough either.
	b.event(t, engaged, store.EngagementEmailClicked, b.clock.Now())
	b.drain(t)
	for name, l := range map[string]store.Lead{"engaged": engaged, "quiet": quiet} {
		if n := b.handoffs(t, l); n != 1 {
			t.Errorf("%s lead: %d handoffs within the cooldown, want 1", name, n)
		}
		if got := b.lead(t, l).Status; got != store.LeadRecycled {
			t.Errorf("%s lead is %s within the cooldown, want recycled", name, got)
		}
	}
	ev, err := b.eng.Evaluate(b.ctx, b.ws.ID, engaged.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Qualifies || !strings.Contains(ev.Blocked, "sales rejected the lead") {
		t.Errorf("evaluation = %+v, want qualifying but held by the rejection", ev)
	}

	// Past the default 30-day cooldown the next rescore (decay here) hands
	// off the lead that engaged again, not the one that did not.
	b.clock.advance(31 * day)
	b.eng.RunOnce(b.ctx)
	b.drain(t)
	if n := b.handoffs(t, engaged); n != 2 {
		t.Errorf("engaged lead: %d handoffs after the cooldown, want 2", n)
	}
	if got := b.lead(t, engaged).Status; got != store.LeadMarketingQualified {
		t.Errorf("engaged lead is %s after the cooldown, want marketing_qualified", got)
	}
	if n := b.handoffs(t, quiet); n != 1 {
		t.Errorf("quiet lead: %d handoffs after the cooldown, want 1", n)
	}
}

func TestRejectedLeadQualifiedAgainByACall(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	b.activate(t, b.ws, "MQL", `primary_interest != "" && score >= 1`)
	l := b.newLead(t, b.ws, func(l *store.Lead) { l.PrimaryInterest = "Engines" })
	b.event(t, l, store.EngagementFormSubmitted, b.clock.Now())
	b.drain(t)
	if _, err := b.eng.Reject(b.ctx, b.ws.ID, b.openHandoff(t, l), "user:sam", qualify.RejectInput{Reason: "Call back in spring"}); err != nil {
		t.Fatal(err)
	}
	// Sales' own call is a new decision: no cooldown holds it.
	res, err := b.eng.RecordCall(b.ctx, b.ws.ID, l.ID, qualify.Call{Outcome: store.DecisionOpportunity}, "user:sam")
	if err != nil {
		t.Fatal(err)
	}
	if res.Handoff == nil || res.Lead.Status != store.LeadMarketingQualified {
		t.Fatalf("call: handoff %v, lead %s, want a new handoff of a marketing qualified lead", res.Handoff, res.Lead.Status)
	}
	if n := b.handoffs(t, l); n != 2 {
		t.Errorf("%d handoffs, want 2", n)
	}
}

func TestRequalifyCooldownSetting(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	b.activate(t, b.ws, "MQL", `primary_interest != "" && score >= 1`)
	if _, err := b.st.PutAssignmentSettings(b.ctx, store.AssignmentSettings{
		WorkspaceID: b.ws.ID, SLASeconds: 3600, MaxReassignments: 1, RequalifyCooldownSeconds: 3600,
	}); err != nil {
		t.Fatal(err)
	}
	l := b.newLead(t, b.ws, func(l *store.Lead) { l.PrimaryInterest = "Engines" })
	b.event(t, l, store.EngagementFormSubmitted, b.clock.Now())
	b.drain(t)
	if _, err := b.eng.Reject(b.ctx, b.ws.ID, b.openHandoff(t, l), "user:sam", qualify.RejectInput{Reason: "Not yet"}); err != nil {
		t.Fatal(err)
	}
	b.clock.advance(30 * time.Minute)
	b.event(t, l, store.EngagementFormSubmitted, b.clock.Now())
	b.drain(t)
	if n := b.handoffs(t, l); n != 1 {
		t.Fatalf("%d handoffs within the hour's cooldown, want 1", n)
	}
	b.clock.advance(time.Hour)
	b.event(t, l, store.EngagementEmailSent, b.clock.Now())
	b.drain(t)
	if n := b.handoffs(t, l); n != 2 {
		t.Errorf("%d handoffs after the hour's cooldown, want 2", n)
	}
}
