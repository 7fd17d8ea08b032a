package capture

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/nyaruka/phonenumbers"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Bounds of a form's configuration.
const (
	apiMinFormBody   = 1 << 10
	apiMaxFormBody   = 1 << 20
	apiMaxFormFile   = 10 << 20
	apiMaxListLen    = 50
	apiMaxTextLen    = 200
	apiMaxConsentLen = 5000
	// A submission's custom fields: how many, and how long a value, a form
	// may keep at most.
	apiMaxCustomFields     = 500
	apiMaxCustomValueChars = 20000
)

// DefaultFormRateLimitPerMinute is a new form's limit of posts per client
// IP per minute: well above what people filling a form from one office do,
// far below what a script mailing confirmations to strangers needs. A form
// that a server posts to on behalf of many people sets 0 (no limit).
const DefaultFormRateLimitPerMinute = 10

var apiFormKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{3,64}$`)

// apiForm is a form as the API reads it. A PATCH decodes onto the stored
// form's values, so members left out keep them.
type apiForm struct {
	Key                 string            `json:"key"`
	Name                string            `json:"name"`
	Kind                string            `json:"kind"`
	AllowedOrigins      []string          `json:"allowed_origins"`
	AllowedReturnURLs   []string          `json:"allowed_return_urls"`
	ThankYouURL         string            `json:"thank_you_url"`
	HoneypotField       string            `json:"honeypot_field"`
	RateLimitPerMinute  int               `json:"rate_limit_per_minute"`
	DefaultRegion       string            `json:"default_region"`
	EventID             *string           `json:"event_id"`
	Campaign            string            `json:"campaign"`
	MaxBodyBytes        int               `json:"max_body_bytes"`
	MaxFileBytes        int               `json:"max_file_bytes"`
	FieldMapping        map[string]string `json:"field_mapping"`
	ConsentText         string            `json:"consent_text"`
	DoubleOptIn         bool              `json:"double_opt_in"`
	RequiredFields      []string          `json:"required_fields"`
	MaxCustomFields     int               `json:"max_custom_fields"`
	MaxCustomValueChars int               `json:"max_custom_value_chars"`
}

func apiFormOf(f store.Form) apiForm {
	b := apiForm{
		Key: f.Key, Name: f.Name, Kind: f.Kind, AllowedOrigins: f.AllowedOrigins,
		AllowedReturnURLs: f.AllowedReturnURLs, ThankYouURL: f.ThankYouURL,
		HoneypotField: f.HoneypotField, RateLimitPerMinute: f.RateLimitPerMinute,
		DefaultRegion: f.DefaultRegion, Campaign: f.Campaign, MaxBodyBytes: f.MaxBodyBytes,
		MaxFileBytes: f.MaxFileBytes, FieldMapping: f.FieldMapping, ConsentText: f.ConsentText,
		DoubleOptIn: f.DoubleOptIn, RequiredFields: f.RequiredFields,
		MaxCustomFields: f.MaxCustomFields, MaxCustomValueChars: f.MaxCustomValueChars,
	}
	if f.EventID != nil {
		s := f.EventID.String()
		b.EventID = &s
	}
	return b
}

// Form is how the API shows a store.Form.
type Form struct {
	ID                 uuid.UUID         `json:"id"`
	Key                string            `json:"key"`
	Name               string            `json:"name"`
	Kind               string            `json:"kind"`
	AllowedOrigins     []string          `json:"allowed_origins"`
	AllowedReturnURLs  []string          `json:"allowed_return_urls"`
	ThankYouURL        string            `json:"thank_you_url"`
	HoneypotField      string            `json:"honeypot_field"`
	RateLimitPerMinute int               `json:"rate_limit_per_minute"`
	DefaultRegion      string            `json:"default_region"`
	EventID            *uuid.UUID        `json:"event_id"`
	Campaign           string            `json:"campaign"`
	MaxBodyBytes       int               `json:"max_body_bytes"`
	MaxFileBytes       int               `json:"max_file_bytes"`
	FieldMapping       map[string]string `json:"field_mapping"`
	ConsentText        string            `json:"consent_text"`
	CreatedAt          time.Time         `json:"created_at"`
	UpdatedAt          time.Time         `json:"updated_at"`
	// DoubleOptIn: a response makes no lead until its person confirms by
	// the link emailed to them.
	DoubleOptIn bool `json:"double_opt_in"`
	// RequiredFields are the leadflow fields (email, phone, ...) a submission
	// is refused without, or with a value that cannot be used.
	RequiredFields []string `json:"required_fields"`
	// MaxCustomFields and MaxCustomValueChars bound the custom fields one
	// submission keeps: fields past the count are dropped and longer values
	// cut, both noted on the response.
	MaxCustomFields     int `json:"max_custom_fields"`
	MaxCustomValueChars int `json:"max_custom_value_chars"`
}

func newForm(r store.Form) Form {
	return Form{
		ID:                  r.ID,
		Key:                 r.Key,
		Name:                r.Name,
		Kind:                r.Kind,
		AllowedOrigins:      r.AllowedOrigins,
		AllowedReturnURLs:   r.AllowedReturnURLs,
		ThankYouURL:         r.ThankYouURL,
		HoneypotField:       r.HoneypotField,
		RateLimitPerMinute:  r.RateLimitPerMinute,
		DefaultRegion:       r.DefaultRegion,
		EventID:             r.EventID,
		Campaign:            r.Campaign,
		MaxBodyBytes:        r.MaxBodyBytes,
		MaxFileBytes:        r.MaxFileBytes,
		FieldMapping:        r.FieldMapping,
		ConsentText:         r.ConsentText,
		CreatedAt:           r.CreatedAt,
		UpdatedAt:           r.UpdatedAt,
		DoubleOptIn:         r.DoubleOptIn,
		RequiredFields:      r.RequiredFields,
		MaxCustomFields:     r.MaxCustomFields,
		MaxCustomValueChars: r.MaxCustomValueChars,
	}
}

func (a *API) createForm(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	b := newFormSettings()
	if err := httpapi.Decode(c, apiMaxBody, &b); err != nil {
		return err
	}
	f, err := a.addForm(c.Request().Context(), p.WorkspaceID, b)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newForm(f))
}

// newFormSettings are a new form's settings before anyone chooses them.
func newFormSettings() apiForm {
	return apiForm{DefaultRegion: store.DefaultFormRegion, MaxBodyBytes: store.DefaultFormMaxBodyBytes,
		RateLimitPerMinute: DefaultFormRateLimitPerMinute,
		MaxCustomFields:    store.DefaultFormMaxCustomFields, MaxCustomValueChars: store.DefaultFormMaxCustomValueChars}
}

// addForm checks b and stores it as a new form of the workspace: what the
// API and the console both create forms with.
func (a *API) addForm(ctx context.Context, workspaceID uuid.UUID, b apiForm) (store.Form, error) {
	f := store.Form{ID: store.NewID(), WorkspaceID: workspaceID}
	if err := a.checkForm(ctx, workspaceID, &b, &f); err != nil {
		return store.Form{}, err
	}
	// Left blank, the key is generated: a random one cannot be guessed.
	f, err := a.store.InsertForm(ctx, f)
	if err != nil {
		return store.Form{}, apiFormKeyTaken(err)
	}
	return f, nil
}

// changeForm checks b and stores it over f: what the API and the console
// both edit forms with.
func (a *API) changeForm(ctx context.Context, f store.Form, b apiForm) (store.Form, error) {
	if err := a.checkForm(ctx, f.WorkspaceID, &b, &f); err != nil {
		return store.Form{}, err
	}
	if f.Key == "" {
		// A blank key asks for a new random one: how a leaked key is rotated.
		f.Key = store.NewFormKey()
	}
	f, err := a.store.UpdateForm(ctx, f)
	if err != nil {
		return store.Form{}, apiFormKeyTaken(err)
	}
	return f, nil
}

func (a *API) listForms(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	fs, err := a.store.ListForms(c.Request().Context(), p.WorkspaceID, page)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(httpapi.Map(fs, newForm), limit, func(f Form) uuid.UUID { return f.ID }))
}

func (a *API) getForm(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	f, err := a.store.GetForm(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newForm(f))
}

func (a *API) updateForm(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	data, members, err := httpapi.ReadObject(c, apiMaxBody)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	f, err := a.store.GetForm(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	b := apiFormOf(f)
	if _, ok := members["field_mapping"]; ok {
		// A sent mapping replaces the stored one rather than merging into it.
		b.FieldMapping = nil
	}
	if err := httpapi.Unmarshal(data, members, &b); err != nil {
		return err
	}
	if f, err = a.changeForm(ctx, f, b); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newForm(f))
}

// apiFormKeyTaken names the key as the field at fault when a form's key is
// already used by any workspace's form.
func apiFormKeyTaken(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: %w", err, &ValidationError{Fields: map[string]string{"key": "is taken"}})
	}
	return err
}

// checkForm validates b, normalises it, and copies it onto f. Every field at
// fault is named at once.
func (a *API) checkForm(ctx context.Context, workspaceID uuid.UUID, b *apiForm, f *store.Form) error {
	bad := map[string]string{}
	b.Key = strings.TrimSpace(b.Key)
	if b.Key != "" && !apiFormKeyPattern.MatchString(b.Key) {
		bad["key"] = "must be 3 to 64 letters, digits, '_' or '-'"
	}
	b.Name = strings.TrimSpace(b.Name)
	if len(b.Name) > apiMaxTextLen {
		bad["name"] = fmt.Sprintf("must be at most %d characters", apiMaxTextLen)
	}
	switch b.Kind {
	case store.FormContactUs, store.FormEventRegistration:
	case "":
		bad["kind"] = "is required: contact_us or event_registration"
	default:
		bad["kind"] = "must be contact_us or event_registration"
	}
	var origins []string
	for i, o := range b.AllowedOrigins {
		if o == "*" {
			// Any site may embed the form; capture reads "*" so.
			origins = append(origins, o)
			continue
		}
		norm, err := apiOrigin(o)
		if err != nil {
			bad["allowed_origins"] = fmt.Sprintf("item %d: %v", i, err)
			break
		}
		origins = append(origins, norm)
	}
	if len(b.AllowedOrigins) > apiMaxListLen {
		bad["allowed_origins"] = fmt.Sprintf("must have at most %d items", apiMaxListLen)
	}
	var returnURLs []string
	for i, u := range b.AllowedReturnURLs {
		u = strings.TrimSpace(u)
		if err := apiCheckWebURL(u); err != nil {
			bad["allowed_return_urls"] = fmt.Sprintf("item %d: %v", i, err)
			break
		}
		returnURLs = append(returnURLs, u)
	}
	if len(b.AllowedReturnURLs) > apiMaxListLen {
		bad["allowed_return_urls"] = fmt.Sprintf("must have at most %d items", apiMaxListLen)
	}
	b.ThankYouURL = strings.TrimSpace(b.ThankYouURL)
	if b.ThankYouURL != "" {
		if err := apiCheckWebURL(b.ThankYouURL); err != nil {
			bad["thank_you_url"] = err.Error()
		}
	}
	b.HoneypotField = strings.TrimSpace(b.HoneypotField)
	switch {
	case b.HoneypotField == "":
	case !apiFieldName(b.HoneypotField):
		bad["honeypot_field"] = "must be a field name of at most 100 characters"
	case slices.Contains(leadflowNames, strings.ToLower(b.HoneypotField)) || b.FieldMapping[b.HoneypotField] != "":
		// Real people fill these in: every submission would look like spam.
		bad["honeypot_field"] = "must not be a field people fill in"
	}
	if b.RateLimitPerMinute < 0 {
		bad["rate_limit_per_minute"] = "must be 0 (off) or more"
	}
	b.DefaultRegion = strings.ToUpper(strings.TrimSpace(b.DefaultRegion))
	if len(b.DefaultRegion) != 2 || !phonenumbers.GetSupportedRegions()[b.DefaultRegion] {
		bad["default_region"] = "must be a two-letter region code such as US or GB"
	}
	var eventID *uuid.UUID
	if b.EventID != nil && *b.EventID != "" {
		id, err := uuid.Parse(*b.EventID)
		switch {
		case err != nil:
			bad["event_id"] = "is not a valid id"
		default:
			if _, err := a.store.GetEvent(ctx, workspaceID, id); errors.Is(err, store.ErrNotFound) {
				bad["event_id"] = "no such event"
			} else if err != nil {
				return err
			}
			eventID = &id
		}
	}
	if b.Kind == store.FormEventRegistration && eventID == nil && bad["event_id"] == "" {
		bad["event_id"] = "is required for an event_registration form"
	}
	b.Campaign = strings.TrimSpace(b.Campaign)
	if len(b.Campaign) > apiMaxTextLen {
		bad["campaign"] = fmt.Sprintf("must be at most %d characters", apiMaxTextLen)
	}
	if b.MaxBodyBytes < apiMinFormBody || b.MaxBodyBytes > apiMaxFormBody {
		bad["max_body_bytes"] = fmt.Sprintf("must be between %d and %d", apiMinFormBody, apiMaxFormBody)
	}
	if b.MaxFileBytes < 0 || b.MaxFileBytes > apiMaxFormFile {
		bad["max_file_bytes"] = fmt.Sprintf("must be between 0 and %d", apiMaxFormFile)
	}
	for from, to := range b.FieldMapping {
		if !apiFieldName(from) || !apiFieldName(to) {
			bad["field_mapping"] = fmt.Sprintf("%q -> %q: names must be non-blank, trimmed, at most 100 characters", from, to)
			break
		}
	}
	if len(b.FieldMapping) > apiMaxListLen {
		bad["field_mapping"] = fmt.Sprintf("must have at most %d entries", apiMaxListLen)
	}
	b.ConsentText = strings.TrimSpace(b.ConsentText)
	if len(b.ConsentText) > apiMaxConsentLen {
		bad["consent_text"] = fmt.Sprintf("must be at most %d characters", apiMaxConsentLen)
	}
	var required []string
	for _, name := range b.RequiredFields {
		name = strings.ToLower(strings.TrimSpace(name))
		if !slices.Contains(requirableNames, name) {
			bad["required_fields"] = fmt.Sprintf("%q is not a field a form can require (%s)", name, strings.Join(requirableNames, ", "))
			break
		}
		if !slices.Contains(required, name) {
			required = append(required, name)
		}
	}
	if b.MaxCustomFields < 0 || b.MaxCustomFields > apiMaxCustomFields {
		bad["max_custom_fields"] = fmt.Sprintf("must be between 0 and %d", apiMaxCustomFields)
	}
	if b.MaxCustomValueChars < 1 || b.MaxCustomValueChars > apiMaxCustomValueChars {
		bad["max_custom_value_chars"] = fmt.Sprintf("must be between 1 and %d", apiMaxCustomValueChars)
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	f.RequiredFields, f.MaxCustomFields, f.MaxCustomValueChars = required, b.MaxCustomFields, b.MaxCustomValueChars
	f.Key, f.Name, f.Kind = b.Key, b.Name, b.Kind
	f.AllowedOrigins, f.AllowedReturnURLs, f.ThankYouURL = origins, returnURLs, b.ThankYouURL
	f.HoneypotField, f.RateLimitPerMinute, f.DefaultRegion = b.HoneypotField, b.RateLimitPerMinute, b.DefaultRegion
	f.EventID, f.Campaign = eventID, b.Campaign
	f.MaxBodyBytes, f.MaxFileBytes = b.MaxBodyBytes, b.MaxFileBytes
	f.FieldMapping, f.ConsentText, f.DoubleOptIn = b.FieldMapping, b.ConsentText, b.DoubleOptIn
	return nil
}

// apiOrigin checks that o is a web origin (scheme, host, optional port,
// nothing else) and returns it in the form browsers send in Origin.
func apiOrigin(o string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) origin such as https://www.example.com", o)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q is not an origin: only scheme, host and port", o)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// apiFieldName accepts a posted field's name: HTML allows nearly anything,
// so only blank, padded, overlong and control-character names are refused.
func apiFieldName(s string) bool {
	if s == "" || len(s) > 100 || !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return false
	}
	return !strings.ContainsFunc(s, unicode.IsControl)
}

// apiCheckWebURL accepts an absolute http(s) URL without credentials: a page a
// browser may be sent to after posting a form.
func apiCheckWebURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	if u.User != nil {
		return fmt.Errorf("%q must not hold credentials", s)
	}
	return nil
}
