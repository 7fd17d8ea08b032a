package main

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/qualify"
	"leadflow/store"
)

// knownPerson is a contact-as-lead: a customer already known as a contact
// of an account, who filled in a form and is a lead again, owned by the
// owner and active in a sequence.
type knownPerson struct {
	account store.Account
	contact store.Contact
	lead    store.Lead
}

func (b *convertAPI) knownPerson(t *testing.T, email string) knownPerson {
	t.Helper()
	ctx := context.Background()
	ws := b.a.ws.ID
	a, err := b.st.InsertAccount(ctx, store.Account{WorkspaceID: ws, Name: "Globex " + email, Domain: "globex-" + uuid.NewString()[:8] + ".example"})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := b.st.EnsureContact(ctx, store.Contact{WorkspaceID: ws, FirstName: "Kim", LastName: "Known", Email: email, EmailCanonical: email, AccountID: &a.ID})
	if err != nil {
		t.Fatal(err)
	}
	l, err := b.st.InsertLead(ctx, store.Lead{
		WorkspaceID: ws, FirstName: "Kim", LastName: "Known", Email: email, EmailCanonical: email,
		Company: "Globex", PrimaryInterest: "Gadgets", Status: store.LeadNurturing, OwnerID: &b.owner.ID,
	})
	if err != nil {
		t.Fatal(err)
	}
	seq := store.NewID()
	b.exec(t, `INSERT INTO sequences (id, workspace_id, name, status, steps)
		VALUES ($1, $2, 'Seq', 'active', jsonb_build_array(jsonb_build_object('key', 'w', 'type', 'wait', 'duration', '1h')))`, seq, ws)
	b.exec(t, `INSERT INTO enrollments (id, workspace_id, sequence_id, lead_id, state, step_key, next_run_at)
		VALUES ($1, $2, $3, $4, 'active', 'w', now())`, store.NewID(), ws, seq, l.ID)
	return knownPerson{account: a, contact: c, lead: l}
}

// records counts what a conversion makes in the workspace and what the
// lead still is.
type records struct {
	Accounts, Contacts, Opportunities, ActiveEnrollments, Decisions int
	Status                                                          string
}

func (b *convertAPI) records(t *testing.T, lead uuid.UUID) records {
	t.Helper()
	ws := b.a.ws.ID
	l, err := b.st.GetLead(context.Background(), ws, lead)
	if err != nil {
		t.Fatal(err)
	}
	return records{
		Accounts:          b.count(t, `SELECT count(*) FROM accounts WHERE workspace_id = $1`, ws),
		Contacts:          b.count(t, `SELECT count(*) FROM contacts WHERE workspace_id = $1`, ws),
		Opportunities:     b.count(t, `SELECT count(*) FROM opportunities WHERE workspace_id = $1`, ws),
		ActiveEnrollments: b.count(t, `SELECT count(*) FROM enrollments WHERE lead_id = $1 AND state = 'active'`, lead),
		Decisions:         b.count(t, `SELECT count(*) FROM qualification_decisions WHERE lead_id = $1`, lead),
		Status:            l.Status,
	}
}

type directConversionBody struct {
	Lead        qualify.Lead         `json:"lead"`
	Account     qualify.Account      `json:"account"`
	Contact     qualify.Contact      `json:"contact"`
	Opportunity *qualify.Opportunity `json:"opportunity"`
}

type convertPreviewBody struct {
	LeadID  uuid.UUID `json:"lead_id"`
	Account struct {
		ID   *uuid.UUID `json:"id"`
		Name string     `json:"name"`
	} `json:"account"`
	Contact struct {
		ID *uuid.UUID `json:"id"`
	} `json:"contact"`
	Opportunity struct {
		Name    string     `json:"name"`
		OwnerID *uuid.UUID `json:"owner_id"`
	} `json:"opportunity"`
	Blocked string `json:"blocked"`
}

type callBody struct {
	Decision    qualify.QualificationDecision `json:"decision"`
	Lead        qualify.Lead                  `json:"lead"`
	Handoff     *qualify.Handoff              `json:"handoff"`
	Opportunity *qualify.Opportunity          `json:"opportunity"`
}

func convertPath(id uuid.UUID) string { return "/api/v1/leads/" + id.String() + "/convert" }
func callPath(id uuid.UUID) string    { return "/api/v1/leads/" + id.String() + "/qualification" }

// The three paths of a contact-as-lead: converted without a call, with and
// without an opportunity; converted then called; called then converted.
// Each uses the known contact and its account, never a second one.
func TestQualifyConvertDirectThreePaths(t *testing.T) {
	t.Parallel()
	b := setupConvertAPI(t)

	t.Run("convert without a call", func(t *testing.T) {
		for _, create := range []bool{true, false} {
			p := b.knownPerson(t, uuid.NewString()[:8]+"@globex.example")
			before := b.records(t, p.lead.ID)
			got := expectJSON[directConversionBody](t, b.apiBundle, http.StatusCreated, b.ownerKey, "POST", convertPath(p.lead.ID),
				map[string]any{"create_opportunity": create})
			if got.Account.ID != p.account.ID || got.Contact.ID != p.contact.ID || got.Lead.Status != store.LeadConverted {
				t.Errorf("create=%v: converted into account %s contact %s status %s, want the known %s %s, converted",
					create, got.Account.ID, got.Contact.ID, got.Lead.Status, p.account.ID, p.contact.ID)
			}
			if (got.Opportunity != nil) != create {
				t.Errorf("create=%v: opportunity %+v", create, got.Opportunity)
			}
			opps := 0
			if create {
				opps = 1
				if got.Opportunity.OwnerID == nil || *got.Opportunity.OwnerID != b.owner.ID || got.Opportunity.AccountID != p.account.ID {
					t.Errorf("opportunity %+v, want the owner's, of the known account", got.Opportunity)
				}
			}
			want := records{Accounts: before.Accounts, Contacts: before.Contacts, Opportunities: before.Opportunities + opps,
				ActiveEnrollments: 0, Decisions: 0, Status: store.LeadConverted}
			if diff := cmp.Diff(want, b.records(t, p.lead.ID)); diff != "" {
				t.Errorf("create=%v: records (-want +got):\n%s", create, diff)
			}
			// A retry is a conflict, and makes nothing.
			fields := expectError(t, b.apiBundle, http.StatusConflict, "conflict", b.ownerKey, "POST", convertPath(p.lead.ID), nil)
			if diff := cmp.Diff([]string{"lead"}, fieldNames(fields)); diff != "" {
				t.Errorf("retry fields (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, b.records(t, p.lead.ID)); diff != "" {
				t.Errorf("create=%v: records after a retry (-want +got):\n%s", create, diff)
			}
		}
	})

	t.Run("convert then call", func(t *testing.T) {
		for _, create := range []bool{true, false} {
			p := b.knownPerson(t, uuid.NewString()[:8]+"@globex.example")
			expectJSON[directConversionBody](t, b.apiBundle, http.StatusCreated, b.ownerKey, "POST", convertPath(p.lead.ID),
				map[string]any{"create_opportunity": create})
			before := b.records(t, p.lead.ID)
			got := expectJSON[callBody](t, b.apiBundle, http.StatusCreated, b.ownerKey, "POST", callPath(p.lead.ID),
				map[string]any{"outcome": "opportunity", "budget": "50k"})
			if got.Handoff != nil || got.Lead.Status != store.LeadConverted {
				t.Errorf("create=%v: call handed off %+v, lead %s; want no handoff, converted", create, got.Handoff, got.Lead.Status)
			}
			if got.Decision.Values["contact_id"] != p.contact.ID.String() {
				t.Errorf("create=%v: decision values %v, want the contact %s", create, got.Decision.Values, p.contact.ID)
			}
			if got.Opportunity == nil || got.Opportunity.AccountID != p.account.ID || got.Opportunity.ContactID == nil || *got.Opportunity.ContactID != p.contact.ID {
				t.Fatalf("create=%v: call's opportunity %+v, want one of the contact and its account", create, got.Opportunity)
			}
			if got.Decision.Values["opportunity_id"] != got.Opportunity.ID.String() {
				t.Errorf("decision values %v, want the opportunity %s", got.Decision.Values, got.Opportunity.ID)
			}
			want := before
			want.Opportunities++
			want.Decisions++
			if diff := cmp.Diff(want, b.records(t, p.lead.ID)); diff != "" {
				t.Errorf("create=%v: records after the call (-want +got):\n%s", create, diff)
			}
			// A call of another outcome records, and makes no opportunity.
			expectJSON[callBody](t, b.apiBundle, http.StatusCreated, b.ownerKey, "POST", callPath(p.lead.ID),
				map[string]any{"outcome": "dead_end", "reason": "no budget this year"})
			want.Decisions++
			if diff := cmp.Diff(want, b.records(t, p.lead.ID)); diff != "" {
				t.Errorf("create=%v: records after a dead end (-want +got):\n%s", create, diff)
			}
		}
	})

	t.Run("call then convert", func(t *testing.T) {
		for _, create := range []bool{true, false} {
			p := b.knownPerson(t, uuid.NewString()[:8]+"@globex.example")
			expectJSON[callBody](t, b.apiBundle, http.StatusCreated, b.ownerKey, "POST", callPath(p.lead.ID),
				map[string]any{"outcome": "maybe", "follow_up_at": "2040-01-31", "need": "gadgets"})
			before := b.records(t, p.lead.ID)
			got := expectJSON[directConversionBody](t, b.apiBundle, http.StatusCreated, b.ownerKey, "POST", convertPath(p.lead.ID),
				map[string]any{"create_opportunity": create})
			if got.Contact.ID != p.contact.ID || got.Lead.Need != "gadgets" {
				t.Errorf("contact %s need %q, want the known contact, the call's need", got.Contact.ID, got.Lead.Need)
			}
			want := before
			want.Status, want.ActiveEnrollments = store.LeadConverted, 0
			if create {
				want.Opportunities++
			}
			if diff := cmp.Diff(want, b.records(t, p.lead.ID)); diff != "" {
				t.Errorf("create=%v: records (-want +got):\n%s", create, diff)
			}
		}
		// A call that qualifies hands the lead off: the handoff is accepted
		// to convert it.
		p := b.knownPerson(t, uuid.NewString()[:8]+"@globex.example")
		call := expectJSON[callBody](t, b.apiBundle, http.StatusCreated, b.ownerKey, "POST", callPath(p.lead.ID),
			map[string]any{"outcome": "opportunity"})
		if call.Handoff == nil {
			t.Fatal("a qualifying call made no handoff")
		}
		before := b.records(t, p.lead.ID)
		fields := expectError(t, b.apiBundle, http.StatusConflict, "conflict", b.salesAdminKey, "POST", convertPath(p.lead.ID), nil)
		if msg := fields["lead"]; msg != "has an open handoff: accept the handoff to convert the lead" {
			t.Errorf("conflict says %q", msg)
		}
		if diff := cmp.Diff(before, b.records(t, p.lead.ID)); diff != "" {
			t.Errorf("records after the refusal (-want +got):\n%s", diff)
		}
	})
}

// Two concurrent conversions of one lead make one account, one contact and
// one opportunity: one converts, the other is a conflict.
func TestQualifyConvertDirectConcurrent(t *testing.T) {
	t.Parallel()
	b := setupConvertAPI(t)
	ctx := context.Background()
	for i := range 5 {
		email := uuid.NewString()[:8] + "@initech" + uuid.NewString()[:4] + ".example"
		l, err := b.st.InsertLead(ctx, store.Lead{
			WorkspaceID: b.a.ws.ID, FirstName: "New", LastName: "Person", Email: email, EmailCanonical: email,
			Company: "Initech " + email, Status: store.LeadNurturing, OwnerID: &b.owner.ID,
		})
		if err != nil {
			t.Fatal(err)
		}
		before := b.records(t, l.ID)
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for j := range statuses {
			wg.Go(func() {
				statuses[j], _ = b.call(t, b.ownerKey, "POST", convertPath(l.ID), map[string]any{})
			})
		}
		wg.Wait()
		created := 0
		for _, s := range statuses {
			switch s {
			case http.StatusCreated:
				created++
			case http.StatusConflict:
			default:
				t.Errorf("round %d: status %d", i, s)
			}
		}
		if created != 1 {
			t.Errorf("round %d: statuses %v, want one 201 and one 409", i, statuses)
		}
		want := before
		want.Accounts++
		want.Contacts++
		want.Opportunities++
		want.Status = store.LeadConverted
		if diff := cmp.Diff(want, b.records(t, l.ID)); diff != "" {
			t.Errorf("round %d: records (-want +got):\n%s", i, diff)
		}
	}
}

// The preview says what would be matched and writes nothing; who may
// convert is the handoff rule; another workspace's lead is not there.
func TestQualifyConvertDirectPreviewAndAccess(t *testing.T) {
	t.Parallel()
	b := setupConvertAPI(t)
	p := b.knownPerson(t, "preview@globex.example")
	before := b.records(t, p.lead.ID)
	auditBefore := b.count(t, `SELECT count(*) FROM lead_audit WHERE lead_id = $1`, p.lead.ID)

	got := expectJSON[convertPreviewBody](t, b.apiBundle, http.StatusOK, b.ownerKey, "GET", convertPath(p.lead.ID), nil)
	if got.Account.ID == nil || *got.Account.ID != p.account.ID || got.Contact.ID == nil || *got.Contact.ID != p.contact.ID {
		t.Errorf("preview %+v, want the known account %s and contact %s", got, p.account.ID, p.contact.ID)
	}
	if got.Opportunity.Name != "Globex - Gadgets" || got.Opportunity.OwnerID == nil || *got.Opportunity.OwnerID != b.owner.ID || got.Blocked != "" {
		t.Errorf("preview opportunity %+v blocked %q", got.Opportunity, got.Blocked)
	}
	email := "brand-new@newco.example"
	fresh, err := b.st.InsertLead(context.Background(), store.Lead{WorkspaceID: b.a.ws.ID, FirstName: "Nia", Email: email,
		EmailCanonical: email, Company: "NewCo", Status: store.LeadNew, OwnerID: &b.owner.ID})
	if err != nil {
		t.Fatal(err)
	}
	got = expectJSON[convertPreviewBody](t, b.apiBundle, http.StatusOK, b.salesAdminKey, "GET", convertPath(fresh.ID), nil)
	if got.Account.ID != nil || got.Account.Name != "NewCo" || got.Contact.ID != nil {
		t.Errorf("preview of a new person %+v, want a new account NewCo and a new contact", got)
	}
	if diff := cmp.Diff(before, b.records(t, p.lead.ID)); diff != "" {
		t.Errorf("records after previews (-want +got):\n%s", diff)
	}
	if n := b.count(t, `SELECT count(*) FROM lead_audit WHERE lead_id = $1`, p.lead.ID); n != auditBefore {
		t.Errorf("audit entries %d after previews, want %d", n, auditBefore)
	}

	// A rep who does not own the lead is refused, reading or converting;
	// marketing is not sales; another workspace's key finds no such lead.
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.repKey, "GET", convertPath(p.lead.ID), nil)
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.repKey, "POST", convertPath(p.lead.ID), nil)
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.marketing, "POST", convertPath(p.lead.ID), nil)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.b.sales, "GET", convertPath(p.lead.ID), nil)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.b.sales, "POST", convertPath(p.lead.ID), nil)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.b.admin, "POST", convertPath(p.lead.ID), nil)
	if diff := cmp.Diff(before, b.records(t, p.lead.ID)); diff != "" {
		t.Errorf("records after refusals (-want +got):\n%s", diff)
	}

	// Choices: another workspace's account is not one; the known contact
	// is used, never a second one; a new account beside a known contact's
	// is refused.
	wsB, err := b.st.InsertAccount(context.Background(), store.Account{WorkspaceID: b.b.ws.ID, Name: "Elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	fields := expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.ownerKey, "POST", convertPath(fresh.ID),
		map[string]any{"account_id": wsB.ID})
	if diff := cmp.Diff([]string{"account_id"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	fields = expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.ownerKey, "POST", convertPath(p.lead.ID),
		map[string]any{"account": map[string]any{"name": "Other"}})
	if diff := cmp.Diff([]string{"account_id"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	fields = expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.ownerKey, "POST", convertPath(fresh.ID),
		map[string]any{"account": map[string]any{"name": ""}, "account_id": p.account.ID})
	if diff := cmp.Diff([]string{"account", "account.name"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, b.records(t, p.lead.ID)); diff != "" {
		t.Errorf("records after invalid choices (-want +got):\n%s", diff)
	}
	// A new account asked for by name and domain.
	conv := expectJSON[directConversionBody](t, b.apiBundle, http.StatusCreated, b.ownerKey, "POST", convertPath(fresh.ID),
		map[string]any{"account": map[string]any{"name": "NewCo Holdings", "domain": "NewCo-Holdings.example"},
			"opportunity": map[string]any{"name": "NewCo pilot", "amount": "1200", "stage": "discovery", "probability": 30, "expected_close_date": "2032-03-01"}})
	if conv.Account.Name != "NewCo Holdings" || conv.Account.Domain != "newco-holdings.example" || conv.Contact.AccountID == nil || *conv.Contact.AccountID != conv.Account.ID {
		t.Errorf("account %+v contact %+v, want the new account asked for", conv.Account, conv.Contact)
	}
	if o := conv.Opportunity; o == nil || o.Name != "NewCo pilot" || o.Amount != "1200.00" || o.Stage != "discovery" || o.Probability != 30 {
		t.Errorf("opportunity %+v, want the fields given", conv.Opportunity)
	}
	// A sales admin converts a lead they do not own.
	expectJSON[directConversionBody](t, b.apiBundle, http.StatusCreated, b.salesAdminKey, "POST", convertPath(p.lead.ID), nil)
}
