package nurture

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Template is how the API shows a store.Template.
type Template struct {
	ID        uuid.UUID         `json:"id"`
	Name      string            `json:"name"`
	Subject   string            `json:"subject"`
	HTMLBody  string            `json:"html_body"`
	TextBody  string            `json:"text_body"`
	Defaults  map[string]string `json:"defaults"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

func newTemplate(r store.Template) Template {
	return Template{
		ID:        r.ID,
		Name:      r.Name,
		Subject:   r.Subject,
		HTMLBody:  r.HTMLBody,
		TextBody:  r.TextBody,
		Defaults:  r.Defaults,
		CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt,
	}
}

// templateTargets are the members a template's body may set.
func templateTargets(t *store.Template) map[string]any {
	return map[string]any{
		"name":      &t.Name,
		"subject":   &t.Subject,
		"html_body": &t.HTMLBody,
		"text_body": &t.TextBody,
		"defaults":  &t.Defaults,
	}
}

func (a *API) createTemplate(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	_, members, err := httpapi.ReadObject(c, apiMaxBody)
	if err != nil {
		return err
	}
	t := store.Template{ID: store.NewID(), WorkspaceID: p.WorkspaceID}
	if err := httpapi.Bind(members, templateTargets(&t)); err != nil {
		return err
	}
	t, err = a.saveTemplate(c.Request().Context(), t, true)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newTemplate(t))
}

// saveTemplate checks t, its name trimmed, and stores it: a new template
// when create, else over the stored one. The API and the console both save
// through it.
func (a *API) saveTemplate(ctx context.Context, t store.Template, create bool) (store.Template, error) {
	t.Name = strings.TrimSpace(t.Name)
	if err := ValidateTemplate(t); err != nil {
		return store.Template{}, err
	}
	if create {
		return a.store.InsertTemplate(ctx, t)
	}
	return a.store.UpdateTemplate(ctx, t)
}

func (a *API) listTemplates(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	ts, err := a.store.ListTemplates(c.Request().Context(), p.WorkspaceID, page)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(httpapi.Map(ts, newTemplate), limit, func(t Template) uuid.UUID { return t.ID }))
}

func (a *API) getTemplate(c echo.Context) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	t, err := a.store.GetTemplate(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newTemplate(t))
}

// updateTemplate changes the members sent and keeps the others. Messages
// already created keep what they were rendered with; later ones use the new
// template.
func (a *API) updateTemplate(c echo.Context) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	_, members, err := httpapi.ReadObject(c, apiMaxBody)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	t, err := a.store.GetTemplate(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	if _, ok := members["defaults"]; ok {
		// Sent defaults replace the stored ones rather than merging in.
		t.Defaults = nil
	}
	if err := httpapi.Bind(members, templateTargets(&t)); err != nil {
		return err
	}
	t, err = a.saveTemplate(ctx, t, false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newTemplate(t))
}

// apiPreview is a rendered template. Links are the original URLs behind
// the preview's stand-in click links, by index.
type apiPreview struct {
	Subject string   `json:"subject"`
	HTML    string   `json:"html"`
	Text    string   `json:"text"`
	Links   []string `json:"links"`
}

// previewURLs stand in for a message's signed links in a preview: no
// message exists, so nothing may be tracked or unsubscribed.
type previewURLs struct{ base string }

func (u previewURLs) Open() string { return u.base + "/t/preview/open" }
func (u previewURLs) Click(i int, _ string) string {
	return u.base + "/t/preview/click/" + strconv.Itoa(i)
}
func (u previewURLs) Unsubscribe() string { return u.base + "/t/preview/unsubscribe" }

// sampleLead fills a preview when no lead is named.
var sampleLead = store.Lead{
	FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Company: "Analytical Engines",
	Title: "Mathematician", City: "London", Country: "GB", PrimaryInterest: "Engines", LeadSource: "Web",
	Custom: map[string]string{},
}

// previewTemplate renders a template as a lead of the workspace (or a
// sample lead) would get it, with stand-in links.
func (a *API) previewTemplate(c echo.Context) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	_, members, err := httpapi.ReadOptionalObject(c, apiMaxBody)
	if err != nil {
		return err
	}
	var body struct{ LeadID string }
	if err := httpapi.Bind(members, map[string]any{"lead_id": &body.LeadID}); err != nil {
		return err
	}
	ctx := c.Request().Context()
	t, err := a.store.GetTemplate(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	r, err := a.preview(ctx, t, body.LeadID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiPreview{Subject: r.Subject, HTML: r.HTML, Text: r.Text, Links: r.Links})
}

// preview renders t as the lead leadID of t's workspace would get it, or a
// sample lead when leadID is "", with stand-in links. The API and the
// console's editor both preview through it, with the sender's renderer.
func (a *API) preview(ctx context.Context, t store.Template, leadID string) (Rendered, error) {
	ws, err := a.store.GetWorkspace(ctx, t.WorkspaceID)
	if err != nil {
		return Rendered{}, err
	}
	data := MergeData{Lead: sampleLead, Workspace: ws, Extra: map[string]string{
		"event_name": "Sample event", "event_starts_at": "1 January, 10:00",
		"confirm_url": a.baseURL + "/t/preview/confirm",
	}}
	if leadID != "" {
		bad := map[string]string{}
		id := apiID("lead_id", leadID, bad)
		if len(bad) > 0 {
			return Rendered{}, &ValidationError{Fields: bad}
		}
		lead, err := a.store.GetLead(ctx, t.WorkspaceID, id)
		if errors.Is(err, store.ErrNotFound) {
			return Rendered{}, &ValidationError{Fields: map[string]string{"lead_id": "no such lead"}}
		}
		if err != nil {
			return Rendered{}, err
		}
		// A real lead's preview shows what the lead would get; fields only
		// some emails fill keep to the template's defaults.
		data = MergeData{Lead: lead, Workspace: ws}
	}
	return Render(t, data, previewURLs{base: a.baseURL})
}
