package embed

import (
	"net/url"

	"leadflow/store"
)

// field is one visible control of a form. Names are Salesforce Web-to-Lead
// names, so the form posts what a Salesforce form would; maximum lengths are
// Salesforce's own, so a form moved between the two behaves the same.
type field struct {
	Name  string
	Label string
	// Type is an input type, or "textarea".
	Type         string
	Autocomplete string
	MaxLength    int
	Required     bool
}

// fieldsFor lists a form kind's fields in the order people fill them in.
func fieldsFor(kind string) []field {
	first := field{Name: "first_name", Label: "First name", Type: "text", Autocomplete: "given-name", MaxLength: 40, Required: true}
	last := field{Name: "last_name", Label: "Last name", Type: "text", Autocomplete: "family-name", MaxLength: 80, Required: true}
	email := field{Name: "email", Label: "Email", Type: "email", Autocomplete: "email", MaxLength: 80, Required: true}
	company := field{Name: "company", Label: "Company", Type: "text", Autocomplete: "organization", MaxLength: 40}
	title := field{Name: "title", Label: "Job title", Type: "text", Autocomplete: "organization-title", MaxLength: 128}
	if kind == store.FormEventRegistration {
		return []field{first, last, email, company, title}
	}
	return []field{
		first, last, email,
		{Name: "phone", Label: "Phone", Type: "tel", Autocomplete: "tel", MaxLength: 40},
		company, title,
		{Name: "country", Label: "Country", Type: "text", Autocomplete: "country-name", MaxLength: 80},
		{Name: "product_interest", Label: "Product you are interested in", Type: "text", Autocomplete: "off", MaxLength: 255},
		{Name: "description", Label: "How can we help?", Type: "textarea", MaxLength: 32000},
	}
}

// hidden is a hidden input the form posts.
type hidden struct {
	Name, Value string
}

// formView is what the form template renders; the hosted page and the
// snippet share it so both post the same fields.
type formView struct {
	Action string
	// IDPrefix keeps element IDs unique on a customer page that holds
	// several forms.
	IDPrefix string
	Fields   []field
	// Consent is the consent checkbox's label; no checkbox without it, since
	// consent given to unstated wording is no evidence of consent.
	Consent  string
	Honeypot string
	Hidden   []hidden
	Submit   string
	// Thanks is what the script shows once the response is accepted.
	Thanks     string
	LabelledBy string
	// Snippet marks the copy for a customer page, which has no leadflow
	// stylesheet.
	Snippet bool
}

// newFormView prepares the form for action, the URL it posts to.
func newFormView(f store.Form, action string) formView {
	v := formView{
		Action:   action,
		IDPrefix: "lf-" + f.Key + "-",
		Fields:   fieldsFor(f.Kind),
		Consent:  f.ConsentText,
		Honeypot: f.HoneypotField,
		Submit:   "Send",
		Thanks:   "Thank you. We have received your message and will be in touch.",
	}
	if f.Kind == store.FormEventRegistration {
		v.Submit = "Register"
		v.Thanks = "Thank you. We have received your registration."
	}
	if f.Campaign != "" {
		v.Hidden = append(v.Hidden, hidden{Name: "Campaign_ID", Value: f.Campaign})
	}
	return v
}

// utmHidden carries the UTM parameters of a hosted page's own URL into
// hidden inputs, so the link that brought someone (a newsletter, an ad) is
// credited with the response.
func utmHidden(query url.Values) []hidden {
	var hs []hidden
	for _, name := range [...]string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"} {
		if v := query.Get(name); v != "" && len(v) <= 200 {
			hs = append(hs, hidden{Name: name, Value: v})
		}
	}
	return hs
}
