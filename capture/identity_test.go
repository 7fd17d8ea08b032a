package capture_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"leadflow/capture"
	"leadflow/store"
)

// withPhone is personFields with a phone.
func withPhone(f capture.Fields, phone string) capture.Fields {
	f.Phone = phone
	return f
}

// leadEmails lists the workspace's live leads as "email first last", oldest first.
func (b *workerBundle) liveLeads(t *testing.T) []string {
	t.Helper()
	rows, _ := b.store.Pool.Query(b.ctx, `SELECT email || ' ' || first_name || ' ' || last_name FROM leads
		WHERE workspace_id = $1 AND merged_into IS NULL ORDER BY created_at, id`, b.ws.ID)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// openFlags counts the open possible duplicates joining two leads, either way round.
func (b *workerBundle) openFlags(t *testing.T, a, c uuid.UUID) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM possible_duplicates WHERE status = 'open'
		AND ((lead_id = $1 AND match_lead_id = $2) OR (lead_id = $2 AND match_lead_id = $1))`, a, c)
}

func TestPhoneMatchDoesNotTakeOverLead(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	const office = "+442079460000"
	ann := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "ann@victim.example", "Ann", "Lee", "Victim Ltd"), office)))
	before := b.lead(t, b.ws, ann.LeadID)

	// Someone else gives Ann's number with their own address and name.
	mallory := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "mallory@evil.example", "Mallory", "Moe", ""), office)))
	if mallory.LeadID == ann.LeadID || mallory.Result != capture.OutcomeCreated {
		t.Fatalf("a phone match with another email: %+v, want a new lead, not Ann's %v", mallory, ann.LeadID)
	}
	// And with Ann's name too: still not Ann's lead, but flagged for review.
	claim := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "ann.lee@elsewhere.example", "Ann", "Lee", ""), office)))
	if claim.LeadID == ann.LeadID || claim.Result != capture.OutcomeCreated {
		t.Fatalf("a phone match with Ann's name and another email: %+v, want a new lead", claim)
	}
	if n := b.openFlags(t, claim.LeadID, ann.LeadID); n != 1 {
		t.Errorf("possible duplicates joining the name-alike to Ann = %d, want 1", n)
	}
	if n := b.openFlags(t, mallory.LeadID, ann.LeadID); n != 0 {
		t.Errorf("possible duplicates joining a colleague on the same number to Ann = %d, want 0", n)
	}

	after := b.lead(t, b.ws, ann.LeadID)
	if diff := cmp.Diff(leadProfileOf(before), leadProfileOf(after)); diff != "" {
		t.Errorf("Ann's lead changed by other people's submissions (-before +after):\n%s", diff)
	}
	want := []string{"ann@victim.example Ann Lee", "mallory@evil.example Mallory Moe", "ann.lee@elsewhere.example Ann Lee"}
	if diff := cmp.Diff(want, b.liveLeads(t)); diff != "" {
		t.Errorf("live leads (-want +got):\n%s", diff)
	}
}

func TestPhoneOnlySubmissionFillsOnlyBlanks(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	f := withPhone(personFields(t, "dan@example.com", "Dan", "Cho", "Umbrella"), "+442071838750")
	first := b.process(t, b.newResponse(t, b.form, f))

	// The phone finds Dan; it may fill his blanks but not rename him.
	out := b.process(t, b.newResponse(t, b.form, capture.Fields{Phone: "+442071838750", FirstName: "Daniel", Company: "Umbrella Corp", Title: "Buyer"}))
	if out.LeadID != first.LeadID {
		t.Fatalf("phone-only submission went to %v, want Dan's %v", out.LeadID, first.LeadID)
	}
	l := b.lead(t, b.ws, first.LeadID)
	got := []string{l.Email, l.FirstName, l.Company, l.Title}
	if diff := cmp.Diff([]string{"dan@example.com", "Dan", "Umbrella", "Buyer"}, got); diff != "" {
		t.Errorf("email, first name, company, title (-want +got):\n%s", diff)
	}
	// Someone else's name on the number is someone else.
	eve := b.process(t, b.newResponse(t, b.form, capture.Fields{Phone: "+442071838750", FirstName: "Eve", LastName: "Ng"}))
	if eve.LeadID == first.LeadID {
		t.Errorf("Eve on Dan's number became Dan's lead")
	}
}

func TestEmailThenPhoneThenBothJoinsOneLead(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	const phone = "+14155550123"
	byEmail := b.process(t, b.newResponse(t, b.form, personFields(t, "ed@example.com", "Ed", "Norton", "")))
	byPhone := b.process(t, b.newResponse(t, b.form, capture.Fields{Phone: phone, FirstName: "Ed", LastName: "Norton", Title: "CFO"}))
	if byEmail.LeadID == byPhone.LeadID {
		t.Fatalf("the phone-only submission found the email-only lead: nothing ties them yet")
	}
	both := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "ed@example.com", "Ed", "Norton", ""), phone)))
	if both.LeadID != byEmail.LeadID {
		t.Fatalf("the submission with both went to %v, want the email's lead %v", both.LeadID, byEmail.LeadID)
	}
	if diff := cmp.Diff([]string{"ed@example.com Ed Norton"}, b.liveLeads(t)); diff != "" {
		t.Errorf("live leads (-want +got):\n%s", diff)
	}
	l := b.lead(t, b.ws, byEmail.LeadID)
	if l.Phone != phone || l.Title != "CFO" {
		t.Errorf("joined lead phone, title = %q, %q; want %q, CFO", l.Phone, l.Title, phone)
	}
	if n := b.count(t, `SELECT count(*) FROM responses WHERE lead_id = $1`, byEmail.LeadID); n != 3 {
		t.Errorf("responses on the joined lead = %d, want 3", n)
	}
	if n := b.count(t, `SELECT count(*) FROM lead_audit WHERE lead_id = $1 AND action = $2 AND actor = $3 AND new_value = $4`,
		byEmail.LeadID, store.AuditMerged, capture.ProcessActor, byPhone.LeadID.String()); n != 1 {
		t.Errorf("merge audit entries on the joined lead = %d, want 1", n)
	}
	if got := b.lead(t, b.ws, byPhone.LeadID).MergedInto; got == nil || *got != byEmail.LeadID {
		t.Errorf("phone-only lead merged_into = %v, want %v", got, byEmail.LeadID)
	}
}

func TestEveryEmailALeadUsedFindsIt(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	c := b.newContact(t, b.ws, store.Contact{FirstName: "Ben", LastName: "Ode", Email: "ben@newjob.example"})
	old := b.process(t, b.newResponse(t, b.form, personFields(t, "ben@oldjob.example", "Ben", "Ode", "Old Job")))
	if _, err := b.store.Pool.Exec(b.ctx, `UPDATE leads SET contact_id = $1 WHERE id = $2`, c.ID, old.LeadID); err != nil {
		t.Fatal(err)
	}
	// The new address reaches the lead through its contact ...
	if out := b.process(t, b.newResponse(t, b.form, personFields(t, "ben@newjob.example", "Ben", "Ode", "New Job"))); out.LeadID != old.LeadID {
		t.Fatalf("new address went to %v, want %v", out.LeadID, old.LeadID)
	}
	// ... and the old one still does.
	if out := b.process(t, b.newResponse(t, b.form, personFields(t, "Ben@OldJob.example", "Ben", "Ode", ""))); out.LeadID != old.LeadID {
		t.Errorf("earlier address went to %v, want %v", out.LeadID, old.LeadID)
	}
	// A merged-away lead's address finds the survivor.
	home := b.process(t, b.newResponse(t, b.form, personFields(t, "ben@home.example", "Ben", "Ode", "")))
	if _, err := b.proc.MergeLeads(b.ctx, b.ws.ID, old.LeadID, home.LeadID, "test"); err != nil {
		t.Fatal(err)
	}
	if out := b.process(t, b.newResponse(t, b.form, personFields(t, "ben+x@home.example", "Ben", "Ode", ""))); out.LeadID != old.LeadID {
		t.Errorf("merged lead's address went to %v, want %v", out.LeadID, old.LeadID)
	}
	if n := b.count(t, `SELECT count(*) FROM leads WHERE merged_into IS NULL`); n != 1 {
		t.Errorf("live leads = %d, want 1", n)
	}
	ids, err := b.store.LeadIdentities(b.ctx, b.ws.ID, old.LeadID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, id := range ids {
		got = append(got, id.EmailCanonical)
	}
	if diff := cmp.Diff([]string{"ben@oldjob.example", "ben@newjob.example", "ben@home.example"}, got); diff != "" {
		t.Errorf("identities (-want +got):\n%s", diff)
	}
}

func TestPhoneExtensionsTellColleaguesApart(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	phone := func(s string) string {
		t.Helper()
		p, err := capture.NormalizePhone(s, "US")
		if err != nil {
			t.Fatalf("NormalizePhone(%q): %v", s, err)
		}
		return p
	}
	gil := b.process(t, b.newResponse(t, b.form, capture.Fields{Phone: phone("(415) 555-0100 ext. 12"), FirstName: "Gil"}))
	hal := b.process(t, b.newResponse(t, b.form, capture.Fields{Phone: phone("415-555-0100 x 34"), FirstName: "Gil"}))
	if gil.LeadID == hal.LeadID {
		t.Errorf("two extensions of one switchboard made one lead")
	}
	if got := b.lead(t, b.ws, gil.LeadID).Phone; got != "+14155550100;ext=12" {
		t.Errorf("phone = %q, want the extension kept", got)
	}
}

func TestContactPhoneMatchDoesNotAdoptColleague(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	const office = "+12125550100"
	c := b.newContact(t, b.ws, store.Contact{FirstName: "Ann", LastName: "Lee", Email: "ann@acme.example", Phone: office, Company: "Acme"})
	ann := b.process(t, b.newResponse(t, b.form, personFields(t, "ann@acme.example", "Ann", "Lee", "Acme")))
	annBefore := b.lead(t, b.ws, ann.LeadID)

	bob := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "bob@acme.example", "Bob", "Roe", "Acme"), office)))
	if bob.LeadID == ann.LeadID {
		t.Fatalf("a colleague on the contact's number became the contact's lead")
	}
	l := b.lead(t, b.ws, bob.LeadID)
	if l.ContactID != nil || l.FirstName != "Bob" || l.Email != "bob@acme.example" {
		t.Errorf("colleague's lead: contact %v, %q %q; want no contact, Bob, bob@acme.example", l.ContactID, l.FirstName, l.Email)
	}
	if diff := cmp.Diff(leadProfileOf(annBefore), leadProfileOf(b.lead(t, b.ws, ann.LeadID))); diff != "" {
		t.Errorf("the contact's lead changed (-before +after):\n%s", diff)
	}
	// Her name from a personal address on the switchboard Bob gave too:
	// Ann from home, or another Ann Lee of the office; the number says
	// nothing, so a person decides.
	home := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "ann.lee@gmail.com", "Ann", "Lee", ""), office)))
	if home.LeadID == ann.LeadID || home.Result != capture.OutcomeCreated {
		t.Errorf("her name from another address on the shared switchboard: %+v, want a lead of its own", home)
	}
	if n := b.count(t, `SELECT count(*) FROM possible_duplicates WHERE lead_id = $1 AND match_contact_id = $2 AND status = 'open'`,
		home.LeadID, c.ID); n != 1 {
		t.Errorf("possible duplicates of that lead with the contact = %d, want 1", n)
	}
	if got := b.lead(t, b.ws, ann.LeadID).ContactID; got == nil || *got != c.ID {
		t.Errorf("contact_id = %v, want %v", got, c.ID)
	}
	// On a number only the contact gave, her name from another address is
	// her.
	c2 := b.newContact(t, b.ws, store.Contact{FirstName: "Cy", LastName: "Orr", Email: "cy@acme.example", Phone: "+12125550177"})
	cy := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "cy.orr@gmail.com", "Cy", "Orr", ""), "+12125550177")))
	if got := b.lead(t, b.ws, cy.LeadID).ContactID; cy.Result != capture.OutcomeLinkedContact || got == nil || *got != c2.ID {
		t.Errorf("her name from another address on the contact's own number: %+v, contact %v; want linked to %v", cy, got, c2.ID)
	}
}

func TestEmailMatchedLeadLinksToThePhonesContact(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	lead := b.process(t, b.newResponse(t, b.form, personFields(t, "cat@home.example", "Cat", "Bo", "")))
	c := b.newContact(t, b.ws, store.Contact{FirstName: "Cat", LastName: "Bo", Email: "cat@work.example", Phone: "+12125550111"})

	out := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "cat@home.example", "Cat", "Bo", ""), "+12125550111")))
	if out.LeadID != lead.LeadID {
		t.Fatalf("lead %v, want %v", out.LeadID, lead.LeadID)
	}
	if got := b.lead(t, b.ws, lead.LeadID).ContactID; got == nil || *got != c.ID {
		t.Errorf("contact_id = %v, want the contact the phone identifies, %v", got, c.ID)
	}
	// And its contact's own address now finds it too.
	if out := b.process(t, b.newResponse(t, b.form, personFields(t, "cat@work.example", "Cat", "Bo", ""))); out.LeadID != lead.LeadID {
		t.Errorf("the contact's address went to %v, want %v", out.LeadID, lead.LeadID)
	}
}

func TestPossibleDuplicatesWeighNamesAboveCompany(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	const firm = "Consolidated International Holdings"
	ann := b.process(t, b.newResponse(t, b.form, personFields(t, "ann.lee@consolidated.example", "Ann", "Lee", firm)))
	tests := []struct {
		name                     string
		email, first, last, firm string
		flagged                  bool
	}{
		{"a colleague", "bob.roe@consolidated.example", "Bob", "Roe", firm + " Inc.", false},
		{"a namesake elsewhere", "ann.lee@globex.example", "Ann", "Lee", "Globex", false},
		{"a namesake colleague", "alee@consolidated.example", "Ann", "Lee", firm, false},
		{"her, from home, accent and all", "annlee77@gmail.com", "Ánn", "Lée", "", true},
		{"her, a typo and a suffix", "ann.lee.home@yahoo.com", "Ann", "Leee", firm + ", Inc.", true},
	}
	for _, tt := range tests {
		out := b.process(t, b.newResponse(t, b.form, personFields(t, tt.email, tt.first, tt.last, tt.firm)))
		if got := b.openFlags(t, out.LeadID, ann.LeadID) == 1; got != tt.flagged {
			t.Errorf("%s: flagged as Ann's possible duplicate = %v, want %v", tt.name, got, tt.flagged)
		}
	}
}

func TestLeadMadeForAContactIsFlaggedAgainstALookalike(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	c := b.newContact(t, b.ws, store.Contact{FirstName: "Hiroshi", LastName: "Wilson", Email: "hiroshi@nordstrom.example",
		Company: "Nordström Design"})
	// First a call-back request from a mobile the contact never gave ...
	byPhone := b.process(t, b.newResponse(t, b.form, capture.Fields{Phone: "+13127628407", FirstName: "Hiroshi",
		LastName: "Wilson", Company: "Nordstrom Design"}))
	// ... then the contact's own address: a lead for the contact, and the
	// two flagged for review.
	byEmail := b.process(t, b.newResponse(t, b.form, personFields(t, "hiroshi@nordstrom.example", "Hiroshi", "Wilson", "")))
	if byEmail.Result != capture.OutcomeLinkedContact || byEmail.LeadID == byPhone.LeadID {
		t.Fatalf("outcome %+v, want a new lead linked to contact %v", byEmail, c.ID)
	}
	if n := b.openFlags(t, byEmail.LeadID, byPhone.LeadID); n != 1 {
		t.Errorf("possible duplicates joining the contact's lead and the lookalike = %d, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM possible_duplicates WHERE lead_id = $1 AND match_contact_id = $2`, byEmail.LeadID, c.ID); n != 0 {
		t.Errorf("the contact's lead flagged against its own contact %d times", n)
	}
}

func TestPossibleDuplicatesSayWhy(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	const office = "+442079460001"
	ann := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "ann@victim.example", "Ann", "Lee", "Victim Ltd"), office)))
	claim := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "ann.lee@elsewhere.example", "Ann", "Lee", ""), office)))
	lookalike := b.process(t, b.newResponse(t, b.form, personFields(t, "annlee77@gmail.com", "Ann", "Lee", "")))
	type flag struct{ Lead, Match, Reason string }
	name := map[uuid.UUID]string{ann.LeadID: "ann", claim.LeadID: "claim", lookalike.LeadID: "lookalike"}
	var got []flag
	for _, id := range []uuid.UUID{claim.LeadID, lookalike.LeadID} {
		dups, err := b.store.LeadPossibleDuplicates(b.ctx, b.ws.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dups {
			if d.LeadID == id && d.MatchLeadID != nil {
				got = append(got, flag{name[d.LeadID], name[*d.MatchLeadID], d.Reason})
			}
		}
	}
	want := []flag{
		{"claim", "ann", store.DuplicateSharedPhone},
		{"lookalike", "ann", store.DuplicateSimilarName},
		{"lookalike", "claim", store.DuplicateSimilarName},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("possible duplicates and their reasons (-want +got):\n%s", diff)
	}
}
