package nurture

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

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
// editor shows it again with the preview beside it.
func (p *Pages) previewTemplate(c echo.Context) error {
	pr, err := principal(c)
	if err != nil {
		return err
	}
	t := store.Template{WorkspaceID: pr.WorkspaceID}
	if c.Param("id") != "" {
		if t, err = p.template(c); err != nil {
			return err
		}
	}
	t, f := readTemplateForm(c, t)
	status := http.StatusOK
	if len(f.Errors) == 0 {
		err = ValidateTemplate(t)
		if err == nil {
			var r Rendered
			if r, err = p.api.preview(c.Request().Context(), t, f.LeadID); err == nil {
				f.Preview = &r
			}
		}
		if err != nil {
			if f.Errors = fieldErrors(err); f.Errors == nil {
				field, ok := renderField(err)
				if !ok {
					return fmt.Errorf("preview template: %w", err)
				}
				f.Errors = map[string]string{field: err.Error()}
			}
			status = http.StatusUnprocessableEntity
		}
	}
	return p.renderTemplateForm(c, status, f)
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
