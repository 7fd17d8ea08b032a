package capture_test

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"leadflow/capture"
	"leadflow/store"
)

// referral shapes a referred person as the API does: normalised, no consent.
func referral(t *testing.T, posted, first, last, company, phone string) store.Lead {
	t.Helper()
	l := store.Lead{FirstName: first, LastName: last, Company: company, Phone: phone}
	if posted != "" {
		l.Email, l.EmailCanonical = normEmail(t, posted)
	}
	return l
}

var referralOrigin = map[string]any{"source": capture.LeadSourceReferral}

func TestLeadReferralOfAContactMakesTheContactsLead(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	c := b.newContact(t, b.ws, store.Contact{FirstName: "Ann", LastName: "Lee", Email: "ann@example.com",
		Phone: "+14155550100", Company: "Initech", Title: "CTO"})

	ref, err := b.proc.Refer(b.ctx, b.ws.ID, referral(t, "Ann+Ref@example.com", "", "", "", ""), referralOrigin, "user:test")
	if err != nil {
		t.Fatal(err)
	}
	if ref.Result != capture.OutcomeLinkedContact || ref.Lead.ContactID == nil || *ref.Lead.ContactID != c.ID {
		t.Fatalf("referral of a contact = %s, contact %v, want linked to %s", ref.Result, ref.Lead.ContactID, c.ID)
	}
	if ref.Lead.LeadSource != capture.LeadSourceReferral || ref.Lead.Title != "CTO" {
		t.Errorf("lead made for the contact = %+v", ref.Lead)
	}

	// Her own submission later finds the referred lead.
	out := b.process(t, b.newResponse(t, b.form, personFields(t, "ann@example.com", "Ann", "Lee", "Initech")))
	if out.LeadID != ref.Lead.ID || out.Result != capture.OutcomeMerged {
		t.Errorf("her submission = %+v, want merged into %s", out, ref.Lead.ID)
	}
	wantAudit := []string{store.AuditCreated, store.AuditContactLinked, store.AuditResponseMerged}
	if diff := cmp.Diff(wantAudit, b.auditActions(t, b.ws, ref.Lead.ID)); diff != "" {
		t.Errorf("audit trail (-want +got):\n%s", diff)
	}
}

func TestLeadReferralByPhoneFillsBlanksOnly(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	f := personFields(t, "", "Bo", "Diddley", "Chess Records")
	f.Phone = "+14155550123"
	made := b.process(t, b.newResponse(t, b.form, f))

	ref, err := b.proc.Refer(b.ctx, b.ws.ID, referral(t, "", "Bo", "Diddley", "Checker", "+14155550123"), referralOrigin, "user:test")
	if err != nil {
		t.Fatal(err)
	}
	if ref.Lead.ID != made.LeadID || ref.Result != capture.OutcomeMerged || ref.Lead.Company != "Chess Records" {
		t.Errorf("phone referral = %s %+v, want merged into %s keeping its company", ref.Result, ref.Lead, made.LeadID)
	}
	if len(ref.Filled) != 0 {
		t.Errorf("filled = %v, want nothing", ref.Filled)
	}
	if n := b.count(t, `SELECT count(*) FROM lead_audit WHERE lead_id = $1 AND action = $2`, made.LeadID, store.AuditFieldOverwritten); n != 0 {
		t.Errorf("a referral overwrote %d fields", n)
	}
}

// Referrals and submissions of one person take the same identity locks: run
// together, they make one lead.
func TestLeadReferralsAndSubmissionsRacingMakeOneLead(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	variants := janeVariants(20)
	var pending []func() error
	for _, email := range variants[:10] {
		id := b.newResponse(t, b.form, personFields(t, email, "Jane", "Doe", "Example Inc"))
		pending = append(pending, func() error { _, err := b.proc.Process(b.ctx, id); return err })
	}
	for _, email := range variants[10:] {
		person := referral(t, email, "Jane", "Doe", "", "")
		pending = append(pending, func() error {
			_, err := b.proc.Refer(b.ctx, b.ws.ID, person, referralOrigin, "user:test")
			return err
		})
	}
	b.warmPool(t)
	start := make(chan struct{})
	errs := make(chan error, len(pending))
	var wg sync.WaitGroup
	for _, run := range pending {
		wg.Go(func() {
			<-start
			errs <- run()
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("resolve: %v", err)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM leads WHERE workspace_id = $1`, b.ws.ID); n != 1 {
		t.Fatalf("leads = %d, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM lead_audit WHERE action = 'created'`); n != 1 {
		t.Errorf("created audit entries = %d, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM lead_audit WHERE action = 'response_merged'`); n != len(pending)-1 {
		t.Errorf("merge audit entries = %d, want %d", n, len(pending)-1)
	}
}
