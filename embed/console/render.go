package console

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"leadflow/store"
)

// csp allows the console's own script and stylesheet only: no inline
// script, no inline style, no framing, forms post to this site alone.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var (
	//go:embed templates/layout.html
	layoutHTML string
	//go:embed templates/login.html
	loginHTML string
	//go:embed templates/link_request.html
	linkRequestHTML string
	//go:embed templates/link.html
	linkHTML string
	//go:embed templates/reset.html
	resetHTML string
	//go:embed templates/message.html
	messageHTML string
	//go:embed templates/home.html
	homeHTML string
	//go:embed templates/people.html
	peopleHTML string
)

// pages are the parsed templates, each the layout plus one page.
type pages struct {
	login, linkRequest, link, reset, message, home, people *template.Template
	apiKeys                                                *template.Template
}

// funcs are the helpers every page may call.
var funcs = template.FuncMap{"roleLabel": roleLabel}

// Page parses a page's template (which defines "content") into a copy of
// the console's layout: how every console page, of any domain, is made.
func Page(name, src string) (*template.Template, error) {
	t, err := template.New(name).Funcs(funcs).Parse(layoutHTML)
	if err != nil {
		return nil, fmt.Errorf("console: parse layout: %w", err)
	}
	if _, err := t.Parse(src); err != nil {
		return nil, fmt.Errorf("console: parse %s: %w", name, err)
	}
	return t, nil
}

func parsePages() (pages, error) {
	var p pages
	var errs []error
	parse := func(name, src string) *template.Template {
		t, err := Page(name, src)
		if err != nil {
			errs = append(errs, err)
		}
		return t
	}
	p.login = parse("login", loginHTML)
	p.linkRequest = parse("link_request", linkRequestHTML)
	p.link = parse("link", linkHTML)
	p.reset = parse("reset", resetHTML)
	p.message = parse("message", messageHTML)
	p.home = parse("home", homeHTML)
	p.people = parse("people", peopleHTML)
	p.apiKeys = parse("apikeys", apiKeysHTML)
	if len(errs) > 0 {
		return pages{}, errs[0]
	}
	return p, nil
}

// navItem is a page in the navigation, shown to the roles that may use it
// (every role when Roles is empty; admins see everything).
type navItem struct {
	Label, Path string
	Roles       []string
}

type navLink struct {
	Label, Path string
	Current     bool
}

// view is what the layout renders around a page's Data.
type view struct {
	Title               string
	Person              *store.Person
	Nav                 []navLink
	CSRF                string
	StyleURL, ScriptURL string
	Data                any
}

// Render answers with page inside the layout: the navigation for the
// signed-in person's role, their CSRF token for the page's forms, and the
// console's security headers. The page is rendered fully before anything
// is written, so a template error is a clean 500.
func (c *Console) Render(ec echo.Context, status int, page *template.Template, title string, data any) error {
	v := view{Title: title, StyleURL: c.style.path, ScriptURL: c.script.path, Data: data}
	if p, ok := SignedIn(ec); ok {
		v.Person = &p
		v.CSRF = csrfToken(ec)
		path := ec.Request().URL.Path
		for _, it := range c.navItems {
			if allowed(p.Role, it.Roles) {
				v.Nav = append(v.Nav, navLink{Label: it.Label, Path: it.Path,
					Current: path == it.Path || (it.Path != homePath && strings.HasPrefix(path, it.Path+"/"))})
			}
		}
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		return fmt.Errorf("render %s: %w", page.Name(), err)
	}
	h := ec.Response().Header()
	if framesSelf, _ := ec.Get(selfFramesKey).(bool); framesSelf {
		h.Set("Content-Security-Policy", csp+"; frame-src 'self'")
	} else {
		h.Set("Content-Security-Policy", csp)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// One-time links carry their token in the path: never send it to
	// another site.
	h.Set("Referrer-Policy", "same-origin")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	return ec.HTMLBlob(status, buf.Bytes())
}

const selfFramesKey = "console_self_frames"

// AllowSelfFrames lets the page being rendered frame this site's own pages
// (a preview of a hosted form page); every other page frames nothing.
func AllowSelfFrames(ec echo.Context) { ec.Set(selfFramesKey, true) }

// message is what message.html shows.
type message struct {
	Heading, Text  string
	Link, LinkText string
	Alert          bool
}

func (c *Console) renderMessage(ec echo.Context, status int, m message) error {
	return c.Render(ec, status, c.pages.message, m.Heading, m)
}

// renderError answers a refusal as a page a person can read.
func (c *Console) renderError(ec echo.Context, status int, text string) error {
	m := message{Heading: fmt.Sprintf("%d %s", status, http.StatusText(status)), Text: text, Alert: true}
	if _, ok := SignedIn(ec); ok {
		m.Link, m.LinkText = homePath, "Go to your home page"
	} else {
		m.Link, m.LinkText = "/login", "Sign in"
	}
	return c.renderMessage(ec, status, m)
}

// roles are the roles a person can have, as people read them.
var roles = []struct{ Value, Label string }{
	{store.UserAdmin, "Admin"},
	{store.UserMarketing, "Marketing"},
	{store.UserSalesRep, "Sales rep"},
	{store.UserSalesManager, "Sales manager"},
	{store.UserSalesAdmin, "Sales admin"},
}

func roleLabel(role string) string {
	for _, r := range roles {
		if r.Value == role {
			return r.Label
		}
	}
	return role
}

func validRole(role string) bool {
	for _, r := range roles {
		if r.Value == role {
			return true
		}
	}
	return false
}

// RenderError answers a refusal (403, 404, 409...) as a page a person can
// read, in the layout: how other domains' pages refuse.
func (c *Console) RenderError(ec echo.Context, status int, text string) error {
	return c.renderError(ec, status, text)
}
