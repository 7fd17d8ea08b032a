package qualify

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/url"

	"github.com/labstack/echo/v4"

	"leadflow/embed/console"
	"leadflow/store"
)

//go:embed templates/console
var consoleTemplates embed.FS

// adminPages are marketing's and the admin's console pages: their home,
// the funnel, scoring, criteria, teams, assignment and webhooks. They call
// the engine methods the API handlers call.
type adminPages struct {
	con    *console.Console
	engine *Engine
	store  *store.Store
	tmpl   map[string]*template.Template
}

// AdminConsoleRoutes registers marketing's and the admin's pages on g (the
// console's signed-in, CSRF-checked group), and each role's home. Roles are
// the API's: the funnel is for marketing and sales, scoring and criteria
// for marketing, teams, assignment and webhooks for admins.
func AdminConsoleRoutes(g *echo.Group, con *console.Console, engine *Engine) error {
	p := &adminPages{con: con, engine: engine, store: engine.cfg.Store, tmpl: map[string]*template.Template{}}
	var errs []error
	for _, name := range []string{"funnel", "home", "scoring", "criteria", "criteria_version", "webhooks", "teams", "team", "assignment"} {
		t, err := adminPage(name)
		p.tmpl[name] = t
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("qualify pages: %w", err)
	}
	people := con.Require(store.UserMarketing, store.UserSalesRep, store.UserSalesManager, store.UserSalesAdmin)
	marketing := con.Require(store.UserMarketing)
	admin := con.Require(store.UserAdmin)

	// Each role's home (/console/): marketing and admins see today's intake
	// and the funnel; sales land on their handoffs.
	con.Home(p.home, store.UserMarketing, store.UserAdmin)
	con.Home(console.SeeOther("/console/handoffs"), store.UserSalesRep, store.UserSalesManager, store.UserSalesAdmin)

	// The funnel, for marketing and sales alike.
	g.GET("/funnel", p.funnel, people)

	// Scoring rules and grades, and recomputing every lead with them.
	g.GET("/scoring", p.scoring, marketing)
	g.POST("/scoring", p.putScoring, marketing)
	g.POST("/scoring/recompute", p.recompute, marketing)

	// Criteria versions: their differences, trying one on a lead,
	// activation.
	g.GET("/criteria", p.criteriaList, marketing)
	g.GET("/criteria/:id", p.criteriaVersion, marketing)
	g.POST("/criteria/:id/activate", p.activateCriteria, marketing)

	// Webhooks, teams and assignment: admins only.
	g.GET("/teams", p.teams, admin)
	g.POST("/teams", p.createTeam, admin)
	g.GET("/teams/:id", p.team, admin)
	g.POST("/teams/:id", p.updateTeam, admin)
	g.GET("/assignment", p.assignment, admin)
	g.POST("/assignment", p.putAssignment, admin)
	g.GET("/webhooks", p.webhooks, admin)
	g.POST("/webhooks", p.createWebhook, admin)
	g.POST("/webhooks/:id/delete", p.deleteWebhook, admin)
	return nil
}

// funnelPages are the pages that draw the funnel with its partial.
var funnelPages = map[string]bool{"funnel": true, "home": true}

// adminPage parses a page's template into the console's layout, with the
// funnel's partial on the pages that draw it.
func adminPage(name string) (*template.Template, error) {
	src, err := consoleTemplates.ReadFile("templates/console/" + name + ".html")
	if err != nil {
		return nil, err
	}
	t, err := console.Page(name, string(src))
	if err != nil || !funnelPages[name] {
		return t, err
	}
	partial, err := consoleTemplates.ReadFile("templates/console/funnel_report.html")
	if err == nil {
		_, err = t.Parse(string(partial))
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s with the funnel: %w", name, err)
	}
	return t, nil
}

// fieldErrors are a domain error's messages by field, or nil when err is
// no validation error.
func fieldErrors(err error) map[string]string {
	var v interface{ FieldErrors() map[string]string }
	if errors.As(err, &v) {
		return v.FieldErrors()
	}
	return nil
}

// pageQuery is a list page's query: its filter (when set) and the cursor
// of the next page.
func pageQuery(filter, value, cursor string) string {
	q := url.Values{"cursor": {cursor}}
	if value != "" {
		q.Set(filter, value)
	}
	return q.Encode()
}
