package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"leadflow/embed/console/consoletest"
	"leadflow/store"
)

// TestMarketerJourneyInBrowser: in the console of a real `leadflow run`, a
// marketer builds a template, a form and a three-step sequence from
// nothing, a visitor of another site posts the form, and the lead page shows
// the lead, its score and the email the sequence sent.
func TestMarketerJourneyInBrowser(t *testing.T) {
	if _, err := consoletest.ChromiumPath(); err != nil {
		t.Fatal(err)
	}
	app := startRunApp(t)
	ctx := context.Background()
	const password = "correct horse battery"
	me := app.person(t, "journey-ws", "june@journey.test", store.UserMarketing, password)
	// The sender is the admin's setting, not the marketer's.
	if _, err := app.st.UpdateWorkspaceSettings(ctx, me.WorkspaceID, store.WorkspaceSettings{
		SenderName: "Acme", SenderEmail: "news@acme.example", PostalAddress: "Acme Ltd, 1 Main Street, London",
		SendRatePerSecond: 10, Timezone: "UTC",
	}); err != nil {
		t.Fatal(err)
	}
	// The customer's website: another origin (another port) on loopback.
	var page string
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html lang=en><head><title>Example Inc</title></head><body><h1>Talk to us</h1>%s</body></html>", page)
	}))
	t.Cleanup(site.Close)

	tab := browsers.Tab(t, app.base)
	tab.Name = "journey"
	tab.SignIn("june@journey.test", password, "/console/templates")

	// 1. The template, its subject with a merge field.
	tab.Click("a[href='/console/templates/new']")
	tab.Type("#t-name", "Welcome")
	tab.Type("#t-subject", "Welcome, {{first_name|there}}")
	tab.Do(chromedp.SendKeys(chromedp.CSS("#t-html"), `<p>Hi {{first_name}} of {{company}}, <a href="https://acme.example/start">start here</a></p>`))
	if st := tab.Click("#template-form button[type=submit]:not([formaction])"); st != http.StatusOK {
		t.Fatalf("saving the template answered %d", st)
	}
	templateID, ok := strings.CutPrefix(strings.TrimSuffix(tab.Path(), "?saved=1"), "/console/templates/")
	if !ok || !strings.HasSuffix(tab.Path(), "?saved=1") {
		t.Fatalf("after saving the template the tab is at %s", tab.Path())
	}
	tab.Shot("journey-template")

	// 2. The form, allowed on the customer's site. Which sequence a form
	// enrols in is set on the sequence (its trigger forms), so the form
	// comes first.
	tab.Open("/console/forms/new")
	tab.Type("#f-name", "Demo request")
	tab.Type("#f-allowed_origins", site.URL)
	if st := tab.Click("form.settings button[type=submit]"); st != http.StatusOK {
		t.Fatalf("creating the form answered %d at %s", st, tab.Path())
	}
	if n := tab.Count("#no-origin"); n != 0 {
		t.Errorf("the form warns it has no allowed origin")
	}
	formKey := fieldValue(tab, "#f-key")
	page = fieldValue(tab, "#snippet")
	if formKey == "" || !strings.Contains(page, app.base+"/f/"+formKey) {
		t.Fatalf("form key %q, snippet %q", formKey, page)
	}
	tab.Shot("journey-form")

	// 3. The sequence: email, wait, email, enrolling the form's leads.
	tab.Open("/console/sequences/new")
	tab.Type("#s-name", "Onboarding")
	tab.Type("#s-triggers", formKey)
	tab.Click("button[value='add:email']")
	tab.Click("button[value='add:wait']")
	tab.Click("button[value='add:email']")
	tab.Choose("#step-0-template", templateID)
	tab.Type("#step-1-duration", "2d")
	tab.Choose("#step-2-template", templateID)
	if st := tab.Click("#save-sequence"); st != http.StatusOK {
		t.Fatalf("saving the sequence answered %d", st)
	}
	if !strings.HasPrefix(tab.Path(), "/console/sequences/") || !strings.HasSuffix(tab.Path(), "?saved=1") {
		t.Fatalf("after saving the sequence the tab is at %s", tab.Path())
	}
	if got := fieldValue(tab, "#s-triggers"); got != formKey {
		t.Errorf("the sequence enrols the forms %q, want %q", got, formKey)
	}
	tab.Click("#activate")
	if got := tab.Text("#sequence-status"); got != "active" {
		t.Fatalf("status after Activate = %q, want active", got)
	}
	tab.Shot("journey-sequence")

	// 4. A visitor of the customer's site posts the form.
	visitor := browsers.Tab(t, site.URL)
	visitor.Name = "journey-site"
	visitor.Open("/")
	visitor.Type("input[name=first_name]", "Grace")
	visitor.Type("input[name=last_name]", "Hopper")
	visitor.Type("input[name=email]", "grace@navy.test")
	visitor.Type("input[name=company]", "Navy")
	visitor.Do(chromedp.Click(chromedp.CSS("button.lf-submit"), chromedp.NodeVisible))
	waitInPage(visitor, "the form's answer", `(() => { const s = document.querySelector('[data-leadflow-status]'); return !!(s && s.textContent.trim()) })()`)

	// The first email is at the SMTP server, its subject merged.
	if m := app.mailTo(t, "grace@navy.test"); m.Subject != "Welcome, Grace" {
		t.Errorf("first email's subject = %q, want %q", m.Subject, "Welcome, Grace")
	}

	// 5. The lead page shows the lead, the email sent and its score.
	var lead store.Lead
	waitFor(t, "the lead", 30*time.Second, func() bool {
		ls, err := app.st.SearchLeads(ctx, me.WorkspaceID, store.LeadSearch{Q: "grace@navy.test", Page: store.Page{Limit: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) == 1 {
			lead = ls[0]
		}
		return len(ls) == 1
	})
	tab.Open("/console/leads?q=hopper")
	tab.Click("#leads a[href='/console/leads/" + lead.ID.String() + "']")
	waitFor(t, "the email sent in the lead's timeline", 30*time.Second, func() bool {
		tab.Open("/console/leads/" + lead.ID.String())
		return tab.Count("#timeline li.tl-email_sent") == 1
	})
	if got := tab.Text("#lead-email"); got != "grace@navy.test" {
		t.Errorf("the lead page shows email %q", got)
	}
	if got := tab.Text("#timeline li.tl-email_sent"); !strings.Contains(got, "grace@navy.test") {
		t.Errorf("the timeline's email reads %q", got)
	}
	if got := tab.Text("#timeline li.tl-response a"); got != "Demo request" {
		t.Errorf("the timeline's response is of %q, want Demo request", got)
	}
	stored, err := app.st.GetLead(ctx, me.WorkspaceID, lead.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The form post scores the lead (the workspace's default rules).
	if stored.Score <= 0 {
		t.Errorf("the lead's stored score is %d, want more than 0 after a form post", stored.Score)
	}
	if got := tab.Text("#lead-score"); !strings.HasPrefix(got, fmt.Sprint(stored.Score)) {
		t.Errorf("the lead page shows score %q, want the stored %d", got, stored.Score)
	}
	// The newest score change ends at the stored score: "score 0 → 10".
	if got := tab.Text("#timeline li.tl-score"); !regexp.MustCompile(fmt.Sprintf(`\bscore (\d+ → )?%d\b`, stored.Score)).MatchString(got) {
		t.Errorf("the timeline's score reads %q, want the stored %d", got, stored.Score)
	}
	tab.Shot("journey-lead")
}
