package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"leadflow/embed/console/consoletest"
	"leadflow/store"
)

// acceptDialogs makes the tab's page answer yes to confirm(), as a person
// clicking OK would.
func acceptDialogs(tab *consoletest.Tab) {
	tab.Do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`))
}

// fieldValue is the value of a field (a textarea's text is its value, not
// its visible text).
func fieldValue(tab *consoletest.Tab, css string) string {
	var v string
	tab.Do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		s, err := chromedp.Evaluate[string](fmt.Sprintf("document.querySelector(%q).value", css))(ctx, tg)
		v = s
		return chromedp.Void{}, err
	})
	return v
}

// waitInPage polls a JavaScript condition in the tab until it holds.
func waitInPage(tab *consoletest.Tab, what, cond string) {
	tab.Do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			ok, err := chromedp.Evaluate[bool](cond)(ctx, tg)
			if err != nil {
				return chromedp.Void{}, fmt.Errorf("%s: %w", what, err)
			}
			if ok {
				return chromedp.Void{}, nil
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, fmt.Errorf("waiting for %s: %w", what, ctx.Err())
			case <-tick.C:
			}
		}
	})
}

// TestCaptureConsoleInBrowser: marketing builds a form, takes it live on
// another site, and works its responses and leads in the console of a real
// leadflow, in a real Chromium.
func TestCaptureConsoleInBrowser(t *testing.T) {
	if _, err := consoletest.ChromiumPath(); err != nil {
		t.Fatal(err)
	}
	app := startRunApp(t)
	const password = "correct horse battery"
	ctx := context.Background()

	t.Run("a form built in the browser takes a post from another site and makes a lead", func(t *testing.T) {
		t.Parallel()
		me := app.person(t, "forms-ws", "mia@forms.test", store.UserMarketing, password)
		// The customer's website: another origin (another port) on loopback.
		var page string
		site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><html lang=en><head><title>Example Inc</title></head><body><h1>Talk to us</h1>%s</body></html>", page)
		}))
		t.Cleanup(site.Close)

		tab := browsers.Tab(t, app.base)
		tab.Name = "form"
		tab.SignIn("mia@forms.test", password, "/console/forms")
		if n := tab.Count("nav a[href='/console/forms'][aria-current=page]"); n != 1 {
			t.Errorf("Forms marked current in the navigation %d times, want 1", n)
		}
		tab.Click("a[href='/console/forms/new']")
		tab.Type("#f-name", "Demo request")
		tab.Type("#f-allowed_origins", "ftp://example.test")
		tab.Type("#f-campaign", "spring-launch")
		if status := tab.Click("form.settings button[type=submit]"); status != http.StatusUnprocessableEntity {
			t.Fatalf("a form with a bad origin: status %d, want 422", status)
		}
		if n := tab.Count("#f-allowed_origins[aria-invalid=true][aria-describedby~=f-allowed_origins-error]"); n != 1 {
			t.Errorf("the bad origin is not marked invalid and described by its error")
		}
		if msg := tab.Text("#f-allowed_origins-error"); !strings.Contains(msg, "not an http(s) origin") {
			t.Errorf("origin error %q", msg)
		}
		if n := tab.Count("#f-campaign[value='spring-launch']"); n != 1 {
			t.Errorf("the campaign typed was not kept on the refused form")
		}

		// Saved without an origin: the page warns that the snippet cannot work.
		tab.Type("#f-allowed_origins", " ")
		if status := tab.Click("form.settings button[type=submit]"); status != http.StatusOK {
			t.Fatalf("create the form: status %d at %s", status, tab.Path())
		}
		if !strings.HasPrefix(tab.Path(), "/console/forms/") || tab.Text("p.notice") != "Saved." {
			t.Fatalf("after creating: at %s", tab.Path())
		}
		if msg := tab.Text("#no-origin"); !strings.Contains(msg, "no allowed origin") {
			t.Errorf("no warning while the form has no allowed origin: %q", msg)
		}
		tab.Shot("form-without-origin")

		// The customer's site is allowed; the warning goes.
		tab.Type("#f-allowed_origins", site.URL)
		if status := tab.Click("form.settings button[type=submit]"); status != http.StatusOK {
			t.Fatalf("save the origin: status %d", status)
		}
		if n := tab.Count("#no-origin"); n != 0 {
			t.Errorf("the no-origin warning stays after an origin was added")
		}
		// The preview frames the hosted page (the console's CSP allows it
		// for this page only).
		waitInPage(tab, "the hosted page in the preview",
			`(() => { const f = document.querySelector('iframe.preview'); const d = f && f.contentDocument; return !!(d && d.querySelector('form.lf-form')) })()`)
		if n := tab.Count("button[data-copy='#snippet']:not([hidden])"); n != 1 {
			t.Errorf("the copy button is not shown")
		}
		tab.Shot("form-editor")
		page = fieldValue(tab, "#snippet")
		if !strings.Contains(page, "<form") || !strings.Contains(page, app.base+"/f/") {
			t.Fatalf("snippet %q", page)
		}

		// A visitor of the customer's site fills the form in.
		visitor := browsers.Tab(t, site.URL)
		visitor.Name = "site"
		visitor.Open("/")
		visitor.Type("input[name=first_name]", "Grace")
		visitor.Type("input[name=last_name]", "Hopper")
		visitor.Type("input[name=email]", "grace@navy.test")
		visitor.Type("input[name=company]", "Navy")
		visitor.Do(chromedp.Click(chromedp.CSS("button.lf-submit"), chromedp.NodeVisible))
		waitInPage(visitor, "the form's answer", `(() => { const s = document.querySelector('[data-leadflow-status]'); return !!(s && s.textContent.trim()) })()`)
		visitor.Shot("posted")

		// The worker makes the lead.
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
		tab.Name = "leads"
		tab.Open("/console/leads?q=" + url.QueryEscape("hopper"))
		if got := tab.Text("#leads tbody tr td:nth-child(2)"); got != "grace@navy.test" {
			t.Errorf("the leads list shows %q, want grace@navy.test", got)
		}
		tab.Click("#leads a[href='/console/leads/" + lead.ID.String() + "']")
		if got := tab.Text("#timeline li.tl-response a"); got != "Demo request" {
			t.Errorf("the lead page's timeline shows a response of %q, want Demo request", got)
		}
		tab.Shot("lead")
		tab.Click("#timeline li.tl-response a")
		if got := tab.Text("#verdict"); got != "ok" {
			t.Errorf("the response's verdict %q", got)
		}
		tab.Name = "responses"
		tab.Open("/console/responses")
		if n := tab.Count("table:not(#today) tbody tr"); n != 1 {
			t.Errorf("responses listed: %d, want 1", n)
		}
	})

	t.Run("a marketer merges two possible duplicates from the lead page", func(t *testing.T) {
		t.Parallel()
		me := app.person(t, "dups-ws", "max@dups.test", store.UserMarketing, password)
		a, err := app.st.InsertLead(ctx, store.Lead{WorkspaceID: me.WorkspaceID, FirstName: "<script>alert(1)</script>", LastName: "Lovelace",
			Email: "ada@one.test", EmailCanonical: "ada@one.test", Phone: "+14155550100", Company: "Engines", Status: store.LeadNew})
		if err != nil {
			t.Fatal(err)
		}
		b, err := app.st.InsertLead(ctx, store.Lead{WorkspaceID: me.WorkspaceID, FirstName: "Ada", LastName: "Lovelace",
			Email: "ada@two.test", EmailCanonical: "ada@two.test", Phone: "+14155550100", Company: "Analytical Engines", Status: store.LeadNew})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.st.InsertPossibleDuplicate(ctx, me.WorkspaceID, b.ID, store.FuzzyMatch{MatchLeadID: &a.ID, Similarity: 0.8, Reason: store.DuplicateSharedPhone}); err != nil {
			t.Fatal(err)
		}
		tab := browsers.Tab(t, app.base)
		tab.Name = "dups"
		tab.SignIn("max@dups.test", password, "/console/leads/"+a.ID.String())
		if got := tab.Text("main h1"); got != "<script>alert(1)</script> Lovelace" {
			t.Errorf("a hostile name reads %q on the page", got)
		}
		if got := tab.Text("#duplicates .reason"); got != "Same phone number" {
			t.Errorf("the pair's reason reads %q", got)
		}
		if n := tab.Count("#duplicates table.compare tbody tr"); n < 5 {
			t.Errorf("the two leads are not side by side (%d rows)", n)
		}
		tab.Shot("duplicates")
		acceptDialogs(tab)
		if status := tab.Click("#duplicates button.merge"); status != http.StatusOK {
			t.Fatalf("merge: status %d", status)
		}
		if got := tab.Path(); got != "/console/leads/"+a.ID.String()+"?merged=1" {
			t.Errorf("after the merge at %s", got)
		}
		if n := tab.Count("#duplicates button.merge"); n != 0 {
			t.Errorf("the merged pair still offers a merge")
		}
		merged, err := app.st.GetLead(ctx, me.WorkspaceID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if merged.MergedInto == nil || *merged.MergedInto != a.ID {
			t.Errorf("the other lead is merged into %v, want %s", merged.MergedInto, a.ID)
		}
		// The merged lead's page leads to the survivor.
		tab.Open("/console/leads/" + b.ID.String())
		if got := tab.Path(); got != "/console/leads/"+a.ID.String() {
			t.Errorf("the merged lead's page went to %s", got)
		}
	})

	t.Run("spam is held, read escaped, and released into a lead", func(t *testing.T) {
		t.Parallel()
		me := app.person(t, "spam-ws", "sol@spam.test", store.UserMarketing, password)
		f, err := app.st.InsertForm(ctx, store.Form{WorkspaceID: me.WorkspaceID, Name: "Newsletter", Kind: store.FormContactUs, HoneypotField: "website"})
		if err != nil {
			t.Fatal(err)
		}
		// Posted by a server (no Origin), the honeypot filled in.
		resp, err := http.PostForm(app.base+"/f/"+f.Key, url.Values{
			"first_name": {"Real"}, "last_name": {"Person"}, "email": {"real@person.test"},
			"description": {`<img src=x onerror="alert(1)">`}, "website": {"http://spam.test"},
		})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var r store.Response
		waitFor(t, "the response held as spam", 30*time.Second, func() bool {
			rs, err := app.st.ListResponses(ctx, me.WorkspaceID, store.ResponseFilter{Verdict: store.VerdictSpam, Page: store.Page{Limit: 2}})
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) == 1 {
				r = rs[0]
			}
			return len(rs) == 1
		})
		tab := browsers.Tab(t, app.base)
		tab.Name = "spam"
		tab.SignIn("sol@spam.test", password, "/console/responses?verdict=spam")
		if n := tab.Count("table:not(#today) tbody tr"); n != 1 {
			t.Fatalf("spam responses listed: %d, want 1", n)
		}
		if got := tab.Text("#today tbody tr td:nth-child(3)"); got != "1" {
			t.Errorf("today's intake shows %q spam held, want 1", got)
		}
		tab.Open("/console/responses?verdict=ok")
		if n := tab.Count("table:not(#today) tbody tr"); n != 0 {
			t.Errorf("responses with verdict ok: %d, want 0", n)
		}
		tab.Open("/console/responses/" + r.ID.String())
		if n := tab.Count("main img"); n != 0 {
			t.Errorf("the raw submission made %d img elements: not escaped", n)
		}
		if !strings.Contains(tab.Text("main table"), `<img src=x onerror="alert(1)">`) {
			t.Errorf("the raw submission does not show the posted text as text")
		}
		acceptDialogs(tab)
		if status := tab.Click("#release"); status != http.StatusOK {
			t.Fatalf("release: status %d", status)
		}
		if got := tab.Text("p.notice"); !strings.HasPrefix(got, "Released") {
			t.Errorf("after release: notice %q", got)
		}
		waitFor(t, "the released response's lead", 30*time.Second, func() bool {
			got, err := app.st.GetResponse(ctx, me.WorkspaceID, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.LeadID != nil
		})
		tab.Open("/console/responses/" + r.ID.String())
		if got := tab.Text("#verdict"); !strings.HasPrefix(got, "released") {
			t.Errorf("verdict after release %q", got)
		}
		tab.Click("#response-lead")
		if got := tab.Text("#lead-email"); got != "real@person.test" {
			t.Errorf("the released response's lead has email %q", got)
		}
	})

	t.Run("an event made in the browser fills up, then its waitlist", func(t *testing.T) {
		t.Parallel()
		me := app.person(t, "events-ws", "eve@events.test", store.UserMarketing, password)
		tab := browsers.Tab(t, app.base)
		tab.Name = "events"
		tab.SignIn("eve@events.test", password, "/console/events")
		tab.Type("#e-name", "Launch party")
		tab.Type("#e-capacity", "0")
		if status := tab.Click("form[action='/console/events'] button[type=submit]"); status != http.StatusUnprocessableEntity {
			t.Fatalf("an event of 0 places: status %d, want 422", status)
		}
		if n := tab.Count("#e-capacity[aria-invalid=true]"); n != 1 || !strings.Contains(tab.Text("#e-capacity-error"), "more than 0") {
			t.Errorf("the capacity's error is not beside it")
		}
		tab.Type("#e-capacity", "1")
		if status := tab.Click("form[action='/console/events'] button[type=submit]"); status != http.StatusOK {
			t.Fatalf("create the event: status %d", status)
		}
		evs, err := app.st.ListEvents(ctx, me.WorkspaceID, store.Page{Limit: 2})
		if err != nil || len(evs) != 1 {
			t.Fatalf("events stored: %v, %v", evs, err)
		}
		f, err := app.st.InsertForm(ctx, store.Form{WorkspaceID: me.WorkspaceID, Name: "RSVP", Kind: store.FormEventRegistration, EventID: &evs[0].ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, who := range []string{"first", "second"} {
			resp, err := http.PostForm(app.base+"/f/"+f.Key, url.Values{"first_name": {who}, "last_name": {"Guest"}, "email": {who + "@guest.test"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			// One at a time, so the first to come is the one registered.
			waitFor(t, who+"'s registration", 30*time.Second, func() bool {
				c, err := app.st.EventRegistrationCounts(ctx, me.WorkspaceID, evs[0].ID)
				if err != nil {
					t.Fatal(err)
				}
				return c.Registered+c.Waitlisted == map[string]int{"first": 1, "second": 2}[who]
			})
		}
		tab.Open("/console/events/" + evs[0].ID.String())
		if got := tab.Text("#registered-count") + "/" + tab.Text("#waitlist-count"); got != "1/1" {
			t.Errorf("registered/waitlisted %s, want 1/1", got)
		}
		if got := tab.Text("section[aria-labelledby=waitlist-heading] tbody td:nth-child(2)"); got != "second@guest.test" {
			t.Errorf("the waitlist shows %q", got)
		}
	})

	t.Run("sales reads leads but neither forms, responses nor merges", func(t *testing.T) {
		t.Parallel()
		rep := app.person(t, "sales-ws", "sam@sales.test", store.UserSalesRep, password)
		l, err := app.st.InsertLead(ctx, store.Lead{WorkspaceID: rep.WorkspaceID, FirstName: "Lin", Email: "lin@x.test", EmailCanonical: "lin@x.test", Status: store.LeadNew})
		if err != nil {
			t.Fatal(err)
		}
		tab := browsers.Tab(t, app.base)
		tab.Name = "rep"
		tab.SignIn("sam@sales.test", password, "/console/leads")
		if n := tab.Count("nav a[href='/console/forms'], nav a[href='/console/responses']"); n != 0 {
			t.Errorf("a sales rep sees %d marketing links", n)
		}
		for _, path := range []string{"/console/forms", "/console/forms/new", "/console/responses"} {
			if status := tab.Open(path); status != http.StatusForbidden {
				t.Errorf("sales rep at %s: status %d, want 403", path, status)
			}
		}
		if status := tab.Open("/console/leads/" + l.ID.String()); status != http.StatusOK {
			t.Errorf("sales rep on a lead page: status %d", status)
		}
	})

	t.Run("contacts are found by search and open as a page, their names as text", func(t *testing.T) {
		t.Parallel()
		mk := app.person(t, "contacts-ws", "maya@contacts.test", store.UserMarketing, password)
		hostile := `<img src=x onerror=alert(1)>`
		c, err := app.st.InsertContact(ctx, store.Contact{WorkspaceID: mk.WorkspaceID, FirstName: hostile, LastName: "Byron",
			Email: "ada@byron.test", EmailCanonical: "ada@byron.test", Company: "Analytical Engines"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.st.InsertContact(ctx, store.Contact{WorkspaceID: mk.WorkspaceID, FirstName: "Charles", LastName: "Babbage",
			Email: "charles@babbage.test", EmailCanonical: "charles@babbage.test", Company: "Difference Works"}); err != nil {
			t.Fatal(err)
		}
		tab := browsers.Tab(t, app.base)
		tab.Name = "contacts"
		tab.SignIn("maya@contacts.test", password, "/console/contacts?q="+url.QueryEscape("byron"))
		if n := tab.Count("main tbody tr"); n != 1 {
			t.Errorf("searching contacts for byron lists %d rows, want 1", n)
		}
		if status := tab.Click("main tbody a[href='/console/contacts/" + c.ID.String() + "']"); status != http.StatusOK {
			t.Fatalf("contact page: status %d", status)
		}
		if got := tab.Text("main h1"); !strings.Contains(got, hostile) {
			t.Errorf("contact page heading %q does not show the name as typed", got)
		}
		if n := tab.Count("main img"); n != 0 {
			t.Errorf("the contact's name became %d image elements", n)
		}
	})
}
