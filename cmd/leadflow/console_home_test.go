package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"leadflow/store"
)

// homeClient is a browser without a browser: a cookie jar signed in to the
// console as one person.
type homeClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

// signInOverHTTP posts the login form with next and returns the signed-in
// client and the path it landed on.
func signInOverHTTP(t *testing.T, base, email, password, next string) (*homeClient, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	h := &homeClient{t: t, base: base, c: &http.Client{Jar: jar}}
	resp, err := h.c.PostForm(base+"/login", url.Values{"email": {email}, "password": {password}, "next": {next}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign in as %s: status %d at %s", email, resp.StatusCode, resp.Request.URL)
	}
	return h, resp.Request.URL.RequestURI()
}

// get follows redirects and returns the status, the path it ended on and
// the page.
func (h *homeClient) get(path string) (int, string, *html.Node) {
	h.t.Helper()
	resp, err := h.c.Get(h.base + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := html.Parse(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, resp.Request.URL.RequestURI(), doc
}

// firstRedirect is where GET path sends the client, without following it.
func (h *homeClient) firstRedirect(path string) (int, string) {
	h.t.Helper()
	c := *h.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(h.base + path)
	if err != nil {
		h.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// htmlFind returns the nodes under n that match.
func htmlFind(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if match(d) {
			out = append(out, d)
		}
	}
	return out
}

func htmlAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// htmlElement matches a tag whose attribute key is value (for class: has
// value among its words); with no key, any such tag.
func htmlElement(tag, key, value string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		if n.Type != html.ElementNode || n.Data != tag {
			return false
		}
		if key == "" {
			return true
		}
		if key == "class" {
			return strings.Contains(" "+htmlAttr(n, key)+" ", " "+value+" ")
		}
		return htmlAttr(n, key) == value
	}
}

// htmlText is n's text, its spaces collapsed.
func htmlText(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// htmlBodyRows are a table's body rows, as the text of their cells.
func htmlBodyRows(table *html.Node) [][]string {
	var rows [][]string
	for _, tr := range htmlFind(table, htmlElement("tr", "", "")) {
		if tr.Parent == nil || tr.Parent.Data != "tbody" {
			continue
		}
		var cells []string
		for c := tr.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && (c.Data == "td" || c.Data == "th") {
				cells = append(cells, htmlText(c))
			}
		}
		rows = append(rows, cells)
	}
	return rows
}

// htmlOne is the only node under doc that matches, or fails the test.
func htmlOne(t *testing.T, doc *html.Node, what string, match func(*html.Node) bool) *html.Node {
	t.Helper()
	ns := htmlFind(doc, match)
	if len(ns) != 1 {
		t.Fatalf("%d %s on the page, want 1", len(ns), what)
	}
	return ns[0]
}

// TestConsoleHomeByRole signs people in to a real `leadflow run` (forms
// posted to it are processed by its workers): a marketer's home is today's
// intake, counted from midnight in the workspace's time zone, and the
// funnel; an admin's is the same with their jobs; a sales rep's lands on
// their handoffs, and a sign-in that asks for a page still lands on it.
func TestConsoleHomeByRole(t *testing.T) {
	t.Parallel()
	app := startRunApp(t)
	ctx := context.Background()
	const password = "correct horse battery"
	mia := app.person(t, "home-ws", "mia@home.test", store.UserMarketing, password)
	app.person(t, "home-ws", "ada@admin.home.test", store.UserAdmin, password)
	app.person(t, "home-ws", "sam@home.test", store.UserSalesRep, password)
	ws := mia.WorkspaceID

	// A zone an hour off UTC, on the side where today began at another
	// moment than UTC's today: a response received between the two
	// midnights is today's in the zone and not in UTC, or the other way
	// round, so the counts tell which midnight the home used.
	now := time.Now().UTC()
	utcMidnight := now.Truncate(24 * time.Hour)
	zone, edge, edgeToday := "Etc/GMT+1", utcMidnight.Add(30*time.Minute), false // UTC-1: today began at 01:00 UTC
	if now.Hour() < 2 {
		zone, edge, edgeToday = "Etc/GMT-1", utcMidnight.Add(-30*time.Minute), true // UTC+1: today began at 23:00 UTC
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	if y, m, d := now.In(loc).Date(); edge.Before(time.Date(y, m, d, 0, 0, 0, 0, loc)) == edgeToday {
		t.Fatalf("%s in %s: today's or not is not %v", edge, zone, edgeToday)
	}
	if !edge.Before(utcMidnight) != !edgeToday {
		t.Fatalf("%s in UTC: today's or not is not %v", edge, !edgeToday)
	}
	w, err := app.st.GetWorkspace(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	settings := w.WorkspaceSettings
	settings.Timezone = zone
	if _, err := app.st.UpdateWorkspaceSettings(ctx, ws, settings); err != nil {
		t.Fatal(err)
	}

	contact, err := app.st.InsertForm(ctx, store.Form{WorkspaceID: ws, Name: "Contact us", Kind: store.FormContactUs, HoneypotField: "website"})
	if err != nil {
		t.Fatal(err)
	}
	webinar, err := app.st.InsertForm(ctx, store.Form{WorkspaceID: ws, Name: "Webinar", Kind: store.FormContactUs})
	if err != nil {
		t.Fatal(err)
	}
	// Contact us: two new people, one of them again (merged, no new lead),
	// and a bot that filled the honeypot (held as spam). Webinar: one.
	posts := []struct {
		form   store.Form
		values url.Values
	}{
		{contact, url.Values{"first_name": {"Ada"}, "last_name": {"Lovelace"}, "email": {"ada@engine.test"}}},
		{contact, url.Values{"first_name": {"Bob"}, "last_name": {"Babbage"}, "email": {"bob@engine.test"}}},
		{contact, url.Values{"first_name": {"Ada"}, "last_name": {"Lovelace"}, "email": {"ada@engine.test"}, "company": {"Analytical"}}},
		{contact, url.Values{"first_name": {"Bot"}, "last_name": {"Net"}, "email": {"bot@spam.test"}, "website": {"http://spam.test"}}},
		{webinar, url.Values{"first_name": {"Cy"}, "last_name": {"Clone"}, "email": {"cy@engine.test"}}},
	}
	for i, p := range posts {
		resp, err := http.PostForm(app.base+"/f/"+p.form.Key, p.values)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			t.Fatalf("post %d: status %d", i, resp.StatusCode)
		}
		// One at a time, so the second Ada finds the first.
		waitFor(t, "post "+string(rune('1'+i))+" processed", 30*time.Second, func() bool {
			rs, err := app.st.ListResponses(ctx, ws, store.ResponseFilter{Page: store.Page{Limit: 10}})
			if err != nil {
				t.Fatal(err)
			}
			done := 0
			for _, r := range rs {
				if r.Status == store.ResponseProcessed || r.Status == store.ResponseHeld {
					done++
				}
			}
			return done == i+1
		})
	}
	// Stored as they would be: one response that failed processing today,
	// and one held as spam received between the two midnights.
	if err := app.st.InsertResponses(ctx, []store.Response{
		{ID: store.NewID(), WorkspaceID: ws, FormID: webinar.ID, ReceivedAt: time.Now(), Status: store.ResponseFailed},
		{ID: store.NewID(), WorkspaceID: ws, FormID: contact.ID, ReceivedAt: edge, Status: store.ResponseHeld, Verdict: store.VerdictSpam, VerdictReason: "honeypot"},
	}, nil); err != nil {
		t.Fatal(err)
	}

	t.Run("a marketer's home shows today's intake and the funnel", func(t *testing.T) {
		h, landed := signInOverHTTP(t, app.base, "mia@home.test", password, "/console/")
		if landed != "/console/" {
			t.Fatalf("signed in to /console/, landed on %s", landed)
		}
		status, _, doc := h.get("/console/")
		if status != http.StatusOK {
			t.Fatalf("home: status %d", status)
		}
		if got := htmlText(htmlOne(t, doc, "zones", htmlElement("span", "id", "today-zone"))); got != zone {
			t.Errorf("today's intake is counted in %q, want the workspace's %q", got, zone)
		}
		// Form, received, new leads, spam held, failed; busiest first.
		received, spam := "4", "1"
		if edgeToday {
			received, spam = "5", "2"
		}
		want := [][]string{{"Contact us", received, "2", spam, "0"}, {"Webinar", "2", "1", "0", "1"}}
		today := htmlOne(t, doc, "intake tables", htmlElement("table", "id", "today"))
		if diff := cmp.Diff(want, htmlBodyRows(today)); diff != "" {
			t.Errorf("today's intake (-want +got):\n%s", diff)
		}
		// Each count leads to the responses it counts.
		var links []string
		for _, a := range htmlFind(today, htmlElement("a", "", "")) {
			links = append(links, htmlAttr(a, "href"))
		}
		wantLinks := []string{
			"/console/responses?form_id=" + contact.ID.String(),
			"/console/responses?form_id=" + contact.ID.String() + "&verdict=spam",
			"/console/responses?form_id=" + webinar.ID.String(),
			"/console/responses?form_id=" + webinar.ID.String() + "&status=failed",
		}
		if diff := cmp.Diff(wantLinks, links); diff != "" {
			t.Errorf("intake links (-want +got):\n%s", diff)
		}
		// The funnel of the last 30 days: a bar per stage; spam is no
		// response, a merge no new lead.
		if n := len(htmlFind(doc, htmlElement("rect", "class", "bar"))); n != 7 {
			t.Errorf("funnel bars = %d, want 7", n)
		}
		steps := htmlBodyRows(htmlOne(t, doc, "funnel step tables", htmlElement("table", "class", "funnel-steps")))
		if len(steps) != 7 {
			t.Fatalf("funnel steps = %v, want 7 stages", steps)
		}
		if got := [][]string{steps[0][:2], steps[1][:2]}; !cmp.Equal(got, [][]string{{"Responses", "5"}, {"Leads", "3"}}) {
			t.Errorf("funnel's first stages = %v, want 5 responses and 3 leads", got)
		}
		if form := htmlOne(t, doc, "period forms", htmlElement("form", "method", "get")); htmlAttr(form, "action") != "/console/" {
			t.Errorf("the period form asks %q, want the home again", htmlAttr(form, "action"))
		}
		// Another period and grouping, asked on the home, is drawn there.
		from := now.AddDate(0, 0, -400).Format(time.DateOnly)
		status, _, doc = h.get("/console/?" + url.Values{"from": {from}, "to": {now.AddDate(0, 0, -300).Format(time.DateOnly)}, "by": {"form"}}.Encode())
		if status != http.StatusOK {
			t.Fatalf("home of another period: status %d", status)
		}
		steps = htmlBodyRows(htmlOne(t, doc, "funnel step tables", htmlElement("table", "class", "funnel-steps")))
		if steps[0][1] != "0" {
			t.Errorf("responses a year ago = %s, want 0", steps[0][1])
		}
		if got := htmlText(htmlOne(t, doc, "chart headings", htmlElement("h2", "id", "chart-heading"))); !strings.HasPrefix(got, "All forms, "+from) {
			t.Errorf("chart heading %q, want all forms from %s", got, from)
		}
		if status, _, doc := h.get("/console/?from=2026-13-45"); status != http.StatusUnprocessableEntity || len(htmlFind(doc, htmlElement("p", "id", "funnel-from-error"))) != 1 {
			t.Errorf("home with a bad date: status %d, want 422 with the error next to the field", status)
		}
	})

	t.Run("an admin's home has their jobs, the intake and the funnel", func(t *testing.T) {
		h, _ := signInOverHTTP(t, app.base, "ada@admin.home.test", password, "/console/")
		status, path, doc := h.get("/console/")
		if status != http.StatusOK || path != "/console/" {
			t.Fatalf("admin's home: status %d at %s", status, path)
		}
		if len(htmlFind(doc, htmlElement("table", "id", "today"))) != 1 || len(htmlFind(doc, htmlElement("svg", "class", "funnel-chart"))) != 1 {
			t.Error("the admin's home misses the intake or the funnel")
		}
		if got := htmlText(htmlOne(t, doc, "job lists", htmlElement("section", "aria-labelledby", "jobs-heading"))); !strings.Contains(got, "People") {
			t.Errorf("the admin's jobs = %q", got)
		}
	})

	t.Run("a sales rep lands on their handoffs, or on the page they asked for", func(t *testing.T) {
		h, landed := signInOverHTTP(t, app.base, "sam@home.test", password, "/console/")
		if landed != "/console/handoffs" {
			t.Errorf("a sales rep signing in landed on %s, want /console/handoffs", landed)
		}
		if status, loc := h.firstRedirect("/console/"); status != http.StatusSeeOther || loc != "/console/handoffs" {
			t.Errorf("a sales rep's /console/: %d to %q, want 303 to /console/handoffs", status, loc)
		}
		if _, landed := signInOverHTTP(t, app.base, "sam@home.test", password, "/console/leads?q=ada"); landed != "/console/leads?q=ada" {
			t.Errorf("a sign-in asking for /console/leads?q=ada landed on %s", landed)
		}
	})
}
