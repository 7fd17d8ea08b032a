package qualify

import (
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
)

// maxAccountQuery bounds the accounts list's search.
const maxAccountQuery = 200

// apiAccountDetail is an account with a page of its contacts and one of its
// opportunities; each page's next_cursor goes back as ?contacts_cursor= or
// ?opportunities_cursor=.
type apiAccountDetail struct {
	Account
	Contacts      httpapi.List[Contact]     `json:"contacts"`
	Opportunities httpapi.List[Opportunity] `json:"opportunities"`
}

// listAccounts pages through accounts: GET /accounts?q=, q a part of the
// name.
func (api *API) listAccounts(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(c.QueryParam("q"))
	if len(q) > maxAccountQuery {
		return echo.NewHTTPError(http.StatusBadRequest, "q is too long")
	}
	as, err := api.engine.Accounts(c.Request().Context(), p.WorkspaceID, accountFilter(q, page))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(httpapi.Map(as, newAccount), limit, func(a Account) uuid.UUID { return a.ID }))
}

// getAccount answers an account with its contacts and opportunities:
// GET /accounts/:id?limit=&contacts_cursor=&opportunities_cursor=.
func (api *API) getAccount(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	cp, show, err := httpapi.ParsePage(c.QueryParam("limit"), c.QueryParam("contacts_cursor"))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "contacts_cursor or limit: "+err.Error())
	}
	op, _, err := httpapi.ParsePage(c.QueryParam("limit"), c.QueryParam("opportunities_cursor"))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "opportunities_cursor: "+err.Error())
	}
	d, err := api.engine.Account(c.Request().Context(), p.WorkspaceID, id, cp, op)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiAccountDetail{
		Account:       newAccount(d.Account),
		Contacts:      httpapi.ListOf(httpapi.Map(d.Contacts, newContact), show, func(ct Contact) uuid.UUID { return ct.ID }),
		Opportunities: httpapi.ListOf(httpapi.Map(d.Opportunities, newOpportunity), show, func(o Opportunity) uuid.UUID { return o.ID }),
	})
}
