package nurture

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"leadflow/store"
)

// MergeData is what a template's merge fields are filled from.
type MergeData struct {
	Lead      store.Lead
	Workspace store.Workspace
	// Extra holds the fields of one kind of email (event_name,
	// confirm_url...). A key present here wins over the lead's field of the
	// same name, so an email to someone who is not a lead yet (a double
	// opt-in confirmation) can still greet them by name.
	Extra map[string]string
}

// URLs makes the links of one message; Links satisfies it.
type URLs interface {
	Open() string
	// Click is the tracking URL of link number i, which leads to target.
	Click(i int, target string) string
	Unsubscribe() string
}

// Rendered is a message ready to send.
type Rendered struct {
	Subject string
	HTML    string
	Text    string
	// Links are the original URLs of the tracked links: the click URL of
	// index i redirects to Links[i]. Never nil, since the messages table
	// stores it in a NOT NULL column.
	Links []string
}

// MergeFields are the merge fields every template may use, besides
// custom.KEY (a custom field of the lead) and ExtraFields.
var MergeFields = []string{
	"first_name", "last_name", "full_name", "email", "company", "title", "city", "state",
	"country", "primary_interest", "lead_source", "sender_name", "postal_address",
	"unsubscribe_url",
}

// ExtraFields are the merge fields that only some emails fill, through
// MergeData.Extra: event confirmations and double opt-in confirmations.
// Elsewhere they fall back to the template's defaults.
var ExtraFields = []string{"event_name", "event_starts_at", "confirm_url", "cancel_url"}

// Merge fields the compliance footer is about.
const (
	fieldPostalAddress  = "postal_address"
	fieldUnsubscribeURL = "unsubscribe_url"
)

// Render fills t's merge fields for one recipient and makes its links
// trackable: every http(s) link the template itself writes, but the
// unsubscribe one, is replaced by its click URL, an open pixel ends the HTML
// body, and a footer with the postal address and the unsubscribe link is
// added to each body lacking them.
//
// Only links whose scheme and host are the template's own text are
// tracked: a URL that came in through a merge field (a lead's company or
// custom field, a default, a fallback) is left as it is, since tracking it
// would make the click URL, on the sender's domain, redirect wherever a
// form's poster chose. A merge field later in a template link (a query
// value) keeps the link tracked: it cannot change the host.
//
// The lead's data cannot change the email's structure: the HTML template is
// parsed before any value is put in, values land in text and attribute
// nodes that the HTML writer escapes, a value cannot make a link run
// script, and the subject loses every line break and control character, so
// nothing can add a header. A value is put in once: "{{" inside a lead's
// data is kept as it is.
func Render(t store.Template, d MergeData, urls URLs) (Rendered, error) {
	if urls == nil {
		return Rendered{}, errors.New("render: no URLs")
	}
	r := &renderer{t: t, d: d, urls: urls, unsubscribe: urls.Unsubscribe(), index: map[string]int{}}
	out := Rendered{Subject: r.subject(t.Subject)}
	if strings.TrimSpace(t.HTMLBody) != "" {
		h, err := r.html(t.HTMLBody)
		if err != nil {
			return Rendered{}, fmt.Errorf("render html: %w", err)
		}
		out.HTML = h
	}
	text := t.TextBody
	if strings.TrimSpace(text) == "" && out.HTML != "" {
		// A multipart email reads better, and spam filters like it more,
		// with a text part; derive one from the template, not from the
		// rendered HTML, so that its links and fields go through the same
		// path as a written text body.
		derived, err := htmlToText(t.HTMLBody)
		if err != nil {
			return Rendered{}, fmt.Errorf("render text: %w", err)
		}
		text = derived
	}
	out.Text = r.text(text)
	out.Links = r.links
	if out.Links == nil {
		out.Links = []string{}
	}
	return out, nil
}

// renderer holds one message's rendering state: the links collected so far.
type renderer struct {
	t           store.Template
	d           MergeData
	urls        URLs
	unsubscribe string
	links       []string
	index       map[string]int
	// used are the fields the HTML body uses.
	used map[string]bool
}

// value is a merge field's value: the data's, else the template's default,
// else the field's inline fallback, else "".
func (r *renderer) value(f mergeRef) string {
	if v := r.d.field(f.Name, r.unsubscribe); strings.TrimSpace(v) != "" {
		return v
	}
	if v := r.t.Defaults[f.Name]; strings.TrimSpace(v) != "" {
		return v
	}
	return f.Fallback
}

// field is the data's value of a merge field.
func (d MergeData) field(name, unsubscribeURL string) string {
	if v, ok := d.Extra[name]; ok {
		return v
	}
	l := d.Lead
	switch name {
	case "first_name":
		return l.FirstName
	case "last_name":
		return l.LastName
	case "full_name":
		return strings.TrimSpace(l.FirstName + " " + l.LastName)
	case "email":
		return l.Email
	case "company":
		return l.Company
	case "title":
		return l.Title
	case "city":
		return l.City
	case "state":
		return l.State
	case "country":
		return l.Country
	case "primary_interest":
		return l.PrimaryInterest
	case "lead_source":
		return l.LeadSource
	case "sender_name":
		return d.Workspace.SenderName
	case fieldPostalAddress:
		return d.Workspace.PostalAddress
	case fieldUnsubscribeURL:
		return unsubscribeURL
	}
	if key, ok := strings.CutPrefix(name, "custom."); ok {
		return l.Custom[key]
	}
	return ""
}

// link returns the click URL for u, giving each distinct URL one index.
func (r *renderer) link(u string) string {
	i, ok := r.index[u]
	if !ok {
		i = len(r.links)
		r.links = append(r.links, u)
		r.index[u] = i
	}
	return r.urls.Click(i, u)
}

// trackable returns the URL an href should be tracked as, or "" to leave it:
// only absolute http(s) links, never the unsubscribe link (it must work
// without a redirect, and RFC 8058 clients post to it).
func (r *renderer) trackable(href string) string {
	href = strings.TrimSpace(href)
	if href == "" || href == r.unsubscribe {
		return ""
	}
	u, err := url.Parse(href)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return href
}

// subject fills the subject line. Values and the result lose line breaks
// and control characters: a subject is a header, and a line break in it
// would start another.
func (r *renderer) subject(s string) string {
	parts, _ := parseMerge(s)
	out := expandMerge(parts, func(f mergeRef) string { return oneLine(r.value(f)) })
	return oneLine(out)
}

// oneLine turns line breaks and tabs into spaces, drops other control and
// format characters, and collapses runs of spaces.
func oneLine(s string) string {
	var b strings.Builder
	space := false
	for _, c := range s {
		switch {
		case c == '\r' || c == '\n' || c == '\t' || c == '\u2028' || c == '\u2029' || c == '\u0085' || unicode.IsSpace(c):
			c = ' '
		case unicode.IsControl(c) || unicode.Is(unicode.Cf, c):
			continue
		}
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(c)
	}
	return strings.TrimSpace(b.String())
}

// bodyValue drops control characters other than line breaks and tabs from a
// value put in a body.
func bodyValue(s string) string {
	return strings.Map(func(c rune) rune {
		if c != '\n' && c != '\t' && unicode.IsControl(c) {
			return -1
		}
		if c == '\r' {
			return -1
		}
		return c
	}, s)
}

// text fills a text body, tracks its links and adds the footer it lacks.
func (r *renderer) text(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	parts, _ := parseMerge(s)
	used := usedFields(parts)
	out, values := expandMergeSpans(parts, func(f mergeRef) string { return bodyValue(r.value(f)) })
	var b strings.Builder
	last := 0
	for _, m := range textURL.FindAllStringIndex(out, -1) {
		b.WriteString(out[last:m[0]])
		last = m[1]
		u, tail := trimURLTail(out[m[0]:m[1]])
		if t := r.trackable(u); t != "" && !overlaps(values, m[0], m[0]+authorityEnd(u)) {
			b.WriteString(r.link(t) + tail)
			continue
		}
		b.WriteString(u + tail)
	}
	b.WriteString(out[last:])
	out = b.String()
	var footer []string
	if !used[fieldPostalAddress] && strings.TrimSpace(r.d.Workspace.PostalAddress) != "" {
		footer = append(footer, strings.TrimSpace(bodyValue(r.d.Workspace.PostalAddress)))
	}
	if !used[fieldUnsubscribeURL] {
		footer = append(footer, "Unsubscribe: "+r.unsubscribe)
	}
	if len(footer) > 0 {
		out = strings.TrimRight(out, "\n") + "\n\n--\n" + strings.Join(footer, "\n") + "\n"
	}
	return out
}

// textURL finds the http(s) URLs of a text body.
var textURL = regexp.MustCompile("(?i)https?://[^\\s<>\"'`]+")

// trimURLTail splits the punctuation that ends a sentence rather than the
// URL off a URL found in text.
func trimURLTail(u string) (string, string) {
	end := len(u)
	for end > 0 {
		c := u[end-1]
		if strings.IndexByte(".,;:!?", c) >= 0 || (c == ')' && !strings.Contains(u[:end-1], "(")) {
			end--
			continue
		}
		break
	}
	return u[:end], u[end:]
}

// rawTextElements are written out by the HTML writer without escaping, so
// a value put in them must not be able to close them.
var rawTextElements = map[string]bool{
	"iframe": true, "noembed": true, "noframes": true, "noscript": true,
	"plaintext": true, "script": true, "style": true, "xmp": true,
}

// urlAttributes hold URLs: a value put in them must not make a link that
// runs script.
var urlAttributes = map[string]bool{
	"href": true, "src": true, "action": true, "background": true, "cite": true,
	"formaction": true, "poster": true, "longdesc": true, "usemap": true,
}

// scriptSafe drops what could let a value break out of script, style or an
// event handler: the HTML writer does not escape there, or the browser
// unescapes before running it.
func scriptSafe(s string) string {
	return strings.Map(func(c rune) rune {
		if strings.ContainsRune("<>&\"'`\\;(){}:", c) || unicode.IsControl(c) {
			return -1
		}
		return c
	}, s)
}

// isFullDocument tells an HTML document from a fragment, so that a fragment
// is not wrapped in html, head and body when written out again.
func isFullDocument(src string) bool {
	head := strings.ToLower(src[:min(len(src), 4096)])
	return strings.Contains(head, "<html") || strings.Contains(head, "<body") || strings.Contains(head, "<!doctype")
}

// parseHTML parses a template body as a document or a fragment. It returns
// the top nodes and the node the footer and pixel go into (nil: at the end
// of the top nodes).
func parseHTML(src string) (top []*html.Node, body *html.Node, err error) {
	if isFullDocument(src) {
		doc, err := html.Parse(strings.NewReader(src))
		if err != nil {
			return nil, nil, err
		}
		return []*html.Node{doc}, findElement(doc, atom.Body), nil
	}
	ctx := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(src), ctx)
	return nodes, nil, err
}

// findElement returns the first element of kind a under n.
func findElement(n *html.Node, a atom.Atom) *html.Node {
	if n.Type == html.ElementNode && n.DataAtom == a {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if found := findElement(c, a); found != nil {
			return found
		}
	}
	return nil
}

// html fills an HTML body, tracks its links, adds the footer it lacks and
// the open pixel.
func (r *renderer) html(src string) (string, error) {
	top, body, err := parseHTML(src)
	if err != nil {
		return "", err
	}
	r.used = map[string]bool{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			if n.Parent != nil && n.Parent.Type == html.ElementNode && rawTextElements[n.Parent.Data] {
				n.Data = r.fill(n.Data, scriptSafe)
			} else {
				n.Data = r.fill(n.Data, bodyValue)
			}
		case html.ElementNode:
			link := n.DataAtom == atom.A || n.DataAtom == atom.Area
			for i := range n.Attr {
				a := &n.Attr[i]
				authored := templateAuthority(a.Val)
				a.Val = r.attribute(a.Key, a.Val)
				if link && authored && a.Namespace == "" && a.Key == "href" {
					if u := r.trackable(a.Val); u != "" {
						a.Val = r.link(u)
					}
				}
			}
		}
		// Comments are left alone: nothing shows them, and a value put
		// in one could close it.
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range top {
		walk(n)
	}
	var extra []*html.Node
	if f := r.htmlFooter(!r.used[fieldPostalAddress], !r.used[fieldUnsubscribeURL]); f != nil {
		extra = append(extra, f)
	}
	extra = append(extra, element(atom.Img, "src", r.urls.Open(), "width", "1", "height", "1", "alt", ""))
	for _, n := range extra {
		if body != nil {
			body.AppendChild(n)
		} else {
			top = append(top, n)
		}
	}
	var b strings.Builder
	for _, n := range top {
		if err := html.Render(&b, n); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// attribute fills one attribute's merge fields. A URL attribute takes a
// value at its start as a URL, whose scheme must then be a web or mail one,
// and a value further on escaped as a part of the URL; script and style
// attributes take values stripped of what could break out of them.
func (r *renderer) attribute(key, val string) string {
	if !strings.Contains(val, "{{") {
		return val
	}
	key = strings.ToLower(key)
	switch {
	case urlAttributes[key]:
		parts, _ := parseMerge(val)
		r.note(parts)
		var b strings.Builder
		for _, p := range parts {
			if p.field == nil {
				b.WriteString(p.text)
				continue
			}
			v := bodyValue(r.value(*p.field))
			if prefix := b.String(); strings.TrimSpace(prefix) != "" {
				// Inside a URL a value is one part of it: it must not add
				// a path, a query or another host.
				if strings.ContainsAny(prefix, "?#") {
					v = url.QueryEscape(v)
				} else {
					v = url.PathEscape(v)
				}
			}
			b.WriteString(v)
		}
		out := strings.TrimSpace(b.String())
		if !safeURL(out) {
			return "#"
		}
		return out
	case key == "style" || strings.HasPrefix(key, "on"):
		return r.fill(val, scriptSafe)
	}
	return r.fill(val, bodyValue)
}

// fill fills the merge fields of s, each value passed through enc, and notes
// which fields the body uses.
func (r *renderer) fill(s string, enc func(string) string) string {
	parts, _ := parseMerge(s)
	r.note(parts)
	return expandMerge(parts, func(f mergeRef) string { return enc(r.value(f)) })
}

// note records the fields parts use.
func (r *renderer) note(parts []mergePart) {
	for _, p := range parts {
		if p.field != nil {
			r.used[p.field.Name] = true
		}
	}
}

// safeURL accepts relative URLs and http, https, mailto and tel ones: a
// link a value made can never run script.
func safeURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "", "http", "https", "mailto", "tel":
		return true
	}
	return false
}

// htmlFooter is the compliance footer of an HTML body: what it lacks of the
// postal address and the unsubscribe link; nil when it lacks neither.
func (r *renderer) htmlFooter(postal, unsubscribe bool) *html.Node {
	address := strings.TrimSpace(bodyValue(r.d.Workspace.PostalAddress))
	if address == "" {
		postal = false
	}
	if !postal && !unsubscribe {
		return nil
	}
	div := element(atom.Div, "style", "margin-top:24px;font-size:12px;line-height:1.5;color:#666666")
	if postal {
		p := element(atom.P, "style", "margin:0")
		for i, line := range strings.Split(address, "\n") {
			if i > 0 {
				p.AppendChild(element(atom.Br))
			}
			p.AppendChild(&html.Node{Type: html.TextNode, Data: strings.TrimSpace(line)})
		}
		div.AppendChild(p)
	}
	if unsubscribe {
		p := element(atom.P, "style", "margin:0")
		a := element(atom.A, "href", r.unsubscribe, "style", "color:#666666")
		a.AppendChild(&html.Node{Type: html.TextNode, Data: "Unsubscribe"})
		p.AppendChild(a)
		div.AppendChild(p)
	}
	return div
}

// element makes an element with attributes given as name, value pairs.
func element(a atom.Atom, attrs ...string) *html.Node {
	n := &html.Node{Type: html.ElementNode, Data: a.String(), DataAtom: a}
	for i := 0; i+1 < len(attrs); i += 2 {
		n.Attr = append(n.Attr, html.Attribute{Key: attrs[i], Val: attrs[i+1]})
	}
	return n
}

// htmlToText derives a text body from an HTML template, merge fields left
// in place: paragraphs and line breaks kept, a link's URL written after its
// text.
func htmlToText(src string) (string, error) {
	top, _, err := parseHTML(src)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(collapseSpace(n.Data))
			return
		case html.ElementNode:
			switch n.DataAtom {
			case atom.Head, atom.Script, atom.Style, atom.Title, atom.Template, atom.Noscript:
				return
			case atom.Br:
				b.WriteString("\n")
				return
			case atom.Hr:
				b.WriteString("\n\n")
				return
			case atom.Img:
				for _, a := range n.Attr {
					if a.Key == "alt" && strings.TrimSpace(a.Val) != "" {
						b.WriteString(collapseSpace(a.Val))
					}
				}
				return
			case atom.Li:
				b.WriteString("\n- ")
			case atom.P, atom.Div, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
				atom.Table, atom.Tr, atom.Ul, atom.Ol, atom.Blockquote, atom.Section,
				atom.Article, atom.Header, atom.Footer, atom.Center, atom.Pre:
				b.WriteString("\n\n")
			case atom.Td, atom.Th:
				b.WriteString(" ")
			}
		}
		start := b.Len()
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if n.Type == html.ElementNode && n.DataAtom == atom.A {
			for _, a := range n.Attr {
				if a.Key != "href" {
					continue
				}
				href := strings.TrimSpace(a.Val)
				shown := strings.TrimSpace(b.String()[start:])
				if href != "" && !strings.HasPrefix(href, "#") && href != shown {
					b.WriteString(" (" + href + ")")
				}
			}
		}
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.P, atom.Div, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
				atom.Table, atom.Ul, atom.Ol, atom.Blockquote:
				b.WriteString("\n\n")
			case atom.Tr:
				b.WriteString("\n")
			}
		}
	}
	for _, n := range top {
		walk(n)
	}
	return tidyText(b.String()), nil
}

// collapseSpace folds HTML's runs of white space into one space.
func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, c := range s {
		if unicode.IsSpace(c) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(c)
	}
	return b.String()
}

// tidyText trims each line and keeps at most one blank line in a row.
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	var out []string
	blank := 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			blank++
			if blank > 1 || len(out) == 0 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n"
}

// mergeRef is one {{name}} or {{name|fallback}} in a template.
type mergeRef struct {
	Name        string
	Fallback    string
	HasFallback bool
}

// mergePart is a piece of template text: literal text, or a merge field.
type mergePart struct {
	text  string
	field *mergeRef
}

// mergeSyntaxError is a "{{" that does not start a well-formed merge field.
type mergeSyntaxError struct {
	Line int
	Msg  string
}

func (e *mergeSyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// mergeName is what a merge field's name looks like.
var mergeName = regexp.MustCompile(`^(?:[a-z][a-z0-9_]*|custom\.[A-Za-z0-9_.\-]+)$`)

// parseMerge splits s into literal text and merge fields. At the first
// malformed field it stops with an error, the rest of s kept as literal
// text, so rendering can go on with what it has.
func parseMerge(s string) ([]mergePart, error) {
	var parts []mergePart
	rest, offset := s, 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i+2:], "}}")
		line := strings.Count(s[:offset+i], "\n") + 1
		if j < 0 {
			parts = append(parts, mergePart{text: rest})
			return parts, &mergeSyntaxError{Line: line, Msg: "\"{{\" is not closed by \"}}\""}
		}
		inner := rest[i+2 : i+2+j]
		name, fallback, hasFallback := strings.Cut(inner, "|")
		name = strings.TrimSpace(name)
		if !mergeName.MatchString(name) {
			parts = append(parts, mergePart{text: rest})
			shown := inner
			if len(shown) > 40 {
				shown = shown[:40] + "..."
			}
			return parts, &mergeSyntaxError{Line: line, Msg: fmt.Sprintf("{{%s}} is not a merge field: write {{name}} or {{name|fallback}}", shown)}
		}
		if i > 0 {
			parts = append(parts, mergePart{text: rest[:i]})
		}
		parts = append(parts, mergePart{field: &mergeRef{Name: name, Fallback: fallback, HasFallback: hasFallback}})
		rest = rest[i+2+j+2:]
		offset += i + 2 + j + 2
	}
	if rest != "" {
		parts = append(parts, mergePart{text: rest})
	}
	return parts, nil
}

// expandMerge writes parts out with each field replaced by value(field).
// Values are written once and never parsed again.
func expandMerge(parts []mergePart, value func(mergeRef) string) string {
	var b strings.Builder
	for _, p := range parts {
		if p.field == nil {
			b.WriteString(p.text)
		} else {
			b.WriteString(value(*p.field))
		}
	}
	return b.String()
}

// expandMergeSpans is expandMerge that also says where in the result each
// value was written, as [start, end) byte offsets.
func expandMergeSpans(parts []mergePart, value func(mergeRef) string) (string, [][2]int) {
	var (
		b     strings.Builder
		spans [][2]int
	)
	for _, p := range parts {
		if p.field == nil {
			b.WriteString(p.text)
			continue
		}
		start := b.Len()
		b.WriteString(value(*p.field))
		if b.Len() > start {
			spans = append(spans, [2]int{start, b.Len()})
		}
	}
	return b.String(), spans
}

// overlaps reports whether any span meets [start, end).
func overlaps(spans [][2]int, start, end int) bool {
	for _, s := range spans {
		if s[0] < end && start < s[1] {
			return true
		}
	}
	return false
}

// authorityEnd is the offset in an absolute URL where its scheme and host
// (and any user info and port) end: at the first "/", "?" or "#" after
// "://", or the URL's end.
func authorityEnd(u string) int {
	i := strings.Index(u, "://")
	if i < 0 {
		return len(u)
	}
	if j := strings.IndexAny(u[i+3:], "/?#\\"); j >= 0 {
		return i + 3 + j
	}
	return len(u)
}

// templateAuthority reports whether an attribute's template text, before
// its merge fields are filled, fixes the URL's scheme and host itself: no
// merge field at all, or the first one only after the host has ended.
func templateAuthority(val string) bool {
	i := strings.Index(val, "{{")
	if i < 0 {
		return true
	}
	prefix := strings.TrimSpace(val[:i])
	return strings.Contains(prefix, "://") && authorityEnd(prefix) < len(prefix)
}

// usedFields is the set of field names parts use.
func usedFields(parts []mergePart) map[string]bool {
	used := map[string]bool{}
	for _, p := range parts {
		if p.field != nil {
			used[p.field.Name] = true
		}
	}
	return used
}
