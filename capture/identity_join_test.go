package capture_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/capture"
	"leadflow/store"
)

// joinAudits counts the lead's audit entries of action, for the response,
// that say how the response found the lead.
func (b *workerBundle) joinAudits(t *testing.T, leadID, responseID uuid.UUID, action, matchedBy string) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM lead_audit WHERE lead_id = $1 AND response_id = $2
		AND action = $3 AND detail->>'matched_by' = $4`, leadID, responseID, action, matchedBy)
}

func TestNewAddressWithTheLeadsPhoneAndNameIsAddedToTheLead(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	const mobile = "+13125550180"
	f := withPhone(personFields(t, "priya.johnson@prestige.example", "Priya", "Johnson", "Prestige Worldwide"), mobile)
	f.Title = "Buyer"
	work := b.process(t, b.newResponse(t, b.form, f))

	// Her personal address with her own mobile and her name, nickname-free
	// and accent-blind: the same person, the address added beside the
	// lead's, which stays; only blanks are filled.
	home := withPhone(personFields(t, "PriyaJohnson23@icloud.com", "priya", "JOHNSON", ""), mobile)
	home.Title, home.City = "CTO", "Chicago"
	id := b.newResponse(t, b.form, home)
	out := b.process(t, id)
	if out.LeadID != work.LeadID || out.Result != capture.OutcomeMerged {
		t.Fatalf("personal address with her mobile and name: %+v, want merged into %v", out, work.LeadID)
	}
	l := b.lead(t, b.ws, work.LeadID)
	got := []string{l.Email, l.FirstName, l.LastName, l.Title, l.City}
	if diff := cmp.Diff([]string{"priya.johnson@prestige.example", "Priya", "Johnson", "Buyer", "Chicago"}, got); diff != "" {
		t.Errorf("email, names, title, city (-want +got):\n%s", diff)
	}
	if n := b.joinAudits(t, work.LeadID, id, store.AuditIdentityAdded, "phone_and_name"); n != 1 {
		t.Errorf("identity_added audit entries matched by phone and name = %d, want 1", n)
	}
	if n := b.joinAudits(t, work.LeadID, id, store.AuditResponseMerged, "phone_and_name"); n != 1 {
		t.Errorf("response_merged audit entries matched by phone and name = %d, want 1", n)
	}

	// The address now finds her without the phone; as it was tied to her by
	// phone and name only, it fills blanks but does not rename her.
	later := personFields(t, "priyajohnson23@icloud.com", "Priyanka", "Johnson", "Other Co")
	later.State = "IL"
	if out := b.process(t, b.newResponse(t, b.form, later)); out.LeadID != work.LeadID {
		t.Fatalf("the added address alone went to %v, want %v", out.LeadID, work.LeadID)
	}
	l = b.lead(t, b.ws, work.LeadID)
	got = []string{l.FirstName, l.Company, l.State}
	if diff := cmp.Diff([]string{"Priya", "Prestige Worldwide", "IL"}, got); diff != "" {
		t.Errorf("after the added address alone: first name, company, state (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"priya.johnson@prestige.example Priya Johnson"}, b.liveLeads(t)); diff != "" {
		t.Errorf("live leads (-want +got):\n%s", diff)
	}
}

func TestNewAddressWithALeadsPhoneStaysSeparateWhenAnythingDisagrees(t *testing.T) {
	t.Parallel()
	type lead struct {
		email, first, last, company, phone string
		contact                            bool
	}
	const office, mobile = "+12125550140", "+13125550181"
	tests := []struct {
		name  string
		known []lead
		// The submission, with a new address.
		email, first, last, company, phone string
		flagged                            bool
	}{
		{
			name:  "a colleague on the switchboard",
			known: []lead{{email: "ann@acme.example", first: "Ann", last: "Lee", company: "Acme", phone: office}},
			email: "bob.roe@gmail.com", first: "Bob", last: "Roe", company: "Acme", phone: office,
		},
		{
			name: "a stranger with her name on the switchboard others share",
			known: []lead{
				{email: "ann@acme.example", first: "Ann", last: "Lee", company: "Acme", phone: office},
				{email: "bob@acme.example", first: "Bob", last: "Roe", company: "Acme", phone: office},
			},
			email: "annlee77@gmail.com", first: "Ann", last: "Lee", phone: office, flagged: true,
		},
		{
			name:  "a stranger with her name and number at another employer",
			known: []lead{{email: "ann@acme.example", first: "Ann", last: "Lee", company: "Acme", phone: office}},
			email: "ann.lee@globex.example", first: "Ann", last: "Lee", company: "Globex", phone: office, flagged: true,
		},
		{
			name:  "a namesake colleague: another mailbox at her employer",
			known: []lead{{email: "ann@acme.example", first: "Ann", last: "Lee", company: "Acme", phone: mobile}},
			email: "a.lee@acme.example", first: "Ann", last: "Lee", company: "Acme", phone: mobile,
		},
		{
			name:  "another company typed",
			known: []lead{{email: "ann@acme.example", first: "Ann", last: "Lee", company: "Acme", phone: mobile}},
			email: "annlee77@gmail.com", first: "Ann", last: "Lee", company: "Globex", phone: mobile, flagged: true,
		},
		{
			name:  "another extension of her number",
			known: []lead{{email: "ann@acme.example", first: "Ann", last: "Lee", company: "Acme", phone: office + ";ext=12"}},
			email: "annlee77@gmail.com", first: "Ann", last: "Lee", phone: office + ";ext=34", flagged: true,
		},
		{
			name:  "a name only alike: a typo",
			known: []lead{{email: "ann@acme.example", first: "Ann", last: "Leeson", company: "Acme", phone: mobile}},
			email: "annlee77@gmail.com", first: "Ann", last: "Leesen", phone: mobile, flagged: true,
		},
		{
			name:  "a first name only",
			known: []lead{{email: "ann@acme.example", first: "Ann", last: "Lee", company: "Acme", phone: mobile}},
			email: "annlee77@gmail.com", first: "Ann", phone: mobile, flagged: true,
		},
		{
			name:  "a lead owned by a contact",
			known: []lead{{email: "ann@acme.example", first: "Ann", last: "Lee", company: "Acme", phone: mobile, contact: true}},
			email: "annlee77@gmail.com", first: "Ann", last: "Lee", phone: mobile, flagged: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupWorker(t)
			var first capture.Outcome
			for i, k := range tt.known {
				out := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, k.email, k.first, k.last, k.company), k.phone)))
				if k.contact {
					// The contact knows her by her address only, not the phone.
					c := b.newContact(t, b.ws, store.Contact{FirstName: k.first, LastName: k.last, Email: k.email, Company: k.company})
					if _, err := b.store.Pool.Exec(b.ctx, `UPDATE leads SET contact_id = $1 WHERE id = $2`, c.ID, out.LeadID); err != nil {
						t.Fatal(err)
					}
				}
				if i == 0 {
					first = out
				}
			}
			before := leadProfileOf(b.lead(t, b.ws, first.LeadID))
			out := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, tt.email, tt.first, tt.last, tt.company), tt.phone)))
			if out.LeadID == first.LeadID || out.Result != capture.OutcomeCreated {
				t.Fatalf("outcome %+v, want a lead of its own, not %v", out, first.LeadID)
			}
			if diff := cmp.Diff(before, leadProfileOf(b.lead(t, b.ws, first.LeadID))); diff != "" {
				t.Errorf("the known lead changed (-before +after):\n%s", diff)
			}
			ids, err := b.store.LeadIdentities(b.ctx, b.ws.ID, first.LeadID)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != 1 {
				t.Errorf("the known lead answers to %d addresses, want 1: %+v", len(ids), ids)
			}
			if got := b.openFlags(t, out.LeadID, first.LeadID) == 1; got != tt.flagged {
				t.Errorf("flagged as a possible duplicate = %v, want %v", got, tt.flagged)
			}
		})
	}
}

func TestNameAndEmployerAloneAreFlaggedNotJoined(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// Each submission's address, if any, and the rest of it.
		knownEmail, thenEmail string
		known, then           capture.Fields
	}{
		{
			name:       "a call-back request with a lead's name at its employer",
			knownEmail: "jdubois@tyrell.example",
			known:      capture.Fields{FirstName: "Jennifer", LastName: "Dubois", Company: "Tyrell, Inc."},
			then:       capture.Fields{FirstName: "Jen", LastName: "DUBOIS", Company: "Tyrell", Phone: "+13035550190", Title: "CTO"},
		},
		{
			// A namesake colleague writing from his work address for the
			// first time is as likely as the call-back's person adding his.
			name:      "an address at a call-back lead's employer with its name",
			known:     capture.Fields{FirstName: "Daniel", LastName: "Martínez", Company: "Bluth", Phone: "+12065550191"},
			thenEmail: "DANIEL.MARTINEZ@BLUTH.example",
			then:      capture.Fields{FirstName: "Daniel", LastName: "Martinez"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupWorker(t)
			submission := func(email string, f capture.Fields) capture.Fields {
				if email != "" {
					e := personFields(t, email, "", "", "")
					f.Email, f.EmailCanonical = e.Email, e.EmailCanonical
				}
				return f
			}
			first := b.process(t, b.newResponse(t, b.form, submission(tt.knownEmail, tt.known)))
			before := leadProfileOf(b.lead(t, b.ws, first.LeadID))
			out := b.process(t, b.newResponse(t, b.form, submission(tt.thenEmail, tt.then)))
			if out.LeadID == first.LeadID || out.Result != capture.OutcomeCreated {
				t.Fatalf("outcome %+v, want a lead of its own, not %v", out, first.LeadID)
			}
			if diff := cmp.Diff(before, leadProfileOf(b.lead(t, b.ws, first.LeadID))); diff != "" {
				t.Errorf("the known lead changed (-before +after):\n%s", diff)
			}
			if n := b.openFlags(t, out.LeadID, first.LeadID); n != 1 {
				t.Errorf("possible duplicates joining them = %d, want 1", n)
			}
		})
	}
}

func TestNameAndEmployerFindNoLeadWhenAnythingDisagrees(t *testing.T) {
	t.Parallel()
	type rec struct {
		email, first, last, company, phone string
		contact                            bool
	}
	tests := []struct {
		name  string
		known []rec
		sub   rec
	}{
		{
			name:  "call-back without a company",
			known: []rec{{email: "jdubois@tyrell.example", first: "Jennifer", last: "Dubois", company: "Tyrell"}},
			sub:   rec{first: "Jennifer", last: "Dubois", phone: "+13035550192"},
		},
		{
			name:  "call-back from a namesake elsewhere",
			known: []rec{{email: "jdubois@tyrell.example", first: "Jennifer", last: "Dubois", company: "Tyrell"}},
			sub:   rec{first: "Jennifer", last: "Dubois", company: "Globex", phone: "+13035550192"},
		},
		{
			name:  "call-back whose name is only alike",
			known: []rec{{email: "jdubois@tyrell.example", first: "Jennifer", last: "Dubois", company: "Tyrell"}},
			sub:   rec{first: "Jennifer", last: "Duboiss", company: "Tyrell", phone: "+13035550192"},
		},
		{
			name:  "call-back when the lead's employer is unknown",
			known: []rec{{email: "jdubois@gmail.com", first: "Jennifer", last: "Dubois"}},
			sub:   rec{first: "Jennifer", last: "Dubois", company: "Tyrell", phone: "+13035550192"},
		},
		{
			name: "call-back naming two namesake colleagues",
			known: []rec{
				{email: "jdubois@tyrell.example", first: "Jennifer", last: "Dubois", company: "Tyrell"},
				{email: "jennifer.dubois@tyrell.example", first: "Jennifer", last: "Dubois", company: "Tyrell"},
			},
			sub: rec{first: "Jennifer", last: "Dubois", company: "Tyrell", phone: "+13035550192"},
		},
		{
			name:  "call-back naming a lead and a contact of that name",
			known: []rec{{email: "jdubois@tyrell.example", first: "Jennifer", last: "Dubois", company: "Tyrell"}, {email: "jennifer.d@tyrell.example", first: "Jennifer", last: "Dubois", company: "Tyrell", contact: true}},
			sub:   rec{first: "Jennifer", last: "Dubois", company: "Tyrell", phone: "+13035550192"},
		},
		{
			name:  "call-back naming a contact's lead",
			known: []rec{{email: "jdubois@tyrell.example", first: "Jennifer", last: "Dubois", company: "Tyrell", phone: "+13035550100", contact: true}},
			sub:   rec{first: "Jennifer", last: "Dubois", company: "Tyrell", phone: "+13035550192"},
		},
		{
			name:  "a colleague calling back",
			known: []rec{{email: "jdubois@tyrell.example", first: "Jennifer", last: "Dubois", company: "Tyrell"}},
			sub:   rec{first: "Bob", last: "Dubois", company: "Tyrell", phone: "+13035550192"},
		},
		{
			name:  "an address at another employer for a call-back lead",
			known: []rec{{first: "Jennifer", last: "Dubois", company: "Tyrell", phone: "+13035550192"}},
			sub:   rec{email: "jdubois@globex.example", first: "Jennifer", last: "Dubois"},
		},
		{
			name:  "a personal address for a call-back lead",
			known: []rec{{first: "Jennifer", last: "Dubois", company: "Tyrell", phone: "+13035550192"}},
			sub:   rec{email: "jendubois@gmail.com", first: "Jennifer", last: "Dubois"},
		},
		{
			name:  "a second address for a lead with one",
			known: []rec{{email: "jdubois@tyrell.example", first: "Jennifer", last: "Dubois", company: "Tyrell"}},
			sub:   rec{email: "jendubois@gmail.com", first: "Jennifer", last: "Dubois", company: "Tyrell"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupWorker(t)
			var leads []uuid.UUID
			for _, k := range tt.known {
				if k.contact && k.phone == "" {
					// A contact with no lead yet.
					b.newContact(t, b.ws, store.Contact{FirstName: k.first, LastName: k.last, Email: k.email, Company: k.company})
					continue
				}
				out := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, k.email, k.first, k.last, k.company), k.phone)))
				if k.contact {
					c := b.newContact(t, b.ws, store.Contact{FirstName: k.first, LastName: k.last, Email: k.email, Company: k.company})
					if _, err := b.store.Pool.Exec(b.ctx, `UPDATE leads SET contact_id = $1 WHERE id = $2`, c.ID, out.LeadID); err != nil {
						t.Fatal(err)
					}
				}
				leads = append(leads, out.LeadID)
			}
			var profiles []leadProfile
			for _, id := range leads {
				profiles = append(profiles, leadProfileOf(b.lead(t, b.ws, id)))
			}
			s := tt.sub
			out := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, s.email, s.first, s.last, s.company), s.phone)))
			for i, id := range leads {
				if out.LeadID == id {
					t.Fatalf("the submission went to known lead %d", i)
				}
				if diff := cmp.Diff(profiles[i], leadProfileOf(b.lead(t, b.ws, id))); diff != "" {
					t.Errorf("known lead %d changed (-before +after):\n%s", i, diff)
				}
			}
		})
	}
}

func TestLookalikeWeighedByTheEmployerOfItsSwitchboard(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	const kaiju = "+14155550160"
	weyland := b.process(t, b.newResponse(t, b.form, personFields(t, "omar.sato@weyland.example", "Omar", "Sato", "Weyland")))
	atKaiju := b.process(t, b.newResponse(t, b.form, personFields(t, "omar.sato@kaijulabs.example", "Omar", "Sato", "Kaiju Labs")))
	b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "ann@kaijulabs.example", "Ann", "Lee", "Kaiju Labs, Inc."), kaiju)))

	// From a personal address, no company, but Kaiju Labs' switchboard: the
	// Omar Sato of Kaiju Labs may be him, the one of Weyland is not.
	home := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "omarsato65@yahoo.com", "Omar", "Sato", ""), kaiju)))
	if home.Result != capture.OutcomeCreated {
		t.Fatalf("outcome %+v, want a lead of its own", home)
	}
	got := map[string]int{"kaiju": b.openFlags(t, home.LeadID, atKaiju.LeadID), "weyland": b.openFlags(t, home.LeadID, weyland.LeadID)}
	if diff := cmp.Diff(map[string]int{"kaiju": 1, "weyland": 0}, got); diff != "" {
		t.Errorf("possible duplicates with each Omar Sato (-want +got):\n%s", diff)
	}
}

func TestContactOnTheSwitchboardIsNotANamesakeColleague(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	const office = "+13035550193"
	c := b.newContact(t, b.ws, store.Contact{FirstName: "Katherine", LastName: "Harris", Email: "katherine2@cafe.example",
		Phone: office, Company: "Café Lumière"})

	// Another Katherine Harris at the same employer, her own mailbox, on
	// the switchboard the contact gave: not the contact.
	out := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "katherine@cafe.example", "Katherine", "Harris", ""), office+";ext=264")))
	if out.Result != capture.OutcomeCreated {
		t.Fatalf("outcome %+v, want a lead of her own, not linked to the contact", out)
	}
	if got := b.lead(t, b.ws, out.LeadID).ContactID; got != nil {
		t.Errorf("the namesake colleague's lead is linked to contact %v", *got)
	}
	// Two mailboxes at one employer are two colleagues, not a duplicate to
	// review.
	if n := b.count(t, `SELECT count(*) FROM possible_duplicates WHERE lead_id = $1 AND match_contact_id = $2`,
		out.LeadID, c.ID); n != 0 {
		t.Errorf("possible duplicates of her lead with the contact = %d, want 0", n)
	}
	// The contact herself still finds her contact.
	own := b.process(t, b.newResponse(t, b.form, personFields(t, "katherine2@cafe.example", "Katherine", "Harris", "")))
	if own.Result != capture.OutcomeLinkedContact || own.LeadID == out.LeadID {
		t.Errorf("the contact's own address: %+v, want a lead of hers linked to the contact", own)
	}
}

func TestSwitchboardOfTwoNamesakeContactsPicksNeither(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	const office = "+16465550194"
	first := b.newContact(t, b.ws, store.Contact{FirstName: "Katherine", LastName: "Dubois", Email: "katherine@virtucon.example",
		Phone: office, Company: "Virtucon"})
	second := b.newContact(t, b.ws, store.Contact{FirstName: "Katherine", LastName: "Dubois", Email: "katherine.dubois3@virtucon.example",
		Phone: office, Company: "Virtucon"})

	// From a personal address on the switchboard both gave: either of them.
	out := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "katherinedubois26@icloud.com", "Katherine", "Dubois", "Virtucon"), office)))
	if out.Result != capture.OutcomeCreated {
		t.Fatalf("outcome %+v, want a lead of her own, linked to neither contact", out)
	}
	if got := b.lead(t, b.ws, out.LeadID).ContactID; got != nil {
		t.Errorf("lead linked to contact %v, want neither", *got)
	}
	for _, c := range []store.Contact{first, second} {
		if n := b.count(t, `SELECT count(*) FROM possible_duplicates WHERE lead_id = $1 AND match_contact_id = $2 AND status = 'open'`,
			out.LeadID, c.ID); n != 1 {
			t.Errorf("possible duplicates of her lead with contact %s = %d, want 1", c.Email, n)
		}
	}
}

func TestNamesakeOnAContactsSharedSwitchboardIsNotTheContact(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	const office = "+16465550195"
	c := b.newContact(t, b.ws, store.Contact{FirstName: "Katherine", LastName: "Dubois", Email: "katherine.dubois3@virtucon.example",
		Phone: office, Company: "Virtucon"})
	b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "bob@virtucon.example", "Bob", "Roe", "Virtucon"), office+";ext=12")))

	// Her name from a personal address, on the switchboard Bob gives too.
	out := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "katherinedubois26@icloud.com", "Katherine", "Dubois", "Virtucon"), office)))
	if out.Result != capture.OutcomeCreated {
		t.Fatalf("outcome %+v, want a lead of her own", out)
	}
	if got := b.lead(t, b.ws, out.LeadID).ContactID; got != nil {
		t.Errorf("lead linked to contact %v, want none", *got)
	}
	if n := b.count(t, `SELECT count(*) FROM possible_duplicates WHERE lead_id = $1 AND match_contact_id = $2 AND status = 'open'`,
		out.LeadID, c.ID); n != 1 {
		t.Errorf("possible duplicates of her lead with the contact = %d, want 1", n)
	}
	// With the contact's own extension, the number points at the contact.
	b.newContact(t, b.ws, store.Contact{FirstName: "Lu", LastName: "Pym", Email: "lu@virtucon.example", Phone: office + ";ext=40"})
	lu := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "lupym@gmail.com", "Lu", "Pym", ""), office+";ext=40")))
	if lu.Result != capture.OutcomeLinkedContact {
		t.Errorf("her name and her extension from another address: %+v, want linked to her contact", lu)
	}
}

func TestAddressWithAnotherLeadsPhoneAndNameJoinsThatLead(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	const mobile = "+13035550176"
	work := b.process(t, b.newResponse(t, b.form, personFields(t, "omar@kaiju.example", "omar", "TAYLOR", "Kaiju Labs Inc")))
	home := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "OmarTaylor92@yahoo.com", "Omar", "Taylor", "Kaiju Labs"), mobile)))
	if home.LeadID == work.LeadID {
		t.Fatal("the personal address without a phone between them went to the work lead")
	}

	// His work address, now with the mobile his personal address gave: one
	// person, the personal lead merged into the work one.
	id := b.newResponse(t, b.form, withPhone(personFields(t, "omar@kaiju.example", "Omar", "Taylor", "Kaiju Labs"), mobile))
	out := b.process(t, id)
	if out.LeadID != work.LeadID || out.Result != capture.OutcomeMerged {
		t.Fatalf("work address with the personal lead's phone: %+v, want merged into %v", out, work.LeadID)
	}
	if got := b.lead(t, b.ws, home.LeadID).MergedInto; got == nil || *got != work.LeadID {
		t.Errorf("personal lead merged_into = %v, want %v", got, work.LeadID)
	}
	if n := b.joinAudits(t, work.LeadID, id, store.AuditMerged, "phone_and_name"); n != 1 {
		t.Errorf("merged audit entries matched by phone and name = %d, want 1", n)
	}
	ids, err := b.store.LeadIdentities(b.ctx, b.ws.ID, work.LeadID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, i := range ids {
		got[i.EmailCanonical] = i.InferredBy
	}
	want := map[string]string{"omar@kaiju.example": "", "omartaylor92@yahoo.com": store.IdentityByPhoneAndName}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("identities and how they were inferred (-want +got):\n%s", diff)
	}

	// The personal address still finds him; tied by phone and name, it
	// fills blanks and renames no one.
	later := personFields(t, "omartaylor92@yahoo.com", "Omari", "Taylor", "Other Co")
	later.City = "Denver"
	if out := b.process(t, b.newResponse(t, b.form, later)); out.LeadID != work.LeadID {
		t.Fatalf("the personal address alone went to %v, want %v", out.LeadID, work.LeadID)
	}
	l := b.lead(t, b.ws, work.LeadID)
	if diff := cmp.Diff([]string{"omar@kaiju.example", "Omar", "Kaiju Labs", mobile, "Denver"},
		[]string{l.Email, l.FirstName, l.Company, l.Phone, l.City}); diff != "" {
		t.Errorf("email, first name, company, phone, city (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"omar@kaiju.example Omar Taylor"}, b.liveLeads(t)); diff != "" {
		t.Errorf("live leads (-want +got):\n%s", diff)
	}
}

func TestPhoneAndNameJoinWeighsEveryNameTheLeadWasGiven(t *testing.T) {
	t.Parallel()
	b := setupWorker(t)
	const mobile = "+13035550177"
	work := b.process(t, b.newResponse(t, b.form, personFields(t, "william@wonka.example", "William", "Smith", "Wonka")))
	// A typo from his own address renames the lead ...
	b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "william@wonka.example", "Wiliam", "Smith", "Wonka"), mobile)))
	// ... yet his personal address with his mobile and his name is his:
	// the name is one his address gave.
	out := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, "williamsmith32@gmail.com", "William", "Smith", "Wonka"), mobile)))
	if out.LeadID != work.LeadID {
		t.Fatalf("personal address with his mobile and a name the lead was given went to %v, want %v", out.LeadID, work.LeadID)
	}
}

func TestAddressWithAnotherLeadsPhoneStaysApartWhenAnythingDisagrees(t *testing.T) {
	t.Parallel()
	type rec struct {
		email, first, last, company, phone string
		contact                            bool
	}
	const office, mobile = "+12125550150", "+13125550182"
	tests := []struct {
		name string
		// The submission's lead first, then the lead with its phone, then
		// anyone else.
		known []rec
		sub   rec
	}{
		{
			name: "the number is a switchboard others gave",
			known: []rec{
				{email: "fi@work.example", first: "Fi", last: "Moss", company: "Work Co"},
				{email: "fimoss@gmail.com", first: "Fi", last: "Moss", phone: office},
				{email: "al@work.example", first: "Al", last: "Roe", company: "Work Co", phone: office},
			},
			sub: rec{email: "fi@work.example", first: "Fi", last: "Moss", phone: office},
		},
		{
			name: "another extension of the number",
			known: []rec{
				{email: "fi@work.example", first: "Fi", last: "Moss", company: "Work Co"},
				{email: "fimoss@gmail.com", first: "Fi", last: "Moss", phone: office + ";ext=12"},
			},
			sub: rec{email: "fi@work.example", first: "Fi", last: "Moss", phone: office + ";ext=34"},
		},
		{
			name: "a name only alike",
			known: []rec{
				{email: "fi@work.example", first: "Fiona", last: "Mossman", company: "Work Co"},
				{email: "fimoss@gmail.com", first: "Fiona", last: "Mossmann", phone: mobile},
			},
			sub: rec{email: "fi@work.example", first: "Fiona", last: "Mossman", phone: mobile},
		},
		{
			name: "another company typed",
			known: []rec{
				{email: "fi@work.example", first: "Fi", last: "Moss", company: "Work Co"},
				{email: "fimoss@gmail.com", first: "Fi", last: "Moss", company: "Globex", phone: mobile},
			},
			sub: rec{email: "fi@work.example", first: "Fi", last: "Moss", phone: mobile},
		},
		{
			name: "a namesake colleague: another mailbox at the work domain",
			known: []rec{
				{email: "fi@work.example", first: "Fi", last: "Moss", company: "Work Co"},
				{email: "f.moss@work.example", first: "Fi", last: "Moss", company: "Work Co", phone: mobile},
			},
			sub: rec{email: "fi@work.example", first: "Fi", last: "Moss", phone: mobile},
		},
		{
			name: "the lead with the phone is a contact's",
			known: []rec{
				{email: "fi@work.example", first: "Fi", last: "Moss", company: "Work Co"},
				{email: "fimoss@gmail.com", first: "Fi", last: "Moss", phone: mobile, contact: true},
			},
			sub: rec{email: "fi@work.example", first: "Fi", last: "Moss", phone: mobile},
		},
		{
			name: "a submission naming someone else",
			known: []rec{
				{email: "fi@work.example", first: "Fi", last: "Moss", company: "Work Co"},
				{email: "fimoss@gmail.com", first: "Fi", last: "Moss", phone: mobile},
			},
			sub: rec{email: "fi@work.example", first: "Jo", last: "Moss", phone: mobile},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupWorker(t)
			var leads []uuid.UUID
			for _, k := range tt.known {
				out := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, k.email, k.first, k.last, k.company), k.phone)))
				if k.contact {
					c := b.newContact(t, b.ws, store.Contact{FirstName: k.first, LastName: k.last, Email: k.email, Company: k.company})
					if _, err := b.store.Pool.Exec(b.ctx, `UPDATE leads SET contact_id = $1 WHERE id = $2`, c.ID, out.LeadID); err != nil {
						t.Fatal(err)
					}
				}
				leads = append(leads, out.LeadID)
			}
			if leads[0] == leads[1] {
				t.Fatal("the two known leads are one already")
			}
			before := leadProfileOf(b.lead(t, b.ws, leads[1]))
			s := tt.sub
			out := b.process(t, b.newResponse(t, b.form, withPhone(personFields(t, s.email, s.first, s.last, s.company), s.phone)))
			if out.LeadID != leads[0] {
				t.Fatalf("the submission went to %v, want its address's lead %v", out.LeadID, leads[0])
			}
			if diff := cmp.Diff(before, leadProfileOf(b.lead(t, b.ws, leads[1]))); diff != "" {
				t.Errorf("the lead with the phone changed (-before +after):\n%s", diff)
			}
			if n := b.count(t, `SELECT count(*) FROM leads WHERE merged_into IS NULL`); n != len(tt.known) {
				t.Errorf("live leads = %d, want %d", n, len(tt.known))
			}
		})
	}
}
