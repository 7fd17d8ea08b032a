package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"leadflow/embed/console/consoletest"
	"leadflow/store"
)

func TestConsoleAccountsInBrowser(t *testing.T) {
	if _, err := consoletest.ChromiumPath(); err != nil {
		t.Fatal(err)
	}
	app := startConsoleApp(t)
	ctx := context.Background()
	rep := app.person(t, "accounts", "rep@accounts.test", store.UserSalesRep, salesPassword)
	acct, err := app.st.InsertAccount(ctx, store.Account{WorkspaceID: rep.WorkspaceID, Name: "Hooli <b>Labs</b>", Domain: "hooli.example"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.st.InsertContact(ctx, store.Contact{WorkspaceID: rep.WorkspaceID, FirstName: "Gavin", LastName: "Belson",
		Email: "gavin@hooli.example", EmailCanonical: "gavin@hooli.example"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.st.SetContactAccount(ctx, rep.WorkspaceID, c.ID, acct.ID, c.CreatedAt); err != nil {
		t.Fatal(err)
	}

	tab := browsers.Tab(t, app.base)
	tab.SignIn(rep.Email, salesPassword, "/console/accounts")
	tab.Shot("accounts")
	if n := tab.Count("nav a[href='/console/accounts'][aria-current=page]"); n != 1 {
		t.Errorf("Accounts marked current in the navigation %d times, want 1", n)
	}
	if status := tab.Click("main tbody a[href='/console/accounts/" + acct.ID.String() + "']"); status != http.StatusOK {
		t.Fatalf("open the account: status %d", status)
	}
	if got := tab.Text("main h1"); got != "Hooli <b>Labs</b>" {
		t.Errorf("account page heading %q, want the name as text", got)
	}
	if got := tab.Text("#account-contacts tbody"); !strings.Contains(got, "Gavin Belson") {
		t.Errorf("account contacts %q, want Gavin Belson", got)
	}
	if status := tab.Click("#account-new-opportunity"); status != http.StatusOK || !strings.HasPrefix(tab.Path(), "/console/opportunities/new") {
		t.Fatalf("new opportunity from the account: status %d at %s", status, tab.Path())
	}

	// A bad amount is shown next to its field, and nothing is made.
	tab.Type("#new-name", "Hooli platform deal")
	tab.Type("#new-amount", "lots")
	tab.Choose("#new-contact", c.ID.String())
	if status := tab.Click("#opportunity-create"); status != http.StatusUnprocessableEntity {
		t.Fatalf("a bad amount: status %d, want 422", status)
	}
	tab.Shot("new-opportunity-error")
	if got := tab.Text("#new-amount-error"); !strings.Contains(got, "decimal") {
		t.Errorf("amount error %q", got)
	}
	if n := tab.Count("#opp-forecast, #new-forecast:not([disabled])"); n != 0 {
		t.Errorf("a rep may tick the forecast box")
	}
	opps, err := app.st.ListOpportunities(ctx, rep.WorkspaceID, store.OpportunityFilter{Page: store.Page{Limit: 10}})
	if err != nil || len(opps) != 0 {
		t.Fatalf("opportunities after a refusal = %d, %v; want none", len(opps), err)
	}

	tab.Type("#new-amount", "80000")
	tab.Choose("#new-stage", store.StageDiscovery)
	tab.Choose("#new-close", "2031-06-30")
	if status := tab.Click("#opportunity-create"); status != http.StatusOK {
		t.Fatalf("create: status %d: %s", status, tab.Text("main"))
	}
	tab.Shot("opportunity")
	opps, err = app.st.ListOpportunities(ctx, rep.WorkspaceID, store.OpportunityFilter{Page: store.Page{Limit: 10}})
	if err != nil || len(opps) != 1 {
		t.Fatalf("opportunities = %d, %v; want one", len(opps), err)
	}
	o := opps[0]
	if !strings.HasPrefix(tab.Path(), "/console/opportunities/"+o.ID.String()) {
		t.Errorf("after creating the browser is at %s, want the opportunity", tab.Path())
	}
	if o.AccountID != acct.ID || o.ContactID != c.ID || o.LeadID.String() != "00000000-0000-0000-0000-000000000000" ||
		o.Amount != "80000.00" || o.Stage != store.StageDiscovery || o.InForecast || o.OwnerID == nil || *o.OwnerID != rep.ID {
		t.Errorf("opportunity = %+v, want Hooli's, with Gavin, no lead, 80000.00 in discovery, out of the forecast, the rep's", o)
	}

	tab.Open("/console/accounts/" + acct.ID.String())
	tab.Shot("account-with-opportunity")
	if got := tab.Text("#account-opportunities tbody"); !strings.Contains(got, "Hooli platform deal") || !strings.Contains(got, "made by sales") {
		t.Errorf("account opportunities %q, want the new one, made by sales", got)
	}

	// On its own, from the opportunities list: a new account by name.
	tab.Open("/console/opportunities")
	if status := tab.Click("#opportunities-new"); status != http.StatusOK {
		t.Fatalf("new opportunity from the list: status %d", status)
	}
	tab.Type("#new-account-name", "Pied Piper")
	tab.Type("#new-name", "Compression pilot")
	if status := tab.Click("#opportunity-create"); status != http.StatusOK {
		t.Fatalf("create with a new account: status %d", status)
	}
	as, err := app.st.ListAccounts(ctx, rep.WorkspaceID, store.AccountFilter{Q: "pied", Page: store.Page{Limit: 10}})
	if err != nil || len(as) != 1 {
		t.Fatalf("accounts named pied = %d, %v; want one", len(as), err)
	}
}
