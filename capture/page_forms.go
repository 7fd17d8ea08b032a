package capture

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/console"
	"leadflow/embed/httpapi"
	"leadflow/store"
)

// pageEventChoices bounds the events a form's event select offers.
const pageEventChoices = 200

// settingField is one setting on the form editor: the template renders every
// kind alike, each with its label, its help and its error beside it.
type settingField struct {
	Name, Label, Kind, Value, Help, Error string
	Checked                               bool
	Options                               []choice
}

type choice struct {
	Value, Label string
	Selected     bool
}

// formSettingsForm is the form editor as posted: every value as typed, so a
// refused post shows what the person wrote.
type formSettingsForm struct {
	Key, Name, Kind, AllowedOrigins, AllowedReturnURLs, ThankYouURL, HoneypotField string
	RateLimit, DefaultRegion, EventID, Campaign, MaxBodyBytes, MaxFileBytes        string
	FieldMapping, ConsentText, MaxCustomFields, MaxCustomValueChars                string
	DoubleOptIn                                                                    bool
	Required                                                                       []string
}

func settingsOf(b apiForm) formSettingsForm {
	s := formSettingsForm{
		Key: b.Key, Name: b.Name, Kind: b.Kind,
		AllowedOrigins: strings.Join(b.AllowedOrigins, "\n"), AllowedReturnURLs: strings.Join(b.AllowedReturnURLs, "\n"),
		ThankYouURL: b.ThankYouURL, HoneypotField: b.HoneypotField, RateLimit: strconv.Itoa(b.RateLimitPerMinute),
		DefaultRegion: b.DefaultRegion, Campaign: b.Campaign,
		MaxBodyBytes: strconv.Itoa(b.MaxBodyBytes), MaxFileBytes: strconv.Itoa(b.MaxFileBytes),
		ConsentText: b.ConsentText, DoubleOptIn: b.DoubleOptIn, Required: b.RequiredFields,
		MaxCustomFields: strconv.Itoa(b.MaxCustomFields), MaxCustomValueChars: strconv.Itoa(b.MaxCustomValueChars),
	}
	if b.EventID != nil {
		s.EventID = *b.EventID
	}
	var lines []string
	for from, to := range b.FieldMapping {
		lines = append(lines, from+" = "+to)
	}
	slices.Sort(lines)
	s.FieldMapping = strings.Join(lines, "\n")
	return s
}

func readSettings(ec echo.Context) formSettingsForm {
	_ = ec.Request().ParseForm()
	v := ec.Request().PostForm
	return formSettingsForm{
		Key: v.Get("key"), Name: v.Get("name"), Kind: v.Get("kind"),
		AllowedOrigins: v.Get("allowed_origins"), AllowedReturnURLs: v.Get("allowed_return_urls"),
		ThankYouURL: v.Get("thank_you_url"), HoneypotField: v.Get("honeypot_field"),
		RateLimit: v.Get("rate_limit_per_minute"), DefaultRegion: v.Get("default_region"),
		EventID: v.Get("event_id"), Campaign: v.Get("campaign"),
		MaxBodyBytes: v.Get("max_body_bytes"), MaxFileBytes: v.Get("max_file_bytes"),
		FieldMapping: v.Get("field_mapping"), ConsentText: v.Get("consent_text"),
		DoubleOptIn: v.Get("double_opt_in") != "", Required: v["required_fields"],
		MaxCustomFields: v.Get("max_custom_fields"), MaxCustomValueChars: v.Get("max_custom_value_chars"),
	}
}

// settings turns the typed values into the API's settings; what cannot be
// read (a number that is not one, a mapping line without "=") is an error
// of its field, like the API's own.
func (s formSettingsForm) settings() (apiForm, map[string]string) {
	bad := map[string]string{}
	number := func(field, v string) int {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			bad[field] = "must be a whole number"
		}
		return n
	}
	b := apiForm{
		Key: s.Key, Name: s.Name, Kind: s.Kind,
		AllowedOrigins: lines(s.AllowedOrigins), AllowedReturnURLs: lines(s.AllowedReturnURLs),
		ThankYouURL: s.ThankYouURL, HoneypotField: s.HoneypotField,
		RateLimitPerMinute: number("rate_limit_per_minute", s.RateLimit),
		DefaultRegion:      s.DefaultRegion, Campaign: s.Campaign,
		MaxBodyBytes: number("max_body_bytes", s.MaxBodyBytes), MaxFileBytes: number("max_file_bytes", s.MaxFileBytes),
		ConsentText: s.ConsentText, DoubleOptIn: s.DoubleOptIn, RequiredFields: s.Required,
		MaxCustomFields:     number("max_custom_fields", s.MaxCustomFields),
		MaxCustomValueChars: number("max_custom_value_chars", s.MaxCustomValueChars),
	}
	if id := strings.TrimSpace(s.EventID); id != "" {
		b.EventID = &id
	}
	for i, line := range lines(s.FieldMapping) {
		from, to, ok := strings.Cut(line, "=")
		if !ok {
			bad["field_mapping"] = fmt.Sprintf("line %d: write it as posted_name = leadflow_field", i+1)
			break
		}
		if b.FieldMapping == nil {
			b.FieldMapping = map[string]string{}
		}
		b.FieldMapping[strings.TrimSpace(from)] = strings.TrimSpace(to)
	}
	return b, bad
}

// lines splits a textarea into its non-blank lines.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// fields lays the settings out for the editor, with errs beside them.
func (s formSettingsForm) fields(events []store.Event, errs map[string]string) []settingField {
	kinds := []choice{{Value: store.FormContactUs, Label: "Contact us"}, {Value: store.FormEventRegistration, Label: "Event registration"}}
	for i := range kinds {
		kinds[i].Selected = kinds[i].Value == s.Kind
	}
	evs := []choice{{Value: "", Label: "No event", Selected: s.EventID == ""}}
	for _, e := range events {
		evs = append(evs, choice{Value: e.ID.String(), Label: e.Name, Selected: e.ID.String() == s.EventID})
	}
	var req []choice
	for _, n := range requirableNames {
		req = append(req, choice{Value: n, Label: n, Selected: slices.Contains(s.Required, n)})
	}
	fs := []settingField{
		{Name: "name", Label: "Name", Kind: "text", Value: s.Name, Help: "What people see as the hosted page's title."},
		{Name: "kind", Label: "Kind", Kind: "select", Options: kinds},
		{Name: "event_id", Label: "Event", Kind: "select", Options: evs, Help: "Required for an event registration form."},
		{Name: "campaign", Label: "Campaign", Kind: "text", Value: s.Campaign, Help: "Given to every lead this form makes, unless the post names one."},
		{Name: "allowed_origins", Label: "Allowed origins", Kind: "textarea", Value: s.AllowedOrigins,
			Help: "One per line, such as https://www.example.com; * allows every site. A site not listed cannot post the form from a browser."},
		{Name: "allowed_return_urls", Label: "Allowed return URLs", Kind: "textarea", Value: s.AllowedReturnURLs,
			Help: "One per line: pages a post may send the browser back to (retURL)."},
		{Name: "thank_you_url", Label: "Thank-you URL", Kind: "text", Value: s.ThankYouURL, Help: "Where a plain HTML post lands; leadflow's own thank-you page when blank."},
		{Name: "field_mapping", Label: "Field mapping", Kind: "textarea", Value: s.FieldMapping,
			Help: "One per line: posted_name = leadflow_field (email, first_name, company...)."},
		{Name: "required_fields", Label: "Required fields", Kind: "checkboxes", Options: req,
			Help: "A submission without these, or with a value that cannot be used, is refused."},
		{Name: "consent_text", Label: "Consent text", Kind: "textarea", Value: s.ConsentText, Help: "Shown beside the consent box and kept with each lead that ticks it."},
		{Name: "double_opt_in", Label: "Double opt-in: make a lead only once the person confirms by email", Kind: "checkbox", Checked: s.DoubleOptIn},
		{Name: "rate_limit_per_minute", Label: "Posts per minute per IP", Kind: "number", Value: s.RateLimit, Help: "0 is no limit (a server posting for many people)."},
		{Name: "honeypot_field", Label: "Honeypot field", Kind: "text", Value: s.HoneypotField, Help: "A hidden field people never fill in; posts that fill it are held as spam."},
		{Name: "default_region", Label: "Default phone region", Kind: "text", Value: s.DefaultRegion, Help: "Two letters, such as US or GB."},
		{Name: "max_body_bytes", Label: "Largest post (bytes)", Kind: "number", Value: s.MaxBodyBytes},
		{Name: "max_file_bytes", Label: "Largest upload (bytes)", Kind: "number", Value: s.MaxFileBytes, Help: "0 refuses uploads."},
		{Name: "max_custom_fields", Label: "Custom fields kept per post", Kind: "number", Value: s.MaxCustomFields},
		{Name: "max_custom_value_chars", Label: "Longest custom value (characters)", Kind: "number", Value: s.MaxCustomValueChars},
		{Name: "key", Label: "Key", Kind: "text", Value: s.Key, Help: "The form's address, /f/KEY. Blank makes a new random one (how a leaked key is changed)."},
	}
	for i := range fs {
		fs[i].Error = errs[fs[i].Name]
	}
	return fs
}

type formsView struct {
	Forms      []store.Form
	NextCursor string
}

func (p *Pages) formsPage(ec echo.Context) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(ec)
	if err != nil {
		return err
	}
	fs, err := p.api.store.ListForms(ec.Request().Context(), pr.WorkspaceID, page)
	if err != nil {
		return fmt.Errorf("forms page: %w", err)
	}
	fs, next := pageOf(fs, limit, func(f store.Form) uuid.UUID { return f.ID })
	return p.con.Render(ec, http.StatusOK, p.t.forms, "Forms", formsView{Forms: fs, NextCursor: next})
}

// pageOf cuts the extra row a page was read with and names the next page's
// cursor when there is one.
func pageOf[T any](rows []T, limit int, id func(T) uuid.UUID) ([]T, string) {
	l := httpapi.ListOf(rows, limit, id)
	if l.NextCursor == nil {
		return l.Items, ""
	}
	return l.Items, *l.NextCursor
}

type formView struct {
	Form    *store.Form
	Fields  []settingField
	Snippet string
	Notice  string
	Error   string
	// NoOrigin: no site may post the form from a browser yet.
	NoOrigin bool
}

func (p *Pages) newFormPage(ec echo.Context) error {
	s := settingsOf(newFormSettings())
	s.Kind = store.FormContactUs
	return p.renderForm(ec, http.StatusOK, nil, s, nil, "")
}

func (p *Pages) renderForm(ec echo.Context, status int, f *store.Form, s formSettingsForm, errs map[string]string, notice string) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	ctx := ec.Request().Context()
	events, err := p.api.store.ListEvents(ctx, pr.WorkspaceID, store.Page{Limit: pageEventChoices})
	if err != nil {
		return fmt.Errorf("form page: %w", err)
	}
	if id, err := uuid.Parse(s.EventID); err == nil && !slices.ContainsFunc(events, func(e store.Event) bool { return e.ID == id }) {
		if ev, err := p.api.store.GetEvent(ctx, pr.WorkspaceID, id); err == nil {
			events = append(events, ev)
		}
	}
	v := formView{Form: f, Fields: s.fields(events, errs), Notice: notice}
	if len(errs) > 0 {
		v.Error = "The form was not saved: see the fields marked below."
	}
	title := "New form"
	if f != nil {
		title = "Form " + cmpOr(f.Name, f.Key)
		v.NoOrigin = len(f.AllowedOrigins) == 0
		if v.Snippet, err = p.snippet(*f); err != nil {
			return fmt.Errorf("form page: %w", err)
		}
		// The preview frames the hosted page, which this site serves.
		console.AllowSelfFrames(ec)
	}
	return p.con.Render(ec, status, p.t.form, title, v)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// fieldErrors reads the fields at fault from a domain error.
func fieldErrors(err error) (map[string]string, bool) {
	var fe interface{ FieldErrors() map[string]string }
	if errors.As(err, &fe) {
		return fe.FieldErrors(), true
	}
	return nil, false
}

func (p *Pages) createForm(ec echo.Context) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	s := readSettings(ec)
	b, bad := s.settings()
	if len(bad) > 0 {
		return p.renderForm(ec, http.StatusUnprocessableEntity, nil, s, bad, "")
	}
	f, err := p.api.addForm(ec.Request().Context(), pr.WorkspaceID, b)
	if errs, ok := fieldErrors(err); ok {
		return p.renderForm(ec, http.StatusUnprocessableEntity, nil, s, errs, "")
	}
	if err != nil {
		return fmt.Errorf("create form: %w", err)
	}
	return ec.Redirect(http.StatusSeeOther, "/console/forms/"+f.ID.String()+"?saved=1")
}

func (p *Pages) form(ec echo.Context) (store.Form, error) {
	pr, err := principal(ec)
	if err != nil {
		return store.Form{}, err
	}
	id, err := httpapi.PathID(ec)
	if err != nil {
		return store.Form{}, notFound(err)
	}
	f, err := p.api.store.GetForm(ec.Request().Context(), pr.WorkspaceID, id)
	if err != nil {
		return store.Form{}, notFound(err)
	}
	return f, nil
}

func (p *Pages) formPage(ec echo.Context) error {
	f, err := p.form(ec)
	if err != nil {
		return err
	}
	notice := ""
	if ec.QueryParam("saved") != "" {
		notice = "Saved."
	}
	return p.renderForm(ec, http.StatusOK, &f, settingsOf(apiFormOf(f)), nil, notice)
}

func (p *Pages) updateForm(ec echo.Context) error {
	f, err := p.form(ec)
	if err != nil {
		return err
	}
	s := readSettings(ec)
	b, bad := s.settings()
	if len(bad) > 0 {
		return p.renderForm(ec, http.StatusUnprocessableEntity, &f, s, bad, "")
	}
	saved, err := p.api.changeForm(ec.Request().Context(), f, b)
	if errs, ok := fieldErrors(err); ok {
		return p.renderForm(ec, http.StatusUnprocessableEntity, &f, s, errs, "")
	}
	if err != nil {
		return fmt.Errorf("update form: %w", err)
	}
	return ec.Redirect(http.StatusSeeOther, "/console/forms/"+saved.ID.String()+"?saved=1")
}
