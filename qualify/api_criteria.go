package qualify

import (
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/store"
)

// apiCriteria is the body of POST /criteria.
type apiCriteria struct {
	Name        string `json:"name"`
	Expression  string `json:"expression"`
	Description string `json:"description"`
	AgreedBy    struct {
		Marketing string `json:"marketing"`
		Sales     string `json:"sales"`
	} `json:"agreed_by"`
}

// createCriteria saves a criteria version: a new name is version 1, an
// existing name its next version. It is inactive until activated.
func (a *API) createCriteria(c echo.Context) error {
	p, err := apiPrincipal(c)
	if err != nil {
		return err
	}
	var b apiCriteria
	if err := apiDecode(c, &b); err != nil {
		return err
	}
	cr, err := a.engine.CreateCriteria(c.Request().Context(), p.WorkspaceID, CriteriaInput{
		Name: b.Name, Expression: b.Expression, Description: b.Description,
		AgreedByMarketing: b.AgreedBy.Marketing, AgreedBySales: b.AgreedBy.Sales,
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/criteria/"+cr.ID.String())
	return c.JSON(http.StatusCreated, cr)
}

// listCriteria pages through every version, newest first; ?name= keeps one
// name's versions.
func (a *API) listCriteria(c echo.Context) error {
	p, err := apiPrincipal(c)
	if err != nil {
		return err
	}
	page, limit, err := apiPage(c)
	if err != nil {
		return err
	}
	cs, err := a.store.ListCriteria(c.Request().Context(), p.WorkspaceID, store.CriteriaFilter{
		Name: strings.TrimSpace(c.QueryParam("name")), Page: page,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, store.ListOf(cs, limit, func(c store.Criteria) uuid.UUID { return c.ID }))
}

func (a *API) getCriteria(c echo.Context) error {
	p, err := apiPrincipal(c)
	if err != nil {
		return err
	}
	id, err := apiPathID(c)
	if err != nil {
		return err
	}
	cr, err := a.store.GetCriteria(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cr)
}

func (a *API) activateCriteria(c echo.Context) error {
	p, err := apiPrincipal(c)
	if err != nil {
		return err
	}
	id, err := apiPathID(c)
	if err != nil {
		return err
	}
	cr, err := a.engine.ActivateCriteria(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cr)
}
