package nurture

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"leadflow/store"
)

// A suppression taken back, with a reason, is recorded with who did it and
// on the lead's audit trail and timeline; the address then gets the next
// sequence's email. Taking it back again, or an address never suppressed,
// is not found.
func TestRemovedSuppressionIsEmailedAgain(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	tpl := b.newTemplate(t, "Back again", "<p>Hello again</p>", "Hello again")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	lead := b.newLead(t, "back@example.org", nil)
	if err := b.store.InTx(b.ctx, func(q *store.Queries) error {
		return b.eng.Suppress(b.ctx, q, b.ws.ID, "back@example.org", store.SuppressBounced, "smtp:test")
	}); err != nil {
		t.Fatal(err)
	}
	suppressed, err := b.store.GetSuppression(b.ctx, b.ws.ID, "back@example.org")
	if err != nil {
		t.Fatal(err)
	}

	// Why is required, and must be said.
	for _, why := range []string{"", "   "} {
		_, err := b.eng.RemoveSuppression(b.ctx, b.ws.ID, "back@example.org", why, "user:maya")
		if diff := cmp.Diff([]string{"reason"}, keysOf(fieldErrors(err))); diff != "" {
			t.Errorf("removing with reason %q: fields (-want +got):\n%s (err %v)", why, diff, err)
		}
	}
	if _, err := b.store.GetSuppression(b.ctx, b.ws.ID, "back@example.org"); err != nil {
		t.Fatalf("a refused removal removed the suppression: %v", err)
	}

	r, err := b.eng.RemoveSuppression(b.ctx, b.ws.ID, " Back@Example.org ", " mailbox fixed, confirmed by phone ", "user:maya")
	if err != nil {
		t.Fatal(err)
	}
	want := store.SuppressionRemoval{ID: r.ID, WorkspaceID: b.ws.ID, EmailCanonical: "back@example.org",
		Reason: store.SuppressBounced, SuppressedAt: suppressed.CreatedAt, RemovedBy: "user:maya",
		Why: "mailbox fixed, confirmed by phone", RemovedAt: r.RemovedAt}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("removal (-want +got):\n%s", diff)
	}
	if _, err := b.store.GetSuppression(b.ctx, b.ws.ID, "back@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("suppression after removal: %v, want not found", err)
	}
	stored, err := b.store.SuppressionRemovals(b.ctx, b.ws.ID, "back@example.org", 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.SuppressionRemoval{r}, stored); diff != "" {
		t.Errorf("stored removals (-want +got):\n%s", diff)
	}
	audit, err := b.store.LeadAudit(b.ctx, b.ws.ID, lead.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range audit {
		if a.Action == store.AuditSuppressionRemoved {
			got = append(got, a.Actor+" "+a.Field+": "+a.OldValue+" -> "+a.NewValue)
		}
	}
	if diff := cmp.Diff([]string{"user:maya suppression: bounced -> removed: mailbox fixed, confirmed by phone"}, got); diff != "" {
		t.Errorf("audit of the removal (-want +got):\n%s", diff)
	}
	timeline, err := b.store.LeadTimeline(b.ctx, b.ws.ID, lead.ID, 20)
	if err != nil {
		t.Fatal(err)
	}
	var onTimeline bool
	for _, it := range timeline {
		onTimeline = onTimeline || (it.Kind == store.TimelineAudit && it.Title == store.AuditSuppressionRemoved && it.Actor == "user:maya")
	}
	if !onTimeline {
		t.Errorf("the removal is not on the lead's timeline: %+v", timeline)
	}

	for _, email := range []string{"back@example.org", "never@example.org"} {
		if _, err := b.eng.RemoveSuppression(b.ctx, b.ws.ID, email, "again", "user:maya"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("removing %s, not suppressed: %v, want not found", email, err)
		}
	}

	// Enrolled again, the lead gets the email.
	enr := b.enroll(t, seq, lead)
	b.startWorker(t)
	b.smtp.WaitFor(t, 1, 15*time.Second)
	if got := b.smtp.To("back@example.org"); len(got) != 1 || got[0].Header.Get("Subject") != "Back again" {
		t.Errorf("messages to the address: %+v, want the sequence's one", got)
	}
	if e := b.enrollment(t, enr.ID); e.State == store.EnrollmentExited {
		t.Errorf("the enrollment exited (%s)", e.ExitReason)
	}
}

// Soft bounces that led to a suppression someone took back count no more:
// the address is suppressed again only by SoftBounceLimit new ones.
func TestSoftBouncesCountAfreshAfterARemoval(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	b.newLead(t, "full@example.org", nil)
	soft := func() BounceResult {
		t.Helper()
		res, err := b.eng.RecordBounce(b.ctx, b.ws.ID, BounceReport{Email: "full@example.org", Type: store.BounceSoft, Detail: "452 mailbox full"}, "test")
		if err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(time.Hour)
		return res
	}
	for range SoftBounceLimit {
		soft()
	}
	if _, err := b.store.GetSuppression(b.ctx, b.ws.ID, "full@example.org"); err != nil {
		t.Fatalf("after %d soft bounces: %v, want suppressed", SoftBounceLimit, err)
	}
	if _, err := b.eng.RemoveSuppression(b.ctx, b.ws.ID, "full@example.org", "mailbox emptied", "user:maya"); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Hour)
	for i := 1; i <= SoftBounceLimit; i++ {
		res := soft()
		if res.SoftBounces != i || res.Suppressed != (i == SoftBounceLimit) {
			t.Errorf("soft bounce %d after the removal: %d counted, suppressed %v", i, res.SoftBounces, res.Suppressed)
		}
	}
}

// keysOf lists a map's keys, sorted.
func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
