package embed

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"leadflow/store"
)

// pageView is what page.html renders.
type pageView struct {
	Title string
	// EventName and EventStarts describe what an event-registration form
	// registers for.
	EventName   string
	EventStarts *time.Time
	Form        formView
	ScriptURL   string
	StyleURL    string
}

// formPage is the hosted form page, GET /f/{key}: the form a marketer can
// link to without a website of their own. It posts to the same URL.
func (s *Site) formPage(c echo.Context) error {
	key := c.Param("key")
	if !validFormKey(key) {
		return s.notFound(c)
	}
	ctx := c.Request().Context()
	f, err := s.store.FormByKey(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return s.notFound(c)
	}
	if err != nil {
		return fmt.Errorf("hosted form page: %w", err)
	}
	v := pageView{
		Title:     pageTitle(f),
		Form:      newFormView(f, s.basePath+"/f/"+f.Key),
		ScriptURL: s.basePath + s.script.path,
		StyleURL:  s.basePath + s.style.path,
	}
	v.Form.LabelledBy = "lf-title"
	v.Form.Hidden = append(v.Form.Hidden, utmHidden(c.QueryParams())...)
	if f.EventID != nil {
		ev, err := s.store.GetEvent(ctx, f.WorkspaceID, *f.EventID)
		switch {
		case err == nil:
			v.EventName, v.EventStarts = ev.Name, ev.StartsAt
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("hosted form page: %w", err)
		}
	}
	h := c.Response().Header()
	setPageHeaders(h, s.formCSP(f))
	if len(f.AllowedOrigins) == 0 {
		// For browsers that predate frame-ancestors.
		h.Set("X-Frame-Options", "SAMEORIGIN")
	}
	return render(c, http.StatusOK, s.pages.form, v)
}

// notFound answers an unknown form key with a page a person can read.
func (s *Site) notFound(c echo.Context) error {
	setPageHeaders(c.Response().Header(),
		"default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
	return render(c, http.StatusNotFound, s.pages.notFound, struct{ StyleURL string }{s.basePath + s.style.path})
}

func pageTitle(f store.Form) string {
	switch {
	case f.Name != "":
		return f.Name
	case f.Kind == store.FormEventRegistration:
		return "Register"
	default:
		return "Contact us"
	}
}

// formCSP is the hosted page's Content-Security-Policy: only leadflow's own
// script and style; posting to leadflow and to where it redirects after a
// post (form-action also governs that redirect); framed only by the form's
// allowed origins and leadflow itself (the console's preview).
func (s *Site) formCSP(f store.Form) string {
	ancestors := []string{"'self'"}
	for _, o := range f.AllowedOrigins {
		ancestors = s.addSource(ancestors, f, o)
	}
	actions := []string{"'self'"}
	for _, u := range append([]string{f.ThankYouURL}, f.AllowedReturnURLs...) {
		if u != "" {
			actions = s.addSource(actions, f, u)
		}
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"connect-src 'self'",
		"form-action " + strings.Join(actions, " "),
		"frame-ancestors " + strings.Join(ancestors, " "),
		"base-uri 'none'",
	}, "; ")
}

// addSource adds raw's origin to a CSP source list. Configured values reach
// a response header, so anything that is not plainly an origin is left out
// rather than risk injecting a directive.
func (s *Site) addSource(list []string, f store.Form, raw string) []string {
	src, ok := cspOrigin(raw)
	if !ok {
		s.log.Debug("csp_source_ignored", "form_id", f.ID, "value", raw)
		return list
	}
	if slices.Contains(list, src) {
		return list
	}
	return append(list, src)
}

// cspOrigin is the scheme://host[:port] of an http(s) URL, the host possibly
// starting with a "*." wildcard as CSP allows.
func cspOrigin(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return "", false
	}
	host := strings.ToLower(u.Host)
	name := strings.TrimPrefix(host, "*.")
	if port := u.Port(); port != "" {
		name = strings.TrimSuffix(name, ":"+port)
		if !allBytes(port, func(b byte) bool { return b >= '0' && b <= '9' }) {
			return "", false
		}
	}
	if name == "" || !allBytes(name, func(b byte) bool {
		return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '.'
	}) {
		return "", false
	}
	return u.Scheme + "://" + host, true
}

// validFormKey reports whether key has the shape the schema allows, so
// garbage is answered without a query.
func validFormKey(key string) bool {
	return len(key) >= 3 && len(key) <= 64 && allBytes(key, func(b byte) bool {
		return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_'
	})
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := range len(s) {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// setPageHeaders sets the headers every HTML page carries.
func setPageHeaders(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	// A form's configuration can change at any time; always revalidate.
	h.Set("Cache-Control", "no-cache")
}

// render executes t fully before writing, so a template error is a clean
// 500 rather than half a page.
func render(c echo.Context, status int, t *template.Template, data any) error {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return fmt.Errorf("render %s: %w", t.Name(), err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}
