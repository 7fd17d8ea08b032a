package capture

import (
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"

	"github.com/labstack/echo/v4"

	"leadflow/embed/console"
	"leadflow/embed/httpapi"
	"leadflow/store"
)

// SnippetFunc renders the HTML a website pastes to capture a form.
type SnippetFunc func(store.Form) (html string, err error)

// Pages are capture's console pages: forms, events, responses, leads and
// contacts.
// They call the same methods as the API's handlers, so a rule holds alike
// whichever face a person uses.
type Pages struct {
	api     *API
	con     *console.Console
	snippet SnippetFunc
	t       pageTemplates
}

type pageTemplates struct {
	forms, form, events, event, responses, response, logResponse, leads, lead, contacts, contact *template.Template
}

var (
	//go:embed templates/console/forms.html
	formsHTML string
	//go:embed templates/console/form.html
	formHTML string
	//go:embed templates/console/events.html
	eventsHTML string
	//go:embed templates/console/event.html
	eventHTML string
	//go:embed templates/console/responses.html
	responsesHTML string
	//go:embed templates/console/response.html
	responseHTML string
	//go:embed templates/console/response_log.html
	responseLogHTML string
	//go:embed templates/console/leads.html
	leadsHTML string
	//go:embed templates/console/lead.html
	leadHTML string
	//go:embed templates/console/contacts.html
	contactsHTML string
	//go:embed templates/console/contact.html
	contactHTML string
)

// NewPages parses capture's console pages. snippet renders a form's embed
// snippet (the embed site does).
func NewPages(api *API, con *console.Console, snippet SnippetFunc) (*Pages, error) {
	if api == nil || con == nil || snippet == nil {
		return nil, errors.New("capture pages: api, console and snippet are required")
	}
	var errs []error
	parse := func(name, src string) *template.Template {
		t, err := console.Page(name, src)
		if err != nil {
			errs = append(errs, err)
		}
		return t
	}
	p := &Pages{api: api, con: con, snippet: snippet, t: pageTemplates{
		forms:       parse("forms", formsHTML),
		form:        parse("form", formHTML),
		events:      parse("events", eventsHTML),
		event:       parse("event", eventHTML),
		responses:   parse("responses", responsesHTML),
		response:    parse("response", responseHTML),
		logResponse: parse("response_log", responseLogHTML),
		leads:       parse("leads", leadsHTML),
		lead:        parse("lead", leadHTML),
		contacts:    parse("contacts", contactsHTML),
		contact:     parse("contact", contactHTML),
	}}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// ConsoleRoutes registers capture's pages on g (the console's signed-in
// group) and lists them in the navigation. The roles are the API's:
// marketing configures capture and works leads; sales reads leads and
// contacts.
func ConsoleRoutes(g *echo.Group, p *Pages) {
	marketing := p.con.Require(store.UserMarketing)
	people := p.con.Require(store.UserMarketing, store.UserSalesRep, store.UserSalesManager, store.UserSalesAdmin)

	p.con.Nav("Forms", "/console/forms", store.UserMarketing)
	g.GET("/forms", p.formsPage, marketing)
	g.GET("/forms/new", p.newFormPage, marketing)
	g.POST("/forms", p.createForm, marketing)
	g.GET("/forms/:id", p.formPage, marketing)
	g.POST("/forms/:id", p.updateForm, marketing)

	p.con.Nav("Events", "/console/events", store.UserMarketing)
	g.GET("/events", p.eventsPage, marketing)
	g.POST("/events", p.createEvent, marketing)
	g.GET("/events/:id", p.eventPage, marketing)
	g.POST("/events/:id/registrations/:rid/cancel", p.cancelRegistration, marketing)
	g.POST("/events/:id/registrations/:rid/attend", p.attendRegistration, marketing)

	p.con.Nav("Responses", "/console/responses", store.UserMarketing)
	g.GET("/responses", p.responsesPage, marketing)
	g.GET("/responses/new", p.logResponsePage, people)
	g.POST("/responses/new", p.logResponse, people)
	g.GET("/responses/:id", p.responsePage, marketing)
	g.POST("/responses/:id/release", p.releaseResponse, marketing)
	g.POST("/responses/:id/retry", p.retryResponse, marketing)

	p.con.Nav("Leads", "/console/leads", store.UserMarketing, store.UserSalesRep, store.UserSalesManager, store.UserSalesAdmin)
	g.GET("/leads", p.leadsPage, people)
	g.GET("/leads/:id", p.leadPage, people)
	g.POST("/leads/:id/merge", p.mergeLeads, marketing)
	g.POST("/leads/:id/edit", p.editLead, people)
	g.POST("/leads/:id/status", p.changeLeadStatus, people)
	g.POST("/leads/:id/resubscribe", p.resubscribeLead, people)

	p.con.Nav("Contacts", "/console/contacts", store.UserMarketing, store.UserSalesRep, store.UserSalesManager, store.UserSalesAdmin)
	g.GET("/contacts", p.contactsPage, people)
	g.GET("/contacts/:id", p.contactPage, people)
}

// principal is the person's principal, as the API's handlers read it.
func principal(ec echo.Context) (httpapi.Principal, error) {
	p, ok := httpapi.PrincipalFrom(ec.Request().Context())
	if !ok {
		return httpapi.Principal{}, echo.NewHTTPError(http.StatusUnauthorized, "not signed in")
	}
	return p, nil
}

// notFound answers a record that is not the workspace's as a page.
func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "no such record")
	}
	return fmt.Errorf("capture page: %w", err)
}
