package embed

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"golang.org/x/net/html"

	"leadflow/embed/httpapi"
	"leadflow/store"
	"leadflow/store/storetest"
)

const testBaseURL = "https://leads.example.com"

type testBundle struct {
	st   *store.Store
	site *Site
	// public serves the routes browsers reach without a key.
	public *echo.Echo
	ws     uuid.UUID
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	st := storetest.NewStore(t)
	site, err := New(Config{Store: st, BaseURL: testBaseURL + "/"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e := echo.New()
	site.Routes(e)
	return &testBundle{st: st, site: site, public: e, ws: insertWorkspace(t, st, "acme")}
}

// api serves the admin routes as if p had authenticated, with an error
// handler mapping errors the way the application's does.
func (b *testBundle) api(p httpapi.Principal) *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var he *echo.HTTPError
		switch {
		case errors.Is(err, store.ErrNotFound):
			_ = c.JSON(http.StatusNotFound, map[string]string{"code": "not_found", "message": "not found"})
		case errors.As(err, &he):
			_ = c.JSON(he.Code, map[string]string{"code": "http_error", "message": http.StatusText(he.Code)})
		default:
			_ = c.JSON(http.StatusInternalServerError, map[string]string{"code": "internal", "message": err.Error()})
		}
	}
	g := e.Group("/api/v1", func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.SetRequest(c.Request().WithContext(httpapi.WithPrincipal(c.Request().Context(), p)))
			return next(c)
		}
	})
	b.site.APIRoutes(g, func(roles ...store.Role) echo.MiddlewareFunc {
		return func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				got, _ := httpapi.PrincipalFrom(c.Request().Context())
				if !slices.Contains(roles, got.Role) {
					return echo.ErrForbidden
				}
				return next(c)
			}
		}
	})
	return e
}

func insertWorkspace(t *testing.T, st *store.Store, name string) uuid.UUID {
	t.Helper()
	id := store.NewID()
	if _, err := st.Pool.Exec(context.Background(), `INSERT INTO workspaces (id, name) VALUES ($1, $2)`, id, name); err != nil {
		t.Fatalf("insert workspace: %v", err)
	}
	return id
}

func insertEvent(t *testing.T, st *store.Store, ws uuid.UUID, name string, startsAt time.Time) uuid.UUID {
	t.Helper()
	id := store.NewID()
	if _, err := st.Pool.Exec(context.Background(),
		`INSERT INTO events (id, workspace_id, name, starts_at) VALUES ($1, $2, $3, $4)`, id, ws, name, startsAt); err != nil {
		t.Fatalf("insert event: %v", err)
	}
	return id
}

// insertForm stores a contact-us form of workspace ws, changed by opts.
func insertForm(t *testing.T, st *store.Store, ws uuid.UUID, opts ...func(*store.Form)) store.Form {
	t.Helper()
	f := store.Form{
		ID:            store.NewID(),
		WorkspaceID:   ws,
		Key:           "k" + strings.ReplaceAll(store.NewID().String(), "-", "")[:20],
		Name:          "Talk to sales",
		Kind:          store.FormContactUs,
		HoneypotField: "website_url",
		ConsentText:   "Send me product news. I can unsubscribe at any time.",
	}
	for _, o := range opts {
		o(&f)
	}
	_, err := st.Pool.Exec(context.Background(), `
		INSERT INTO forms (id, workspace_id, key, name, kind, allowed_origins, allowed_return_urls,
			thank_you_url, honeypot_field, event_id, campaign, consent_text)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		f.ID, f.WorkspaceID, f.Key, f.Name, f.Kind, nonNil(f.AllowedOrigins), nonNil(f.AllowedReturnURLs),
		f.ThankYouURL, f.HoneypotField, f.EventID, f.Campaign, f.ConsentText)
	if err != nil {
		t.Fatalf("insert form: %v", err)
	}
	return f
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func get(t *testing.T, h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func parseHTML(t *testing.T, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("parse html: %v", err)
	}
	return doc
}

// elements lists n's descendant elements named tag ("" for all), in
// document order.
func elements(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && (tag == "" || d.Data == tag) {
			out = append(out, d)
		}
	}
	return out
}

func attr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

func attrOr(n *html.Node, name string) string {
	v, _ := attr(n, name)
	return v
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

// onlyForm is the document's single form.
func onlyForm(t *testing.T, doc *html.Node) *html.Node {
	t.Helper()
	forms := elements(doc, "form")
	if len(forms) != 1 {
		t.Fatalf("got %d forms, want 1", len(forms))
	}
	return forms[0]
}

// control is a named form control as a browser would post it.
type control struct {
	Tag, Type, Name, Value string
}

// controls lists the form's named controls in document order.
func controls(form *html.Node) []control {
	var out []control
	for _, n := range elements(form, "") {
		if n.Data != "input" && n.Data != "textarea" && n.Data != "select" {
			continue
		}
		if name, ok := attr(n, "name"); ok {
			out = append(out, control{Tag: n.Data, Type: attrOr(n, "type"), Name: name, Value: attrOr(n, "value")})
		}
	}
	return out
}

func TestNewChecksConfig(t *testing.T) {
	t.Parallel()
	st := &store.Store{}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no store", Config{BaseURL: testBaseURL}},
		{"no base url", Config{Store: st}},
		{"relative base url", Config{Store: st, BaseURL: "leads.example.com"}},
		{"not http", Config{Store: st, BaseURL: "ftp://leads.example.com"}},
		{"query", Config{Store: st, BaseURL: "https://leads.example.com/?a=b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New(tt.cfg); err == nil {
				t.Errorf("New(%+v) = nil error, want one", tt.cfg)
			}
		})
	}
}
