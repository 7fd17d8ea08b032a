package nurture

import (
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/url"

	"github.com/labstack/echo/v4"

	"leadflow/embed/console"
	"leadflow/embed/httpapi"
	"leadflow/store"
)

// PagesConfig is what the nurture console pages need.
type PagesConfig struct {
	Console *console.Console
	// API is the admin API the pages act through: a page saves, validates
	// and changes state with the very methods the API's handlers call.
	API *API
	// Engine records the suppressions the Suppressions page adds.
	Engine *Engine
	Logger *slog.Logger
}

// Pages are the console's nurture pages: templates, sequences, failed work,
// bounces and suppressions.
type Pages struct {
	con   *console.Console
	api   *API
	eng   *Engine
	log   *slog.Logger
	pages nurturePages
}

var (
	//go:embed templates/console/templates.html
	templatesHTML string
	//go:embed templates/console/template_edit.html
	templateEditHTML string
	//go:embed templates/console/sequences.html
	sequencesHTML string
	//go:embed templates/console/sequence_edit.html
	sequenceEditHTML string
	//go:embed templates/console/failed.html
	failedHTML string
	//go:embed templates/console/suppressions.html
	suppressionsHTML string
)

type nurturePages struct {
	templates, templateEdit, sequences, sequenceEdit, failed, suppressions *template.Template
}

// NewPages checks cfg and parses the pages' templates.
func NewPages(cfg PagesConfig) (*Pages, error) {
	if cfg.Console == nil || cfg.API == nil || cfg.Engine == nil {
		return nil, errors.New("nurture pages: Console, API and Engine are required")
	}
	var p nurturePages
	var errs []error
	parse := func(name, src string) *template.Template {
		t, err := console.Page(name, src)
		errs = append(errs, err)
		return t
	}
	p.templates = parse("nurture_templates", templatesHTML)
	p.templateEdit = parse("nurture_template_edit", templateEditHTML)
	p.sequences = parse("nurture_sequences", sequencesHTML)
	p.sequenceEdit = parse("nurture_sequence_edit", sequenceEditHTML)
	p.failed = parse("nurture_failed", failedHTML)
	p.suppressions = parse("nurture_suppressions", suppressionsHTML)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("nurture pages: %w", err)
	}
	return &Pages{con: cfg.Console, api: cfg.API, eng: cfg.Engine,
		log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)), pages: p}, nil
}

// ConsoleRoutes registers the nurture pages on g, the console's signed-in,
// CSRF-checked group. Roles are the API's: marketing (and admins) use
// every page here, as they use every nurture endpoint but the workspace's
// settings.
func ConsoleRoutes(g *echo.Group, p *Pages) {
	marketing := p.con.Require(store.UserMarketing)

	g.GET("/templates", p.listTemplates, marketing)
	g.GET("/templates/new", p.newTemplate, marketing)
	g.POST("/templates/new", p.createTemplate, marketing)
	g.GET("/templates/:id", p.editTemplate, marketing)
	g.POST("/templates/:id", p.saveTemplate, marketing)
	g.POST("/templates/:id/preview", p.previewTemplate, marketing)
	g.POST("/templates/new/preview", p.previewTemplate, marketing)
	g.POST("/templates/:id/preview/html", p.previewHTML, marketing)
	g.POST("/templates/new/preview/html", p.previewHTML, marketing)

	g.GET("/sequences", p.listSequences, marketing)
	g.GET("/sequences/new", p.newSequence, marketing)
	g.POST("/sequences/new", p.saveSequence, marketing)
	g.GET("/sequences/:id", p.editSequence, marketing)
	g.POST("/sequences/:id", p.saveSequence, marketing)
	g.POST("/sequences/:id/activate", p.setSequenceStatus, marketing)
	g.POST("/sequences/:id/pause", p.setSequenceStatus, marketing)
	g.POST("/sequences/:id/resume", p.setSequenceStatus, marketing)
	g.POST("/sequences/:id/enroll", p.enrollLead, marketing)

	g.GET("/nurture/failed", p.listFailed, marketing)
	g.POST("/nurture/failed/enrollments/:id/retry", p.retryEnrollment, marketing)
	g.POST("/nurture/failed/messages/:id/retry", p.retryMessage, marketing)

	g.GET("/suppressions", p.listSuppressions, marketing)
	g.POST("/suppressions", p.addSuppression, marketing)
	g.POST("/suppressions/remove", p.removeSuppression, marketing)
}

// fieldErrors are a domain error's messages by field, or nil when err is
// not a validation error.
func fieldErrors(err error) map[string]string {
	var fe interface{ FieldErrors() map[string]string }
	if errors.As(err, &fe) {
		return fe.FieldErrors()
	}
	return nil
}

// principal is the signed-in person's principal, as the API reads it.
func principal(c echo.Context) (httpapi.Principal, error) { return httpapi.PrincipalOf(c) }

// pager is a list page's place: the cursor it was opened at and the one
// of the next page, if any.
type pager struct {
	Next string
	Path string
	// Query is the rest of the page's query (its filters), kept by Next.
	Query url.Values
}

// NextURL links to the next page.
func (p pager) NextURL() string {
	q := url.Values{}
	for k, v := range p.Query {
		q[k] = v
	}
	q.Set("cursor", p.Next)
	return p.Path + "?" + q.Encode()
}

// readPage reads ?cursor= (and ?limit=) like the API; limit is how many
// rows the page shows.
func readPage(c echo.Context) (store.Page, int, error) {
	return httpapi.ParsePage(c.QueryParam("limit"), c.QueryParam("cursor"))
}
