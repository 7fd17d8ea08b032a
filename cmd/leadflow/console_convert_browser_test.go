package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"leadflow/embed/console/consoletest"
	"leadflow/store"
)

// A rep opens their lead, who is a known contact, follows Convert, sees
// what will be matched before anything is written, and converts: the lead
// becomes the known contact of its account, with an opportunity. Another
// rep is refused the page.
func TestConsoleConvertInBrowser(t *testing.T) {
	if _, err := consoletest.ChromiumPath(); err != nil {
		t.Fatal(err)
	}
	app := startConsoleApp(t)
	ctx := context.Background()
	rep := app.person(t, "convert", "rep@convert.test", store.UserSalesRep, salesPassword)
	other := app.person(t, "convert", "other@convert.test", store.UserSalesRep, salesPassword)
	ws := rep.WorkspaceID
	acct, err := app.st.InsertAccount(ctx, store.Account{WorkspaceID: ws, Name: "Umbrella <i>Corp</i>", Domain: "umbrella.example"})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := app.st.EnsureContact(ctx, store.Contact{WorkspaceID: ws, FirstName: "Jill", LastName: "Valentine",
		Email: "jill@umbrella.example", EmailCanonical: "jill@umbrella.example", AccountID: &acct.ID})
	if err != nil {
		t.Fatal(err)
	}
	lead, err := app.st.InsertLead(ctx, store.Lead{WorkspaceID: ws, FirstName: "Jill", LastName: "Valentine",
		Email: "jill@umbrella.example", EmailCanonical: "jill@umbrella.example", Company: "Umbrella",
		PrimaryInterest: "Vaccines", Status: store.LeadNurturing, OwnerID: &rep.ID})
	if err != nil {
		t.Fatal(err)
	}
	counts := func() (accounts, contacts, opps int) {
		t.Helper()
		for _, q := range []struct {
			sql string
			n   *int
		}{
			{`SELECT count(*) FROM accounts WHERE workspace_id = $1`, &accounts},
			{`SELECT count(*) FROM contacts WHERE workspace_id = $1`, &contacts},
			{`SELECT count(*) FROM opportunities WHERE workspace_id = $1`, &opps},
		} {
			if err := app.st.Pool.QueryRow(ctx, q.sql, ws).Scan(q.n); err != nil {
				t.Fatal(err)
			}
		}
		return accounts, contacts, opps
	}

	tab := browsers.Tab(t, app.base)
	tab.SignIn(rep.Email, salesPassword, "/console/leads/"+lead.ID.String())
	if status := tab.Click("#lead-convert"); status != http.StatusOK || tab.Path() != "/console/leads/"+lead.ID.String()+"/convert" {
		t.Fatalf("Convert from the lead page: status %d at %s", status, tab.Path())
	}
	tab.Shot("convert-preview")
	if got := tab.Text("#preview-account"); got != "Umbrella <i>Corp</i>" {
		t.Errorf("preview account %q, want the known account's name as text", got)
	}
	if got := tab.Text("#preview-contact"); got != "Jill Valentine" {
		t.Errorf("preview contact %q", got)
	}
	if got := tab.Text("#preview-heading + p"); !strings.Contains(got, "the existing contact") || !strings.Contains(got, "the existing account") {
		t.Errorf("preview says %q, want the existing contact and account", got)
	}
	if a, ct, o := counts(); a != 1 || ct != 1 || o != 0 {
		t.Errorf("after the preview: %d accounts, %d contacts, %d opportunities; want 1, 1, 0", a, ct, o)
	}
	if l, err := app.st.GetLead(ctx, ws, lead.ID); err != nil || l.Status != store.LeadNurturing {
		t.Errorf("lead after the preview: %s, %v; want nurturing", l.Status, err)
	}

	// A bad amount is said next to its field; nothing is written.
	tab.Type("#opp-amount", "lots")
	if status := tab.Click("#convert-button"); status != http.StatusUnprocessableEntity {
		t.Fatalf("a bad amount: status %d, want 422", status)
	}
	tab.Shot("convert-error")
	if got := tab.Text("#opp-amount-error"); !strings.Contains(got, "decimal") {
		t.Errorf("amount error %q", got)
	}
	if a, ct, o := counts(); a != 1 || ct != 1 || o != 0 {
		t.Errorf("after a refusal: %d accounts, %d contacts, %d opportunities; want 1, 1, 0", a, ct, o)
	}

	tab.Type("#opp-amount", "42000")
	if status := tab.Click("#convert-button"); status != http.StatusOK || !strings.HasPrefix(tab.Path(), "/console/opportunities/") {
		t.Fatalf("convert: status %d at %s: %s", status, tab.Path(), tab.Text("main"))
	}
	tab.Shot("converted-opportunity")
	if a, ct, o := counts(); a != 1 || ct != 1 || o != 1 {
		t.Errorf("after converting: %d accounts, %d contacts, %d opportunities; want 1, 1, 1", a, ct, o)
	}
	l, err := app.st.GetLead(ctx, ws, lead.ID)
	if err != nil || l.Status != store.LeadConverted || l.ContactID == nil || *l.ContactID != c.ID {
		t.Fatalf("lead %s of contact %v (%v), want converted, the known contact", l.Status, l.ContactID, err)
	}

	// Converted, the lead page offers no Convert, and the page says why.
	if status := tab.Open("/console/leads/" + lead.ID.String()); status != http.StatusOK {
		t.Fatalf("lead page: %d", status)
	}
	if n := tab.Count("#lead-convert"); n != 0 {
		t.Errorf("a converted lead offers Convert")
	}
	tab.Open("/console/leads/" + lead.ID.String() + "/convert")
	if got := tab.Text("#convert-blocked"); !strings.Contains(got, "converted already") {
		t.Errorf("convert page of a converted lead says %q", got)
	}

	// Another rep may not convert the lead.
	tab2 := browsers.Tab(t, app.base)
	tab2.SignIn(other.Email, salesPassword, "/console/opportunities")
	if status := tab2.Open("/console/leads/" + lead.ID.String() + "/convert"); status != http.StatusForbidden {
		t.Errorf("another rep's convert page: status %d, want 403", status)
	}
	tab2.Shot("convert-forbidden")
}
