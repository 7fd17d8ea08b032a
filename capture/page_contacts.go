package capture

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// pageContactLeads bounds the leads a contact's page lists.
const pageContactLeads = 50

type contactsView struct {
	Q, QError string
	Contacts  []store.Contact
	// NextURL links to the next page, the filters kept; a whole URL, so
	// html/template normalises it rather than escaping its query as a value.
	NextURL string
}

func (p *Pages) contactsPage(ec echo.Context) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(ec)
	if err != nil {
		return err
	}
	v := contactsView{Q: strings.TrimSpace(ec.QueryParam("q"))}
	if len(v.Q) > apiMaxTextLen {
		v.QError = fmt.Sprintf("At most %d characters.", apiMaxTextLen)
		return p.con.Render(ec, http.StatusUnprocessableEntity, p.t.contacts, "Contacts", v)
	}
	cs, err := p.api.store.ListContacts(ec.Request().Context(), pr.WorkspaceID, store.ContactFilter{Q: v.Q, Page: page})
	if err != nil {
		return fmt.Errorf("contacts page: %w", err)
	}
	var next string
	v.Contacts, next = pageOf(cs, limit, func(c store.Contact) uuid.UUID { return c.ID })
	if next != "" {
		q := url.Values{"cursor": {next}}
		if v.Q != "" {
			q.Set("q", v.Q)
		}
		v.NextURL = "/console/contacts?" + q.Encode()
	}
	return p.con.Render(ec, http.StatusOK, p.t.contacts, "Contacts", v)
}

type contactView struct {
	Contact store.Contact
	Leads   []store.Lead
}

func (p *Pages) contactPage(ec echo.Context) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(ec)
	if err != nil {
		return notFound(err)
	}
	ctx := ec.Request().Context()
	c, err := p.api.store.GetContact(ctx, pr.WorkspaceID, id)
	if err != nil {
		return notFound(err)
	}
	ls, err := p.api.store.ContactLeads(ctx, pr.WorkspaceID, id, pageContactLeads)
	if err != nil {
		return fmt.Errorf("contact page: %w", err)
	}
	name := strings.TrimSpace(c.FirstName + " " + c.LastName)
	return p.con.Render(ec, http.StatusOK, p.t.contact, "Contact "+cmpOr(name, c.Email), contactView{Contact: c, Leads: ls})
}
