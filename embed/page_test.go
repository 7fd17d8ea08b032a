package embed

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"leadflow/store"
)

func TestFormPageFieldsByKind(t *testing.T) {
	t.Parallel()
	b := setup(t)
	event := insertEvent(t, b.st, b.ws, "Launch day", time.Date(2031, 5, 6, 17, 30, 0, 0, time.UTC))
	tests := []struct {
		kind string
		want []control
	}{
		{store.FormContactUs, []control{
			{"input", "hidden", "Campaign_ID", "701000000000001"},
			{"input", "text", "first_name", ""},
			{"input", "text", "last_name", ""},
			{"input", "email", "email", ""},
			{"input", "tel", "phone", ""},
			{"input", "text", "company", ""},
			{"input", "text", "title", ""},
			{"input", "text", "country", ""},
			{"input", "text", "product_interest", ""},
			{"textarea", "", "description", ""},
			{"input", "checkbox", "consent", "on"},
			{"input", "text", "website_url", ""},
		}},
		{store.FormEventRegistration, []control{
			{"input", "hidden", "Campaign_ID", "701000000000001"},
			{"input", "text", "first_name", ""},
			{"input", "text", "last_name", ""},
			{"input", "email", "email", ""},
			{"input", "text", "company", ""},
			{"input", "text", "title", ""},
			{"input", "checkbox", "consent", "on"},
			{"input", "text", "website_url", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			f := insertForm(t, b.st, b.ws, func(f *store.Form) {
				f.Kind = tt.kind
				f.Campaign = "701000000000001"
				if tt.kind == store.FormEventRegistration {
					f.EventID = &event
				}
			})
			rec := get(t, b.public, "/f/"+f.Key)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET /f/%s = %d, want 200", f.Key, rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type = %q, want text/html", ct)
			}
			doc := parseHTML(t, rec.Body.String())
			form := onlyForm(t, doc)
			if got := attrOr(form, "action"); got != "/f/"+f.Key {
				t.Errorf("form action = %q, want /f/%s", got, f.Key)
			}
			if got := attrOr(form, "method"); !strings.EqualFold(got, "post") {
				t.Errorf("form method = %q, want post", got)
			}
			if _, ok := attr(form, "data-leadflow"); !ok {
				t.Error("form lacks data-leadflow")
			}
			if diff := cmp.Diff(tt.want, controls(form)); diff != "" {
				t.Errorf("form controls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFormPageAccessible checks what a screen reader and a browser's
// autofill need: every visible control labelled, required fields marked,
// autocomplete tokens on personal fields.
func TestFormPageAccessible(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := insertForm(t, b.st, b.ws)
	doc := parseHTML(t, get(t, b.public, "/f/"+f.Key).Body.String())
	form := onlyForm(t, doc)

	labelled := map[string]bool{}
	for _, l := range elements(form, "label") {
		labelled[attrOr(l, "for")] = true
	}
	type fieldAttrs struct {
		Required     bool
		Autocomplete string
	}
	got := map[string]fieldAttrs{}
	for _, n := range elements(form, "") {
		name, ok := attr(n, "name")
		if !ok || attrOr(n, "type") == "hidden" {
			continue
		}
		id := attrOr(n, "id")
		if id == "" || !labelled[id] {
			t.Errorf("control %q has no label (id %q)", name, id)
		}
		_, required := attr(n, "required")
		got[name] = fieldAttrs{Required: required, Autocomplete: attrOr(n, "autocomplete")}
	}
	want := map[string]fieldAttrs{
		"first_name":       {true, "given-name"},
		"last_name":        {true, "family-name"},
		"email":            {true, "email"},
		"phone":            {false, "tel"},
		"company":          {false, "organization"},
		"title":            {false, "organization-title"},
		"country":          {false, "country-name"},
		"product_interest": {false, "off"},
		"description":      {false, ""},
		"consent":          {false, ""},
		"website_url":      {false, "off"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("field attributes (-want +got):\n%s", diff)
	}
	if got := attrOr(form, "aria-labelledby"); got != "lf-title" {
		t.Errorf("form aria-labelledby = %q, want lf-title", got)
	}
	if got := attrOr(elements(doc, "html")[0], "lang"); got == "" {
		t.Error("html has no lang")
	}
}

func TestFormPageHoneypot(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := insertForm(t, b.st, b.ws, func(f *store.Form) { f.HoneypotField = "fax_number" })
	doc := parseHTML(t, get(t, b.public, "/f/"+f.Key).Body.String())
	assertHoneypot(t, onlyForm(t, doc), "fax_number")

	// The class that hides it must be in the page's stylesheet.
	css := get(t, b.public, b.site.style.path).Body.String()
	if !strings.Contains(css, ".lf-hp { position: absolute; left: -10000px;") {
		t.Errorf("stylesheet does not hide .lf-hp:\n%s", css)
	}

	t.Run("none configured", func(t *testing.T) {
		t.Parallel()
		f := insertForm(t, b.st, b.ws, func(f *store.Form) { f.HoneypotField = "" })
		doc := parseHTML(t, get(t, b.public, "/f/"+f.Key).Body.String())
		for _, n := range elements(doc, "div") {
			if attrOr(n, "class") == "lf-hp" {
				t.Error("honeypot rendered for a form without one")
			}
		}
	})
}

// assertHoneypot checks the honeypot is out of sight, out of the tab order
// and of the accessibility tree, and not autofilled.
func assertHoneypot(t *testing.T, form *html.Node, name string) {
	t.Helper()
	var hp *html.Node
	for _, n := range elements(form, "input") {
		if attrOr(n, "name") == name {
			hp = n
		}
	}
	if hp == nil {
		t.Fatalf("no honeypot input named %q", name)
	}
	got := map[string]string{"type": attrOr(hp, "type"), "tabindex": attrOr(hp, "tabindex"), "autocomplete": attrOr(hp, "autocomplete")}
	want := map[string]string{"type": "text", "tabindex": "-1", "autocomplete": "off"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("honeypot attributes (-want +got):\n%s", diff)
	}
	box := hp.Parent
	if attrOr(box, "aria-hidden") != "true" || attrOr(box, "class") != "lf-hp" {
		t.Errorf("honeypot container = <%s %v>, want class lf-hp and aria-hidden true", box.Data, box.Attr)
	}
}

func TestFormPageEscapes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hostile := `<script>alert("name")</script>`
	consent := `I agree <img src=x onerror=alert(1)> "fully"`
	event := insertEvent(t, b.st, b.ws, `</title><script>alert("event")</script>`, time.Now())
	f := insertForm(t, b.st, b.ws, func(f *store.Form) {
		f.Kind = store.FormEventRegistration
		f.EventID = &event
		f.Name = hostile
		f.ConsentText = consent
		f.Campaign = `"><script>alert("campaign")</script>`
		f.HoneypotField = `x" onfocus="alert(1)`
	})
	body := get(t, b.public, "/f/"+f.Key+`?utm_source="><script>alert("utm")</script>`).Body.String()
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img") {
		t.Fatalf("page carries hostile markup unescaped:\n%s", body)
	}
	doc := parseHTML(t, body)
	assertNoInlineCode(t, doc)
	if got := textOf(elements(doc, "title")[0]); got != hostile {
		t.Errorf("title = %q, want the form name as text %q", got, hostile)
	}
	if got := textOf(elements(doc, "h1")[0]); got != hostile {
		t.Errorf("h1 = %q, want %q", got, hostile)
	}
	var consentLabel string
	for _, l := range elements(doc, "label") {
		if strings.HasSuffix(attrOr(l, "for"), "-consent") {
			consentLabel = textOf(l)
		}
	}
	if consentLabel != consent {
		t.Errorf("consent label = %q, want %q", consentLabel, consent)
	}
	assertHoneypot(t, onlyForm(t, doc), f.HoneypotField)
}

// assertNoInlineCode checks the page runs no script or style of its own, so
// the CSP needs no 'unsafe-inline': scripts only by src, no style elements
// or attributes, no event handler attributes.
func assertNoInlineCode(t *testing.T, doc *html.Node) {
	t.Helper()
	for _, n := range elements(doc, "") {
		switch n.Data {
		case "script":
			if _, ok := attr(n, "src"); !ok || textOf(n) != "" {
				t.Errorf("inline script: %v %q", n.Attr, textOf(n))
			}
		case "style":
			t.Errorf("style element: %q", textOf(n))
		}
		for _, a := range n.Attr {
			if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s> has attribute %s=%q", n.Data, a.Key, a.Val)
			}
		}
	}
}

func TestFormPageHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name    string
		form    func(*store.Form)
		wantCSP string
		wantXFO string
	}{
		{
			name: "no origins",
			form: func(*store.Form) {},
			wantCSP: "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
				"form-action 'self'; frame-ancestors 'self'; base-uri 'none'",
			wantXFO: "SAMEORIGIN",
		},
		{
			name: "origins and return urls",
			form: func(f *store.Form) {
				f.AllowedOrigins = []string{
					"https://www.example.com", "https://*.Example.org:8443", "https://www.example.com/",
					"https://a.com;script-src *", "javascript:alert(1)", "https://user@evil.example", "*",
				}
				f.ThankYouURL = "https://www.example.com/thanks"
				f.AllowedReturnURLs = []string{"https://shop.example.com/done?x=1", "data:text/html,hi"}
			},
			wantCSP: "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
				"form-action 'self' https://www.example.com https://shop.example.com; " +
				"frame-ancestors 'self' https://www.example.com https://*.example.org:8443; base-uri 'none'",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := insertForm(t, b.st, b.ws, tt.form)
			rec := get(t, b.public, "/f/"+f.Key)
			got := map[string]string{}
			for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options", "Cache-Control"} {
				got[h] = rec.Header().Get(h)
			}
			want := map[string]string{
				"Content-Security-Policy": tt.wantCSP,
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "strict-origin-when-cross-origin",
				"X-Frame-Options":         tt.wantXFO,
				"Cache-Control":           "no-cache",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFormPageLoadsAssets checks the page loads the hashed script and
// stylesheet, which the CSP allows as 'self'.
func TestFormPageLoadsAssets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := insertForm(t, b.st, b.ws)
	doc := parseHTML(t, get(t, b.public, "/f/"+f.Key).Body.String())
	var got []string
	for _, n := range elements(doc, "script") {
		got = append(got, attrOr(n, "src"))
	}
	for _, n := range elements(doc, "link") {
		got = append(got, attrOr(n, "href"))
	}
	want := []string{b.site.script.path, b.site.style.path}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("asset URLs (-want +got):\n%s", diff)
	}
	for _, u := range got {
		if rec := get(t, b.public, u); rec.Code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", u, rec.Code)
		}
	}
}

func TestFormPageCarriesUTM(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := insertForm(t, b.st, b.ws)
	long := strings.Repeat("x", 201)
	doc := parseHTML(t, get(t, b.public, "/f/"+f.Key+"?utm_source=newsletter&utm_campaign=spring+launch&utm_term="+long+"&other=1").Body.String())
	var got []control
	for _, c := range controls(onlyForm(t, doc)) {
		if c.Type == "hidden" {
			got = append(got, c)
		}
	}
	want := []control{
		{"input", "hidden", "utm_source", "newsletter"},
		{"input", "hidden", "utm_campaign", "spring launch"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hidden inputs (-want +got):\n%s", diff)
	}
}

func TestFormPageShowsEvent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	event := insertEvent(t, b.st, b.ws, "Launch day", time.Date(2031, 5, 6, 17, 30, 0, 0, time.UTC))
	f := insertForm(t, b.st, b.ws, func(f *store.Form) {
		f.Kind = store.FormEventRegistration
		f.EventID = &event
		f.Name = ""
	})
	doc := parseHTML(t, get(t, b.public, "/f/"+f.Key).Body.String())
	got := map[string]string{
		"h1":     textOf(elements(doc, "h1")[0]),
		"button": textOf(elements(doc, "button")[0]),
		"thanks": attrOr(onlyForm(t, doc), "data-leadflow-thanks"),
	}
	for _, p := range elements(doc, "p") {
		if attrOr(p, "class") == "lf-event" {
			got["event"] = textOf(p)
			got["datetime"] = attrOr(elements(p, "time")[0], "datetime")
		}
	}
	want := map[string]string{
		"h1":       "Register",
		"button":   "Register",
		"thanks":   "Thank you. We have received your registration.",
		"event":    "Launch day · Tuesday 6 May 2031, 17:30 UTC",
		"datetime": "2031-05-06T17:30:00Z",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
}

func TestFormPageUnknownKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, key := range []string{"no-such-form", "ab", "bad%20key", strings.Repeat("a", 65)} {
		rec := get(t, b.public, "/f/"+key)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET /f/%s = %d, want 404", key, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET /f/%s Content-Type = %q, want text/html", key, ct)
		}
		if !strings.Contains(rec.Body.String(), "<h1>Form not found</h1>") {
			t.Errorf("GET /f/%s body:\n%s", key, rec.Body.String())
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET /f/%s CSP = %q", key, csp)
		}
	}
}
