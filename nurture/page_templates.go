package nurture

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/console"
	"leadflow/embed/httpapi"
	"leadflow/store"
)

type templatesView struct {
	Templates []store.Template
	Page      pager
}

func (p *Pages) listTemplates(c echo.Context) error {
	pr, err := principal(c)
	if err != nil {
		return err
	}
	page, show, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	ts, err := p.api.store.ListTemplates(c.Request().Context(), pr.WorkspaceID, page)
	if err != nil {
		return fmt.Errorf("templates page: %w", err)
	}
	list := httpapi.ListOf(ts, show, func(t store.Template) uuid.UUID { return t.ID })
	v := templatesView{Templates: list.Items, Page: pager{Path: "/console/templates"}}
	if list.NextCursor != nil {
		v.Page.Next = *list.NextCursor
	}
	return p.con.Render(c, http.StatusOK, p.pages.templates, "Templates", v)
}

// templateForm is the editor's form as shown or posted.
type templateForm struct {
	ID                                uuid.UUID
	Name, Subject, HTMLBody, TextBody string
	Defaults                          string
	LeadID                            string
	Errors                            map[string]string
	Saved                             bool
	Preview                           *Rendered
	MergeFields, ExtraFields          []string
}

// New reports whether the form is of a template not stored yet.
func (f templateForm) New() bool { return f.ID == uuid.Nil }

// Action is where the form saves.
func (f templateForm) Action() string {
	if f.New() {
		return "/console/templates/new"
	}
	return "/console/templates/" + f.ID.String()
}

func formOfTemplate(t store.Template) templateForm {
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(t.Defaults)) {
		lines = append(lines, k+": "+t.Defaults[k])
	}
	return templateForm{ID: t.ID, Name: t.Name, Subject: t.Subject, HTMLBody: t.HTMLBody, TextBody: t.TextBody,
		Defaults: strings.Join(lines, "\n")}
}

// readTemplateForm reads the posted editor onto t; a malformed line of
// defaults is an error of the defaults field.
func readTemplateForm(c echo.Context, t store.Template) (store.Template, templateForm) {
	f := templateForm{
		ID:       t.ID,
		Name:     c.FormValue("name"),
		Subject:  c.FormValue("subject"),
		HTMLBody: normalizeNewlines(c.FormValue("html_body")),
		TextBody: normalizeNewlines(c.FormValue("text_body")),
		Defaults: normalizeNewlines(c.FormValue("defaults")),
		LeadID:   strings.TrimSpace(c.FormValue("lead_id")),
		Errors:   map[string]string{},
	}
	t.Name, t.Subject, t.HTMLBody, t.TextBody = f.Name, f.Subject, f.HTMLBody, f.TextBody
	t.Defaults = map[string]string{}
	for i, line := range strings.Split(f.Defaults, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			f.Errors["defaults"] = fmt.Sprintf("line %d: write field: value, such as first_name: there", i+1)
			break
		}
		t.Defaults[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return t, f
}

// normalizeNewlines undoes the CRLF browsers post textareas with, so a
// body is stored as it was typed.
func normalizeNewlines(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func (p *Pages) renderTemplateForm(c echo.Context, status int, f templateForm) error {
	f.MergeFields, f.ExtraFields = MergeFields, ExtraFields
	title := "New template"
	if !f.New() {
		title = "Template " + f.Name
	}
	// The preview frame shows previewHTML, a page of this site.
	console.AllowSelfFrames(c)
	return p.con.Render(c, status, p.pages.templateEdit, title, f)
}

func (p *Pages) newTemplate(c echo.Context) error {
	return p.renderTemplateForm(c, http.StatusOK, templateForm{})
}

// template reads the template the path names, in the person's workspace.
func (p *Pages) template(c echo.Context) (store.Template, error) {
	pr, id, err := httpapi.Record(c)
	if err != nil {
		return store.Template{}, err
	}
	return p.api.store.GetTemplate(c.Request().Context(), pr.WorkspaceID, id)
}

func (p *Pages) editTemplate(c echo.Context) error {
	t, err := p.template(c)
	if err != nil {
		return err
	}
	f := formOfTemplate(t)
	f.Saved = c.QueryParam("saved") != ""
	return p.renderTemplateForm(c, http.StatusOK, f)
}

func (p *Pages) createTemplate(c echo.Context) error {
	pr, err := principal(c)
	if err != nil {
		return err
	}
	return p.storeTemplate(c, store.Template{ID: store.NewID(), WorkspaceID: pr.WorkspaceID}, true)
}

func (p *Pages) saveTemplate(c echo.Context) error {
	t, err := p.template(c)
	if err != nil {
		return err
	}
	return p.storeTemplate(c, t, false)
}

// storeTemplate saves the posted editor through the API's save, showing
// each error next to its field.
func (p *Pages) storeTemplate(c echo.Context, t store.Template, create bool) error {
	t, f := readTemplateForm(c, t)
	if create {
		f.ID = uuid.Nil
	}
	if len(f.Errors) == 0 {
		saved, err := p.api.saveTemplate(c.Request().Context(), t, create)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/console/templates/"+saved.ID.String()+"?saved=1")
		}
		if f.Errors = fieldErrors(err); f.Errors == nil {
			return fmt.Errorf("save template: %w", err)
		}
	}
	return p.renderTemplateForm(c, http.StatusUnprocessableEntity, f)
}

// previewTemplate renders the editor's template as typed, saved or not,
// for the lead named or a sample lead, with the sender's renderer; the
// editor shows it again with the preview beside it. The HTML body is not
// put into the editor's page, whose policy would keep the email's styles
// and images from showing: the page's frame posts the same form to
// previewHTML, which answers the email alone.
func (p *Pages) previewTemplate(c echo.Context) error {
	f, status, err := p.preview(c)
	if err != nil {
		return err
	}
	return p.renderTemplateForm(c, status, f)
}

// previewHTML answers the HTML body of the editor's template as typed, as
// renderTemplate's preview renders it, for the editor's preview frame to
// show as a mail client would: under a policy of its own that lets the
// email's inline styles and its remote (https) images and fonts load, and
// nothing run. Only a console page may frame it.
func (p *Pages) previewHTML(c echo.Context) error {
	f, status, err := p.preview(c)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", previewCSP)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-Content-Type-Options", "nosniff")
	// An image's host learns nothing of the console.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if f.Preview == nil {
		return c.HTML(status, previewErrorHTML)
	}
	return c.HTML(http.StatusOK, f.Preview.HTML)
}

// previewCSP is the preview frame's policy: what a mail client shows
// (inline styles, https and data images and fonts) and nothing more. No
// script runs, forms go nowhere, and the sandbox gives the email an origin
// of its own, as the frame's sandbox attribute does too.
const previewCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; font-src https: data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox"

// previewErrorHTML fills the frame when the template does not render: the
// errors are shown next to their fields in the editor.
const previewErrorHTML = `<!doctype html><meta charset="utf-8"><title>No preview</title>` +
	`<p style="font-family:sans-serif">The template has errors: see the fields of the editor.</p>`

// preview reads the posted editor onto the template the path names (or a
// new one) and renders it through the API's preview; errors of the form go
// to their fields, with status 422.
func (p *Pages) preview(c echo.Context) (templateForm, int, error) {
	pr, err := principal(c)
	if err != nil {
		return templateForm{}, 0, err
	}
	t := store.Template{WorkspaceID: pr.WorkspaceID}
	if c.Param("id") != "" {
		if t, err = p.template(c); err != nil {
			return templateForm{}, 0, err
		}
	}
	t, f := readTemplateForm(c, t)
	if len(f.Errors) > 0 {
		return f, http.StatusUnprocessableEntity, nil
	}
	err = ValidateTemplate(t)
	if err == nil {
		var r Rendered
		if r, err = p.api.preview(c.Request().Context(), t, f.LeadID); err == nil {
			f.Preview = &r
			return f, http.StatusOK, nil
		}
	}
	if f.Errors = fieldErrors(err); f.Errors == nil {
		field, ok := renderField(err)
		if !ok {
			return templateForm{}, 0, fmt.Errorf("preview template: %w", err)
		}
		f.Errors = map[string]string{field: err.Error()}
	}
	return f, http.StatusUnprocessableEntity, nil
}

// renderField names the body a render error is about: Render notes which
// one it was rendering ("render html: ..." or "render text: ...").
func renderField(err error) (string, bool) {
	switch msg := err.Error(); {
	case strings.HasPrefix(msg, "render html:"):
		return "html_body", true
	case strings.HasPrefix(msg, "render text:"):
		return "text_body", true
	}
	return "", false
}
