package capture_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/capture"
	"leadflow/store"
)

// leadProfile is the part of a lead resolution writes, for comparing.
type leadProfile struct {
	FirstName, LastName, Email, Phone, Company, Title string
	PrimaryInterest                                   string
	Interests                                         []string
	ContactID                                         *uuid.UUID
}

func leadProfileOf(l store.Lead) leadProfile {
	return leadProfile{l.FirstName, l.LastName, l.Email, l.Phone, l.Company, l.Title,
		l.PrimaryInterest, l.Interests, l.ContactID}
}

func TestResolveContactSubmissionMakesOneLeadLinkedToTheContact(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	c := b.newContact(t, b.ws, store.Contact{FirstName: "Ann", LastName: "Lee", Email: "ann@example.com",
		Phone: "+14155550100", Company: "Initech", Title: "CTO"})

	// The contact writes in from a tagged address, giving only an interest.
	f := personFields(t, "Ann+Web@Example.com", "", "", "")
	f.ProductInterest = "Analytics"
	first := b.process(t, b.newResponse(t, b.form, f))
	if first.Result != capture.OutcomeLinkedContact {
		t.Fatalf("first result = %q, want %q", first.Result, capture.OutcomeLinkedContact)
	}
	want := leadProfile{FirstName: "Ann", LastName: "Lee", Email: "ann+web@example.com", Phone: "+14155550100",
		Company: "Initech", Title: "CTO", PrimaryInterest: "Analytics", Interests: []string{"Analytics"}, ContactID: &c.ID}
	if diff := cmp.Diff(want, leadProfileOf(b.lead(t, b.ws, first.LeadID))); diff != "" {
		t.Errorf("lead made for the contact (-want +got):\n%s", diff)
	}

	// Then by phone only: the same person, not a second one.
	second := b.process(t, b.newResponse(t, b.form, capture.Fields{Phone: "+14155550100", FirstName: "Ann"}))
	if second.LeadID != first.LeadID || second.Result != capture.OutcomeMerged {
		t.Errorf("phone-only submission: %+v, want merged into %v", second, first.LeadID)
	}
	if n := b.count(t, `SELECT count(*) FROM leads`); n != 1 {
		t.Errorf("leads = %d, want 1", n)
	}
	wantAudit := []string{store.AuditCreated, store.AuditContactLinked, store.AuditResponseMerged}
	if diff := cmp.Diff(wantAudit, b.auditActions(t, b.ws, first.LeadID)); diff != "" {
		t.Errorf("audit trail (-want +got):\n%s", diff)
	}
}

func TestResolveContactsLeadIsFoundThroughTheContact(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	c := b.newContact(t, b.ws, store.Contact{FirstName: "Ben", LastName: "Ode", Email: "ben@newjob.example"})
	// A lead already linked to the contact, under the address they had then.
	old := b.process(t, b.newResponse(t, b.form, personFields(t, "ben@oldjob.example", "Ben", "Ode", "Old Job")))
	if _, err := b.store.Pool.Exec(b.ctx, `UPDATE leads SET contact_id = $1 WHERE id = $2`, c.ID, old.LeadID); err != nil {
		t.Fatal(err)
	}

	out := b.process(t, b.newResponse(t, b.form, personFields(t, "ben@newjob.example", "Ben", "Ode", "New Job")))
	if out.LeadID != old.LeadID || out.Result != capture.OutcomeMerged {
		t.Fatalf("outcome %+v, want merged into the contact's lead %v", out, old.LeadID)
	}
	// Found through the contact, not by its own email: the new address is
	// one more identity of the lead, and nothing it had is overwritten.
	wantAudit := []string{
		store.AuditCreated,
		store.AuditResponseMerged,
		store.AuditIdentityAdded + " email ->ben@newjob.example",
	}
	if diff := cmp.Diff(wantAudit, b.auditActions(t, b.ws, old.LeadID)); diff != "" {
		t.Errorf("audit trail (-want +got):\n%s", diff)
	}
	if l := b.lead(t, b.ws, old.LeadID); l.Email != "ben@oldjob.example" || l.Company != "Old Job" {
		t.Errorf("lead email, company = %q, %q; want the ones it had", l.Email, l.Company)
	}
}

func TestResolveLinksAnExistingLeadToANewContact(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	first := b.process(t, b.newResponse(t, b.form, personFields(t, "cat@example.com", "Cat", "Bo", "")))
	c := b.newContact(t, b.ws, store.Contact{FirstName: "Cat", LastName: "Bo", Email: "cat@example.com"})

	out := b.process(t, b.newResponse(t, b.form, personFields(t, "cat@example.com", "Cat", "Bo", "")))
	if out.LeadID != first.LeadID {
		t.Fatalf("lead %v, want %v", out.LeadID, first.LeadID)
	}
	if got := b.lead(t, b.ws, out.LeadID).ContactID; got == nil || *got != c.ID {
		t.Errorf("contact_id = %v, want %v", got, c.ID)
	}
	wantAudit := []string{store.AuditCreated, store.AuditResponseMerged, store.AuditContactLinked}
	if diff := cmp.Diff(wantAudit, b.auditActions(t, b.ws, out.LeadID)); diff != "" {
		t.Errorf("audit trail (-want +got):\n%s", diff)
	}
}

func TestResolvePhoneMatch(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	f := personFields(t, "dan@example.com", "Dan", "Cho", "Umbrella")
	f.Phone = "+442071838750"
	first := b.process(t, b.newResponse(t, b.form, f))

	// No email, another spelling of nothing else: the phone says who it is.
	out := b.process(t, b.newResponse(t, b.form, capture.Fields{Phone: "+442071838750", Title: "Buyer"}))
	if out.LeadID != first.LeadID || out.Result != capture.OutcomeMerged {
		t.Fatalf("outcome %+v, want merged into %v", out, first.LeadID)
	}
	if got := b.lead(t, b.ws, first.LeadID).Title; got != "Buyer" {
		t.Errorf("title = %q, want the blank filled with Buyer", got)
	}
	// Another phone is another person.
	other := b.process(t, b.newResponse(t, b.form, capture.Fields{Phone: "+442071838751", FirstName: "Eve"}))
	if other.LeadID == first.LeadID || other.Result != capture.OutcomeCreated {
		t.Errorf("another phone: %+v, want a new lead", other)
	}
}

func TestResolveFuzzyNameAndCompanyFlagsAPossibleDuplicate(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	jon := b.process(t, b.newResponse(t, b.form, personFields(t, "jon@acme.example", "Jonathan", "Smith", "Acme Corporation")))
	c := b.newContact(t, b.ws, store.Contact{FirstName: "Jonathan", LastName: "Smith", Company: "Acme Corp.",
		Email: "jsmith@acme.example"})
	unrelated := b.process(t, b.newResponse(t, b.form, personFields(t, "maria@umbrella.example", "Maria", "Garcia", "Umbrella")))

	lookalike := b.process(t, b.newResponse(t, b.form,
		personFields(t, "jonathon.smith@home.example", "Jonathon", "Smith", "Acme Corporation")))
	if lookalike.Result != capture.OutcomeCreated || lookalike.LeadID == jon.LeadID {
		t.Fatalf("lookalike: %+v, want a lead of its own", lookalike)
	}
	dups, err := b.store.LeadPossibleDuplicates(b.ctx, b.ws.ID, lookalike.LeadID)
	if err != nil {
		t.Fatal(err)
	}
	type flag struct {
		Lead, Contact *uuid.UUID
		Open          bool
	}
	var got []flag
	for _, d := range dups {
		if d.LeadID != lookalike.LeadID || d.Similarity < capture.DefaultFuzzyThreshold {
			t.Errorf("flag %+v: want it on the new lead at similarity >= %v", d, capture.DefaultFuzzyThreshold)
		}
		got = append(got, flag{d.MatchLeadID, d.MatchContactID, d.Status == "open"})
	}
	want := []flag{{Lead: &jon.LeadID, Open: true}, {Contact: &c.ID, Open: true}}
	sortFlags := cmp.Transformer("sort", func(in []flag) map[string]bool {
		m := map[string]bool{}
		for _, f := range in {
			m[idText(f.Lead)+"/"+idText(f.Contact)] = f.Open
		}
		return m
	})
	if diff := cmp.Diff(want, got, sortFlags); diff != "" {
		t.Errorf("possible duplicates of the lookalike (-want +got):\n%s", diff)
	}
	if n := b.count(t, `SELECT count(*) FROM possible_duplicates WHERE lead_id = $1 OR match_lead_id = $1`, unrelated.LeadID); n != 0 {
		t.Errorf("the unrelated lead has %d possible duplicates, want 0", n)
	}
	if n := b.count(t, `SELECT count(*) FROM leads WHERE merged_into IS NOT NULL`); n != 0 {
		t.Errorf("%d leads merged by a fuzzy match, want none", n)
	}
}

func idText(id *uuid.UUID) string {
	if id == nil {
		return "-"
	}
	return id.String()
}

func TestResolveMergeFillsBlanksAndAuditsOverwrites(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	firstAt := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	secondAt := firstAt.Add(30 * time.Minute)
	f1 := personFields(t, "fay@example.com", "Fay", "", "Initech")
	f1.LeadSource = "Web"
	first := b.process(t, b.newResponse(t, b.form, f1, func(o *responseOpts) {
		o.receivedAt = firstAt
		o.utm = map[string]string{"utm_source": "google"}
	}))

	f2 := personFields(t, "FAY+events@example.com", "Fay", "Wu", "Initech Corp")
	f2.Title, f2.LeadSource, f2.Consent = "VP Sales", "Trade Show", true
	out := b.process(t, b.newResponse(t, b.form, f2, func(o *responseOpts) {
		o.receivedAt = secondAt
		o.utm = map[string]string{"utm_source": "newsletter"}
		o.custom = map[string]string{"00N5e00000ABCDE": "enterprise"}
	}))
	if out.LeadID != first.LeadID || out.Result != capture.OutcomeMerged {
		t.Fatalf("outcome %+v, want merged into %v", out, first.LeadID)
	}

	l := b.lead(t, b.ws, out.LeadID)
	type merged struct {
		LastName, Email, Company, Title, LeadSource, ConsentText string
		Consent                                                  bool
		ConsentAt                                                time.Time
		UTM, Custom                                              map[string]string
	}
	want := merged{
		LastName:    "Wu",                 // blank, filled
		Email:       "fay@example.com",    // same canonical address: kept
		Company:     "Initech Corp",       // changed: overwritten
		Title:       "VP Sales",           // blank, filled
		LeadSource:  "Web",                // first touch stays
		ConsentText: "Yes, send me news.", // the form's wording
		Consent:     true,
		ConsentAt:   secondAt,
		UTM:         map[string]string{"utm_source": "google"},
		Custom:      map[string]string{"00N5e00000ABCDE": "enterprise"},
	}
	got := merged{l.LastName, l.Email, l.Company, l.Title, l.LeadSource, l.ConsentText, l.Consent,
		timeOf(l.ConsentAt), l.UTM, l.Custom}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("merged lead (-want +got):\n%s", diff)
	}

	entries, err := b.store.LeadAudit(b.ctx, b.ws.ID, out.LeadID)
	if err != nil {
		t.Fatal(err)
	}
	type line struct{ Action, Actor, Field, Old, New string }
	var lines []line
	for _, e := range entries {
		lines = append(lines, line{e.Action, e.Actor, e.Field, e.OldValue, e.NewValue})
		if e.ResponseID == nil {
			t.Errorf("audit entry %q names no response", e.Action)
		}
	}
	wantLines := []line{
		{Action: store.AuditCreated, Actor: capture.ProcessActor},
		{Action: store.AuditResponseMerged, Actor: capture.ProcessActor},
		{Action: store.AuditFieldOverwritten, Actor: capture.ProcessActor, Field: "company", Old: "Initech", New: "Initech Corp"},
	}
	if diff := cmp.Diff(wantLines, lines); diff != "" {
		t.Errorf("audit trail (-want +got):\n%s", diff)
	}
	filled, _ := entries[1].Detail["filled"].([]any)
	if diff := cmp.Diff([]any{"last_name", "title", "consent", "consent_text", "custom.00N5e00000ABCDE"}, filled); diff != "" {
		t.Errorf("filled fields recorded on the merge (-want +got):\n%s", diff)
	}
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func TestResolveInterestsAccumulateAndTheFirstStaysPrimary(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	var leadID uuid.UUID
	for _, interest := range []string{"", "Billing", "Analytics", "billing", "Analytics"} {
		f := personFields(t, "gus@example.com", "Gus", "Fring", "")
		f.ProductInterest = interest
		leadID = b.process(t, b.newResponse(t, b.form, f)).LeadID
	}
	l := b.lead(t, b.ws, leadID)
	if diff := cmp.Diff([]string{"Billing", "Analytics"}, l.Interests); diff != "" {
		t.Errorf("interests (-want +got):\n%s", diff)
	}
	if l.PrimaryInterest != "Billing" {
		t.Errorf("primary interest = %q, want the first recorded, Billing", l.PrimaryInterest)
	}
}

func TestResolveEventRegistrationOncePerPersonWithAWaitlist(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	eventID := b.newEvent(t, b.ws, 2)
	form := b.newForm(t, b.ws, func(f *store.Form) { f.Kind, f.EventID = store.FormEventRegistration, &eventID })

	register := func(email string) capture.Outcome {
		return b.process(t, b.newResponse(t, form, personFields(t, email, "", "", "")))
	}
	var got []string
	for _, email := range []string{"ann@example.com", "ANN@example.com", "bob@example.com", "cy@example.com", "ann+again@example.com", "cy@example.com"} {
		got = append(got, email+" "+register(email).Registration)
	}
	want := []string{
		"ann@example.com registered",
		"ANN@example.com registered", // still the one registration
		"bob@example.com registered",
		"cy@example.com waitlisted", // the event is full
		"ann+again@example.com registered",
		"cy@example.com waitlisted",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("registrations (-want +got):\n%s", diff)
	}
	counts, err := b.store.EventRegistrationCounts(b.ctx, b.ws.ID, eventID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(store.EventCounts{Registered: 2, Waitlisted: 1}, counts); diff != "" {
		t.Errorf("event counts (-want +got):\n%s", diff)
	}
	kinds := b.count(t, `SELECT count(*) FROM engagement_events WHERE kind = 'event_registered'`)
	if kinds != 3 {
		t.Errorf("event_registered engagement = %d, want 3 (one per person)", kinds)
	}
}

func TestResolveEventCapacityHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	eventID := b.newEvent(t, b.ws, 2)
	form := b.newForm(t, b.ws, func(f *store.Form) { f.Kind, f.EventID = store.FormEventRegistration, &eventID })
	var ids []uuid.UUID
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"} {
		ids = append(ids, b.newResponse(t, form, personFields(t, email, "", "", "")))
	}
	b.warmPool(t)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			<-start
			if _, err := b.proc.Process(b.ctx, id); err != nil {
				t.Errorf("Process: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	counts, err := b.store.EventRegistrationCounts(b.ctx, b.ws.ID, eventID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(store.EventCounts{Registered: 2, Waitlisted: 3}, counts); diff != "" {
		t.Errorf("event counts (-want +got):\n%s", diff)
	}
}
