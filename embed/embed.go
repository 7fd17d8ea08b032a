package embed

import (
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"leadflow/store"
)

var (
	//go:embed assets/leadflow.js
	scriptJS []byte
	//go:embed assets/leadflow.css
	styleCSS []byte
)

// Config is what a Site needs.
type Config struct {
	Store *store.Store
	// BaseURL is where browsers reach leadflow (https://leads.example.com);
	// snippets pasted on other sites point at it.
	BaseURL string
	Logger  *slog.Logger
}

// Site serves the hosted form pages, the embed script and its stylesheet,
// and generates snippets.
type Site struct {
	store *store.Store
	log   *slog.Logger
	// baseURL has no trailing slash; basePath is its path, so pages keep
	// working when leadflow is served under a prefix.
	baseURL  string
	basePath string
	script   asset
	style    asset
	pages    pages
}

// New checks cfg and prepares the assets and templates.
func New(cfg Config) (*Site, error) {
	if cfg.Store == nil {
		return nil, errors.New("embed: store is required")
	}
	base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	pg, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &Site{
		store:    cfg.Store,
		log:      cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
		baseURL:  base.String(),
		basePath: base.Path,
		script:   newAsset("leadflow", "js", "/embed.js", "text/javascript; charset=utf-8", scriptJS),
		style:    newAsset("leadflow", "css", "/embed.css", "text/css; charset=utf-8", styleCSS),
		pages:    pg,
	}, nil
}

// Routes registers the public routes: what browsers load without a key.
func (s *Site) Routes(e *echo.Echo) {
	e.GET("/f/:key", s.formPage)
	e.GET(s.script.path, s.script.serveImmutable)
	e.GET(s.script.stablePath, s.script.serveStable)
	e.GET(s.style.path, s.style.serveImmutable)
	e.GET(s.style.stablePath, s.style.serveStable)
}

// APIRoutes registers the admin routes on g, which is already authenticated;
// require limits a route to roles.
func (s *Site) APIRoutes(g *echo.Group, require func(roles ...store.Role) echo.MiddlewareFunc) {
	g.GET("/forms/:id/snippet", s.snippet, require(store.RoleAdmin, store.RoleMarketing))
	g.GET("/api-keys", s.listAPIKeys, require(store.RoleAdmin))
	g.POST("/api-keys/:id/revoke", s.revokeAPIKey, require(store.RoleAdmin))
}

// ScriptURL is the absolute, content-hashed URL of the embed script.
func (s *Site) ScriptURL() string { return s.baseURL + s.script.path }

// StableScriptURL is the absolute URL of the embed script that keeps its name
// across releases: what a snippet pasted on another site must point at.
func (s *Site) StableScriptURL() string { return s.baseURL + s.script.stablePath }

func parseBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("embed: base url is required")
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("embed: base url %q: want an absolute http(s) URL without query", raw)
	}
	return u, nil
}

// pages are the parsed templates.
type pages struct {
	form, notFound, snippet *template.Template
}

var (
	//go:embed templates/form.html
	formHTML string
	//go:embed templates/page.html
	pageHTML string
	//go:embed templates/notfound.html
	notFoundHTML string
	//go:embed templates/snippet.html
	snippetHTML string
)

func parsePages() (pages, error) {
	var p pages
	var err error
	parse := func(name, src string, withForm bool) *template.Template {
		if err != nil {
			return nil
		}
		t := template.New(name)
		if withForm {
			if _, err = t.New("form.html").Parse(formHTML); err != nil {
				return nil
			}
		}
		t, err = t.Parse(src)
		return t
	}
	p.form = parse("page.html", pageHTML, true)
	p.notFound = parse("notfound.html", notFoundHTML, false)
	p.snippet = parse("snippet.html", snippetHTML, true)
	if err != nil {
		return pages{}, fmt.Errorf("embed: parse templates: %w", err)
	}
	return p, nil
}
