package nurture_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"leadflow/nurture"
	"leadflow/store"
)

// fakeURLs are readable stand-ins for a message's signed links.
type fakeURLs struct{}

func (fakeURLs) Open() string { return "https://lf.example/t/o/TOKEN" }
func (fakeURLs) Click(i int, _ string) string {
	return fmt.Sprintf("https://lf.example/t/c/%d", i)
}
func (fakeURLs) Unsubscribe() string { return "https://lf.example/u/TOKEN" }

func sampleData() nurture.MergeData {
	return nurture.MergeData{
		Lead: store.Lead{
			FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
			Company: "Analytical Engines", Country: "GB", PrimaryInterest: "Engines",
			Custom: map[string]string{"plan": "pro"},
		},
		Workspace: store.Workspace{WorkspaceSettings: store.WorkspaceSettings{
			SenderName: "Acme Marketing", PostalAddress: "Acme Ltd\n1 Main Street\nLondon",
		}},
	}
}

func render(t *testing.T, tpl store.Template, d nurture.MergeData) nurture.Rendered {
	t.Helper()
	r, err := nurture.Render(tpl, d, fakeURLs{})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return r
}

// walkHTML parses a rendered body and calls fn on every element.
func walkHTML(t *testing.T, body string, fn func(n *html.Node)) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			fn(n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func TestRenderEscapesHostileLeadData(t *testing.T) {
	t.Parallel()
	d := sampleData()
	d.Lead.FirstName = `<script>alert(1)</script>`
	d.Lead.Company = `"><img src=x onerror=alert(1)>`
	d.Lead.LastName = `{{email}}`
	d.Lead.Title = "Boss\r\nBcc: victim@example.com\x00\x1b"
	d.Lead.City = `red;background:url(javascript:alert(1))`
	d.Lead.Custom = map[string]string{"site": "javascript:alert(document.cookie)", "path": "../admin?x=1"}
	tpl := store.Template{
		Subject: "Hi {{first_name}} {{last_name}}, {{title}}",
		HTMLBody: `<p class="{{company}}">Hello {{first_name}} {{last_name}} at {{company}}</p>` +
			`<a href="{{custom.site}}">your site</a>` +
			`<a href="https://shop.example/{{custom.path}}?ref={{company}}">shop</a>` +
			`<p style="color:{{city}}" onclick="track('{{city}}')">styled</p>` +
			`<style>p{color:red}/* {{company}} */</style>`,
		TextBody: "Hello {{first_name}} {{last_name}} at {{company}}",
	}
	r := render(t, tpl, d)

	if want := "Hi <script>alert(1)</script> {{email}}, Boss Bcc: victim@example.com"; r.Subject != want {
		t.Errorf("subject = %q, want %q (one line, data kept as text, not expanded)", r.Subject, want)
	}
	// The text body is plain: the data as typed, never re-expanded.
	if want := "Hello <script>alert(1)</script> {{email}} at \"><img src=x onerror=alert(1)>"; !strings.HasPrefix(r.Text, want) {
		t.Errorf("text = %q, want it to start with %q", r.Text, want)
	}

	var elements []string
	var hrefs []string
	walkHTML(t, r.HTML, func(n *html.Node) {
		elements = append(elements, n.Data)
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") && a.Val != `track('redbackgroundurljavascriptalert1')` {
				t.Errorf("%s has handler %s=%q carrying data that was not defused", n.Data, a.Key, a.Val)
			}
			if a.Key == "style" && n.Data == "p" && strings.Contains(a.Val, "url(") {
				t.Errorf("style %q lets data add CSS", a.Val)
			}
		}
		if n.Data == "a" {
			href, _ := attr(n, "href")
			hrefs = append(hrefs, href)
		}
	})
	// Only the template's elements, the footer's and the open pixel: no
	// script or img the data tried to add.
	want := []string{"html", "head", "body", "p", "a", "a", "p", "style", "div", "p", "br", "br", "p", "a", "img"}
	if diff := cmp.Diff(want, elements); diff != "" {
		t.Errorf("elements (-want +got):\n%s", diff)
	}
	// The javascript: URL became "#"; the shop link's path and query hold
	// the data escaped, and it is tracked.
	if diff := cmp.Diff([]string{"#", "https://lf.example/t/c/0", "https://lf.example/u/TOKEN"}, hrefs); diff != "" {
		t.Errorf("hrefs (-want +got):\n%s", diff)
	}
	wantLinks := []string{"https://shop.example/..%2Fadmin%3Fx=1?ref=%22%3E%3Cimg+src%3Dx+onerror%3Dalert%281%29%3E"}
	if diff := cmp.Diff(wantLinks, r.Links); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
	for _, s := range []string{"<script>", "<img src=x", `"><img`} {
		if strings.Contains(r.HTML, s) {
			t.Errorf("html holds %q:\n%s", s, r.HTML)
		}
	}
	if !strings.Contains(r.HTML, "<style>p{color:red}/* img src=x onerror=alert1 */</style>") {
		t.Errorf("style element content not defused: %s", r.HTML)
	}
	if !strings.Contains(r.HTML, "{{email}}") {
		t.Errorf("html lost the lead's literal {{email}}: %s", r.HTML)
	}
	if !strings.Contains(r.HTML, `class="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"`) {
		t.Errorf("attribute value not escaped: %s", r.HTML)
	}
}

func TestRenderStyleElementCannotBeClosedByData(t *testing.T) {
	t.Parallel()
	d := sampleData()
	d.Lead.Company = `</style><script>alert(1)</script>`
	r := render(t, store.Template{Subject: "s", HTMLBody: `<style>/* {{company}} */</style><p>x</p>`}, d)
	walkHTML(t, r.HTML, func(n *html.Node) {
		if n.Data == "script" {
			t.Errorf("data closed the style element and added a script: %s", r.HTML)
		}
	})
}

func TestRenderTracksLinksInOrder(t *testing.T) {
	t.Parallel()
	tpl := store.Template{
		Subject: "Links",
		HTMLBody: `<p><a href="https://a.example/one">one</a> <a href=" https://b.example/two?x=1&amp;y=2 ">two</a>` +
			` <a href="https://a.example/one">one again</a> <a href="mailto:sales@example.com">mail</a>` +
			` <a href="/relative">relative</a> <a href="#top">top</a> <a href="{{unsubscribe_url}}">Unsubscribe</a>` +
			` <area href="http://c.example/map"></p><p>{{postal_address}}</p>`,
		TextBody: "Read https://d.example/text. Or https://a.example/one, and (https://e.example/x).\nUnsubscribe: {{unsubscribe_url}}\n{{postal_address}}",
	}
	r := render(t, tpl, sampleData())
	wantLinks := []string{
		"https://a.example/one", "https://b.example/two?x=1&y=2", "http://c.example/map",
		"https://d.example/text", "https://e.example/x",
	}
	if diff := cmp.Diff(wantLinks, r.Links); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
	var hrefs []string
	walkHTML(t, r.HTML, func(n *html.Node) {
		if href, ok := attr(n, "href"); ok {
			hrefs = append(hrefs, href)
		}
	})
	wantHrefs := []string{
		"https://lf.example/t/c/0", "https://lf.example/t/c/1", "https://lf.example/t/c/0",
		"mailto:sales@example.com", "/relative", "#top", "https://lf.example/u/TOKEN", "https://lf.example/t/c/2",
	}
	if diff := cmp.Diff(wantHrefs, hrefs); diff != "" {
		t.Errorf("hrefs (-want +got):\n%s", diff)
	}
	wantText := "Read https://lf.example/t/c/3. Or https://lf.example/t/c/0, and (https://lf.example/t/c/4).\n" +
		"Unsubscribe: https://lf.example/u/TOKEN\nAcme Ltd\n1 Main Street\nLondon"
	if diff := cmp.Diff(wantText, r.Text); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
}

func TestRenderPixelAndFooter(t *testing.T) {
	t.Parallel()
	const (
		pixel  = `<img src="https://lf.example/t/o/TOKEN" width="1" height="1" alt=""/>`
		unsub  = `<p style="margin:0"><a href="https://lf.example/u/TOKEN" style="color:#666666">Unsubscribe</a></p>`
		postal = `<p style="margin:0">Acme Ltd<br/>1 Main Street<br/>London</p>`
		div    = `<div style="margin-top:24px;font-size:12px;line-height:1.5;color:#666666">`
	)
	tests := []struct {
		name, html, text string
		wantHTML         string
		wantText         string
	}{{
		name:     "fragment without either gets both, pixel at the end",
		html:     `<p>Hi {{first_name}}</p>`,
		text:     "Hi {{first_name}}",
		wantHTML: `<p>Hi Ada</p>` + div + postal + unsub + `</div>` + pixel,
		wantText: "Hi Ada\n\n--\nAcme Ltd\n1 Main Street\nLondon\nUnsubscribe: https://lf.example/u/TOKEN\n",
	}, {
		name:     "document: footer and pixel before </body>",
		html:     `<!DOCTYPE html><html><head><title>t</title></head><body><p>Hi</p></body></html>`,
		text:     "Hi",
		wantHTML: `<!DOCTYPE html><html><head><title>t</title></head><body><p>Hi</p>` + div + postal + unsub + `</div>` + pixel + `</body></html>`,
		wantText: "Hi\n\n--\nAcme Ltd\n1 Main Street\nLondon\nUnsubscribe: https://lf.example/u/TOKEN\n",
	}, {
		name:     "both present: no footer",
		html:     `<p>{{postal_address}}</p><a href="{{unsubscribe_url}}">stop</a>`,
		text:     "{{postal_address}} {{unsubscribe_url}}",
		wantHTML: `<p>Acme Ltd` + "\n" + `1 Main Street` + "\n" + `London</p><a href="https://lf.example/u/TOKEN">stop</a>` + pixel,
		wantText: "Acme Ltd\n1 Main Street\nLondon https://lf.example/u/TOKEN",
	}, {
		name:     "only the missing one is added",
		html:     `<a href="{{unsubscribe_url}}">stop</a>`,
		text:     "{{postal_address}}",
		wantHTML: `<a href="https://lf.example/u/TOKEN">stop</a>` + div + postal + `</div>` + pixel,
		wantText: "Acme Ltd\n1 Main Street\nLondon\n\n--\nUnsubscribe: https://lf.example/u/TOKEN\n",
	}, {
		name:     "a field inside a comment does not count",
		html:     `<!-- {{unsubscribe_url}} {{postal_address}} --><p>x</p>`,
		text:     "x",
		wantHTML: `<!-- {{unsubscribe_url}} {{postal_address}} --><p>x</p>` + div + postal + unsub + `</div>` + pixel,
		wantText: "x\n\n--\nAcme Ltd\n1 Main Street\nLondon\nUnsubscribe: https://lf.example/u/TOKEN\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := render(t, store.Template{Subject: "s", HTMLBody: tt.html, TextBody: tt.text}, sampleData())
			if diff := cmp.Diff(tt.wantHTML, r.HTML); diff != "" {
				t.Errorf("html (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantText, r.Text); diff != "" {
				t.Errorf("text (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderMergeFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		subject  string
		defaults map[string]string
		lead     func(*store.Lead)
		extra    map[string]string
		want     string
	}{
		{name: "lead field", subject: "{{first_name}} {{last_name}}", want: "Ada Lovelace"},
		{name: "full name", subject: "{{full_name}}", want: "Ada Lovelace"},
		{name: "full name, first only", subject: "[{{full_name}}]", lead: func(l *store.Lead) { l.LastName = "" }, want: "[Ada]"},
		{name: "spaces inside braces", subject: "{{ company }}", want: "Analytical Engines"},
		{name: "custom field", subject: "plan {{custom.plan}}", want: "plan pro"},
		{name: "workspace fields", subject: "{{sender_name}}", want: "Acme Marketing"},
		{name: "missing: template default first", subject: "Hi {{title|friend}}", defaults: map[string]string{"title": "reader"}, want: "Hi reader"},
		{name: "missing: inline fallback", subject: "Hi {{title|dear friend}}", want: "Hi dear friend"},
		{name: "missing: nothing", subject: "Hi {{title}}!", want: "Hi !"},
		{name: "blank counts as missing", subject: "Hi {{first_name|there}}", lead: func(l *store.Lead) { l.FirstName = "  " }, want: "Hi there"},
		{name: "present value beats defaults", subject: "{{first_name|x}}", defaults: map[string]string{"first_name": "y"}, want: "Ada"},
		{name: "extra field", subject: "See you at {{event_name}}", extra: map[string]string{"event_name": "Launch"}, want: "See you at Launch"},
		{name: "extra wins over the lead", subject: "{{first_name}}", extra: map[string]string{"first_name": "Grace"}, want: "Grace"},
		{name: "unknown field left blank", subject: "a{{nope}}b", want: "ab"},
		{name: "malformed braces kept literally", subject: "a {{ not valid! }} b {{first_name}}", want: "a {{ not valid! }} b {{first_name}}"},
		{name: "unterminated kept literally", subject: "50% off {{first_name", want: "50% off {{first_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := sampleData()
			if tt.lead != nil {
				tt.lead(&d.Lead)
			}
			d.Extra = tt.extra
			r := render(t, store.Template{Subject: tt.subject, TextBody: "x", Defaults: tt.defaults}, d)
			if r.Subject != tt.want {
				t.Errorf("subject %q = %q, want %q", tt.subject, r.Subject, tt.want)
			}
		})
	}
}

func TestRenderDerivesTextFromHTML(t *testing.T) {
	t.Parallel()
	tpl := store.Template{
		Subject: "s",
		HTMLBody: `<html><head><style>p{}</style></head><body><h1>Welcome, {{first_name}}</h1>` +
			`<p>Read   our <a href="https://example.com/guide">guide</a>.<br>Thanks</p>` +
			`<ul><li>One</li><li>Two</li></ul><p><a href="https://example.com/">https://example.com/</a></p>` +
			`<p>{{postal_address}} <a href="{{unsubscribe_url}}">Unsubscribe</a></p></body></html>`,
	}
	r := render(t, tpl, sampleData())
	want := "Welcome, Ada\n\nRead our guide (https://lf.example/t/c/0).\nThanks\n\n- One\n- Two\n\n" +
		"https://lf.example/t/c/1\n\nAcme Ltd\n1 Main Street\nLondon Unsubscribe (https://lf.example/u/TOKEN)\n"
	if diff := cmp.Diff(want, r.Text); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"https://example.com/guide", "https://example.com/"}, r.Links); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
}

func TestRenderTextOnly(t *testing.T) {
	t.Parallel()
	r := render(t, store.Template{Subject: "s", TextBody: "Hi {{first_name}}"}, sampleData())
	if r.HTML != "" {
		t.Errorf("html = %q, want none for a text-only template", r.HTML)
	}
	if r.Links == nil {
		t.Error("links = nil, want an empty list")
	}
	if !strings.HasPrefix(r.Text, "Hi Ada\n") {
		t.Errorf("text = %q", r.Text)
	}
}

func ExampleRender() {
	tpl := store.Template{
		Subject:  "Welcome, {{first_name|there}}",
		HTMLBody: `<p>Hi {{first_name|there}}, see <a href="https://example.com/start">how to start</a>.</p>`,
		TextBody: "Hi {{first_name|there}}, see how to start: https://example.com/start",
	}
	data := nurture.MergeData{
		Lead: store.Lead{FirstName: "<Ada>"},
		Workspace: store.Workspace{WorkspaceSettings: store.WorkspaceSettings{
			PostalAddress: "Acme Ltd, 1 Main Street, London",
		}},
	}
	r, err := nurture.Render(tpl, data, fakeURLs{})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Subject)
	fmt.Println(r.HTML)
	fmt.Print(r.Text)
	fmt.Println(r.Links)
	// Output:
	// Welcome, <Ada>
	// <p>Hi &lt;Ada&gt;, see <a href="https://lf.example/t/c/0">how to start</a>.</p><div style="margin-top:24px;font-size:12px;line-height:1.5;color:#666666"><p style="margin:0">Acme Ltd, 1 Main Street, London</p><p style="margin:0"><a href="https://lf.example/u/TOKEN" style="color:#666666">Unsubscribe</a></p></div><img src="https://lf.example/t/o/TOKEN" width="1" height="1" alt=""/>
	// Hi <Ada>, see how to start: https://lf.example/t/c/0
	//
	// --
	// Acme Ltd, 1 Main Street, London
	// Unsubscribe: https://lf.example/u/TOKEN
	// [https://example.com/start]
}

func ExampleValidateTemplate() {
	err := nurture.ValidateTemplate(store.Template{
		Name:     "Welcome",
		Subject:  "Hi {{frist_name}}",
		TextBody: "Hello {{first_name",
	})
	fmt.Println(err.(*nurture.ValidationError).Fields["subject"])
	fmt.Println(err.(*nurture.ValidationError).Fields["text_body"])
	// Output:
	// unknown merge field {{frist_name}}: use one of first_name, last_name, full_name, email, company, title, city, state, country, primary_interest, lead_source, sender_name, postal_address, unsubscribe_url, custom.KEY or event_name, event_starts_at, confirm_url, cancel_url
	// line 1: "{{" is not closed by "}}"
}

// A URL a lead typed into a form never becomes a tracked link: its click
// URL, on the sender's domain, would redirect wherever the poster chose.
// Links the template writes are tracked, also with a merge field in their
// query.
func TestRenderNeverTracksALeadSuppliedURL(t *testing.T) {
	t.Parallel()
	d := sampleData()
	d.Lead.Company = "https://evil.example/company"
	d.Lead.Custom = map[string]string{
		"site": "https://evil.example/site", "host": "evil.example", "tail": ".evil.example/x", "note": "see https://evil.example/note",
	}
	tpl := store.Template{
		Subject: "Hello {{company}}",
		HTMLBody: `<p>{{company}}</p>` +
			`<p><a href="{{custom.site}}">your site</a> <a href="https://{{custom.host}}/x">host</a>` +
			` <a href="https://good.example{{custom.tail}}">tail</a> <a href="{{custom.missing|https://evil.example/fallback}}">fallback</a>` +
			` <a href="https://good.example/page?who={{email}}">page</a> <a href="https://good.example/">home</a></p>`,
		TextBody: "From {{company}}. {{custom.note}}. Also https://{{custom.host}}/t and https://good.example{{custom.tail}}\n" +
			"Read https://good.example/text?who={{email}} and https://good.example/.\n",
	}
	r := render(t, tpl, d)
	wantLinks := []string{
		"https://good.example/page?who=ada%40example.com", "https://good.example/",
		"https://good.example/text?who=ada@example.com",
	}
	if diff := cmp.Diff(wantLinks, r.Links); diff != "" {
		t.Errorf("tracked links (-want +got):\n%s", diff)
	}
	var hrefs []string
	walkHTML(t, r.HTML, func(n *html.Node) {
		if href, ok := attr(n, "href"); ok && n.Data == "a" {
			hrefs = append(hrefs, href)
		}
	})
	wantHrefs := []string{
		"https://evil.example/site", "https://evil.example/x", "#",
		"https://evil.example/fallback", "https://lf.example/t/c/0", "https://lf.example/t/c/1",
		"https://lf.example/u/TOKEN",
	}
	if diff := cmp.Diff(wantHrefs, hrefs); diff != "" {
		t.Errorf("hrefs (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.HTML, "<p>https://evil.example/company</p>") {
		t.Errorf("the lead's company was not kept as written:\n%s", r.HTML)
	}
	wantText := "From https://evil.example/company. see https://evil.example/note. Also https://evil.example/t and https://good.example.evil.example/x\n" +
		"Read https://lf.example/t/c/2 and https://lf.example/t/c/1."
	if !strings.HasPrefix(r.Text, wantText) {
		t.Errorf("the template's text links are not tracked:\n%s", r.Text)
	}
}
