package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/capture"
	"leadflow/embed/httpapi"
	"leadflow/qualify"
	"leadflow/store"
)

// accountBody is an account as GET /accounts/:id answers it.
type accountBody struct {
	qualify.Account
	Contacts      httpapi.List[qualify.Contact]     `json:"contacts"`
	Opportunities httpapi.List[qualify.Opportunity] `json:"opportunities"`
}

// count counts the rows of a query of the test's own.
func (b *convertAPI) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := b.st.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestQualifyAccountsAPIOpportunityFromScratch(t *testing.T) {
	t.Parallel()
	b := setupConvertAPI(t)

	// A rep makes one for a new account: owned by the rep, out of the
	// forecast, with no lead, response or handoff behind it.
	o := expectJSON[opportunityBody](t, b.apiBundle, http.StatusCreated, b.repKey, "POST", "/api/v1/opportunities", map[string]any{
		"account": map[string]any{"name": "  Initech   Ltd ", "domain": "https://www.Initech.example/"},
		"name":    "Initech renewal", "amount": "12000.50", "stage": "proposal", "probability": 40,
		"expected_close_date": "2031-03-31",
	})
	if o.LeadID != nil || o.HandoffID != nil || o.ContactID != nil || o.InForecast {
		t.Errorf("from scratch: lead %v handoff %v contact %v in_forecast %v, want no lead, handoff or contact, out of the forecast",
			o.LeadID, o.HandoffID, o.ContactID, o.InForecast)
	}
	want := []any{"Initech renewal", "12000.50", "proposal", 40, "2031-03-31", b.repUser.ID}
	got := []any{o.Name, o.Amount, o.Stage, o.Probability, deref(o.ExpectedCloseDate), deref(o.OwnerID)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("opportunity (-want +got):\n%s", diff)
	}
	if len(o.StageHistory) != 1 || o.StageHistory[0].ToStage != "proposal" || o.StageHistory[0].Actor != "user:"+b.repUser.ID.String() {
		t.Errorf("stage history = %+v, want its first stage by the rep", o.StageHistory)
	}
	if n := b.count(t, `SELECT (SELECT count(*) FROM leads WHERE workspace_id = $1) + (SELECT count(*) FROM responses WHERE workspace_id = $1)`, b.a.ws.ID); n != 0 {
		t.Errorf("leads and responses of the workspace = %d, want none", n)
	}
	acct, err := b.st.GetAccount(context.Background(), b.a.ws.ID, o.AccountID)
	if err != nil || acct.Name != "Initech Ltd" || acct.Domain != "initech.example" {
		t.Fatalf("account = %+v, %v; want Initech Ltd at initech.example", acct, err)
	}

	// The same company again, by its domain or by its name: the same
	// account, not a second one.
	for _, a := range []map[string]any{{"name": "Initech Inc", "domain": "initech.example"}, {"name": "INITECH LTD"}} {
		again := expectJSON[opportunityBody](t, b.apiBundle, http.StatusCreated, b.repKey, "POST", "/api/v1/opportunities",
			map[string]any{"account": a, "name": "Initech add-on"})
		if again.AccountID != o.AccountID {
			t.Errorf("account %v matched %v, want %v", a, again.AccountID, o.AccountID)
		}
		if again.Stage != store.StageQualification || again.Amount != "0.00" || again.ExpectedCloseDate == nil {
			t.Errorf("defaults: stage %q amount %q close %v", again.Stage, again.Amount, again.ExpectedCloseDate)
		}
	}

	// in_forecast stays a sales admin's decision, at creation as after.
	status, body := b.call(t, b.repKey, "POST", "/api/v1/opportunities",
		map[string]any{"account_id": o.AccountID, "name": "Forecast me", "in_forecast": true})
	if status != http.StatusForbidden {
		t.Errorf("in_forecast by a rep = %d %s, want 403", status, body)
	}
	path := "/api/v1/opportunities/" + o.ID.String()
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.repKey, "PATCH", path, map[string]any{"in_forecast": true})
	if got := expectJSON[opportunityBody](t, b.apiBundle, http.StatusOK, b.salesAdminKey, "PATCH", path, map[string]any{"in_forecast": true}); !got.InForecast {
		t.Errorf("in_forecast by a sales admin = false, want true")
	}
	byAdmin := expectJSON[opportunityBody](t, b.apiBundle, http.StatusCreated, b.salesAdminKey, "POST", "/api/v1/opportunities",
		map[string]any{"account_id": o.AccountID, "name": "Forecast now", "in_forecast": true, "owner_id": b.owner.ID})
	if !byAdmin.InForecast || deref(byAdmin.OwnerID) != b.owner.ID {
		t.Errorf("sales admin's: in_forecast %v owner %v, want true and %v", byAdmin.InForecast, byAdmin.OwnerID, b.owner.ID)
	}
	// A rep gives work to nobody else.
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.repKey, "POST", "/api/v1/opportunities",
		map[string]any{"account_id": o.AccountID, "name": "For Sam", "owner_id": b.owner.ID})
	// Marketing makes no opportunity.
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.marketing, "POST", "/api/v1/opportunities",
		map[string]any{"account_id": o.AccountID, "name": "Marketing's"})
}

func TestQualifyAccountsAPIOpportunityValidationAndIsolation(t *testing.T) {
	t.Parallel()
	b := setupConvertAPI(t)
	ctx := context.Background()
	mine, err := b.st.InsertAccount(ctx, store.Account{WorkspaceID: b.a.ws.ID, Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := b.st.InsertAccount(ctx, store.Account{WorkspaceID: b.b.ws.ID, Name: "Globex"})
	if err != nil {
		t.Fatal(err)
	}
	contact := func(ws, account uuid.UUID, email string) store.Contact {
		c, err := b.st.InsertContact(ctx, store.Contact{WorkspaceID: ws, Email: email, EmailCanonical: email})
		if err != nil {
			t.Fatal(err)
		}
		if account != uuid.Nil {
			if c, err = b.st.SetContactAccount(ctx, ws, c.ID, account, c.CreatedAt); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
	ours := contact(b.a.ws.ID, mine.ID, "ann@acme.example")
	loose := contact(b.a.ws.ID, uuid.Nil, "lee@free.example")
	foreign := contact(b.b.ws.ID, theirs.ID, "gus@globex.example")
	otherUser := b.user(t, b.b.ws.ID, "Olga Other", store.UserSalesRep)

	for _, tc := range []struct {
		name string
		body any
		want []string
	}{
		{"nothing", map[string]any{}, []string{"account_id", "name"}},
		{"both accounts", map[string]any{"account_id": mine.ID, "account": map[string]any{"name": "X"}, "name": "N"}, []string{"account", "account_id"}},
		{"bad fields", map[string]any{"account": map[string]any{"name": " ", "domain": "not a domain"}, "name": "",
			"amount": "-1", "stage": "won", "probability": 101, "expected_close_date": "31/03/2031"},
			[]string{"account.domain", "account.name", "amount", "expected_close_date", "name", "probability", "stage"}},
		{"another workspace's account", map[string]any{"account_id": theirs.ID, "name": "N"}, []string{"account_id"}},
		{"another workspace's contact", map[string]any{"account_id": mine.ID, "contact_id": foreign.ID, "name": "N"}, []string{"contact_id"}},
		{"a contact of no account", map[string]any{"account_id": mine.ID, "contact_id": loose.ID, "name": "N"}, []string{"contact_id"}},
		{"another workspace's owner", map[string]any{"account_id": mine.ID, "owner_id": otherUser.ID, "name": "N"}, []string{"owner_id"}},
	} {
		fields := expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.salesAdminKey, "POST", "/api/v1/opportunities", tc.body)
		if diff := cmp.Diff(tc.want, fieldNames(fields)); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s", tc.name, diff)
		}
	}
	// An opportunity from scratch is given no lead.
	if fields := expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.salesAdminKey, "POST", "/api/v1/opportunities",
		map[string]any{"account_id": mine.ID, "name": "N", "lead_id": uuid.New()}); fields["lead_id"] == "" {
		t.Errorf("lead_id given: fields %v, want lead_id named", fields)
	}
	if n := b.count(t, `SELECT count(*) FROM opportunities`); n != 0 {
		t.Errorf("opportunities after refusals = %d, want none", n)
	}

	// With the account's contact; the account page lists both, and the
	// contact names its account.
	o := expectJSON[opportunityBody](t, b.apiBundle, http.StatusCreated, b.salesAdminKey, "POST", "/api/v1/opportunities",
		map[string]any{"account_id": mine.ID, "contact_id": ours.ID, "name": "Acme expansion", "amount": 5000})
	if deref(o.ContactID) != ours.ID || deref(o.OwnerID) != b.adminUser.ID || o.Amount != "5000.00" {
		t.Errorf("opportunity: contact %v owner %v amount %q", o.ContactID, o.OwnerID, o.Amount)
	}
	acct := expectJSON[accountBody](t, b.apiBundle, http.StatusOK, b.a.sales, "GET", "/api/v1/accounts/"+mine.ID.String(), nil)
	if acct.Name != "Acme" || len(acct.Opportunities.Items) != 1 || acct.Opportunities.Items[0].ID != o.ID ||
		len(acct.Contacts.Items) != 1 || acct.Contacts.Items[0].ID != ours.ID {
		t.Errorf("account page = %+v, want Acme with its opportunity and contact", acct)
	}
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.b.sales, "GET", "/api/v1/accounts/"+mine.ID.String(), nil)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.b.sales, "GET", "/api/v1/opportunities/"+o.ID.String(), nil)

	list := expectJSON[httpapi.List[qualify.Account]](t, b.apiBundle, http.StatusOK, b.a.marketing, "GET", "/api/v1/accounts?q=acm", nil)
	if diff := cmp.Diff([]uuid.UUID{mine.ID}, idsOf(list.Items, func(a qualify.Account) uuid.UUID { return a.ID })); diff != "" {
		t.Errorf("accounts?q=acm (-want +got):\n%s", diff)
	}
	if list := expectJSON[httpapi.List[qualify.Account]](t, b.apiBundle, http.StatusOK, b.b.sales, "GET", "/api/v1/accounts", nil); len(list.Items) != 1 || list.Items[0].ID != theirs.ID {
		t.Errorf("the other workspace's accounts = %+v, want Globex only", list.Items)
	}
	// Paging: one account a page.
	if _, err := b.st.InsertAccount(ctx, store.Account{WorkspaceID: b.a.ws.ID, Name: "Acme Two"}); err != nil {
		t.Fatal(err)
	}
	first := expectJSON[httpapi.List[qualify.Account]](t, b.apiBundle, http.StatusOK, b.a.sales, "GET", "/api/v1/accounts?limit=1", nil)
	if len(first.Items) != 1 || first.NextCursor == nil {
		t.Fatalf("first page = %+v, want one account and a next page", first)
	}
	second := expectJSON[httpapi.List[qualify.Account]](t, b.apiBundle, http.StatusOK, b.a.sales, "GET", "/api/v1/accounts?limit=1&cursor="+*first.NextCursor, nil)
	if len(second.Items) != 1 || second.Items[0].ID == first.Items[0].ID {
		t.Errorf("second page = %+v, want the other account", second)
	}
}

func TestQualifyAccountsAPIContactsNameTheirAccount(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	ctx := context.Background()
	a, err := b.st.InsertAccount(ctx, store.Account{WorkspaceID: b.a.ws.ID, Name: "Umbrella <Corp>"})
	if err != nil {
		t.Fatal(err)
	}
	c := expectJSON[capture.Contact](t, b, http.StatusCreated, b.a.admin, "POST", "/api/v1/contacts", map[string]any{"email": "ada@umbrella.example"})
	if c.Account != nil {
		t.Errorf("new contact's account = %+v, want null", c.Account)
	}
	if _, err := b.st.SetContactAccount(ctx, b.a.ws.ID, c.ID, a.ID, c.CreatedAt); err != nil {
		t.Fatal(err)
	}
	want := &capture.ContactAccount{ID: a.ID, Name: "Umbrella <Corp>"}
	got := expectJSON[capture.Contact](t, b, http.StatusOK, b.a.sales, "GET", "/api/v1/contacts/"+c.ID.String(), nil)
	if diff := cmp.Diff(want, got.Account); diff != "" {
		t.Errorf("contact's account (-want +got):\n%s", diff)
	}
	list := expectJSON[httpapi.List[capture.Contact]](t, b, http.StatusOK, b.a.sales, "GET", "/api/v1/contacts", nil)
	if len(list.Items) != 1 || cmp.Diff(want, list.Items[0].Account) != "" {
		t.Errorf("contacts list = %+v, want the contact with its account", list.Items)
	}
}

// deref is the value of a pointer, or its zero value.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
