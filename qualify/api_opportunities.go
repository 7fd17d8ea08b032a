package qualify

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// listOpportunities pages through opportunities:
// GET /opportunities?stage=&owner_id=&in_forecast=.
func (api *API) listOpportunities(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	f := store.OpportunityFilter{Stage: c.QueryParam("stage"), Page: page}
	if v := c.QueryParam("owner_id"); v != "" {
		if f.OwnerID, err = uuid.Parse(v); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "owner_id is not a valid id")
		}
	}
	if v := c.QueryParam("in_forecast"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "in_forecast must be true or false")
		}
		f.InForecast = &b
	}
	opps, err := api.engine.Opportunities(c.Request().Context(), p.WorkspaceID, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(opps, limit, func(o store.Opportunity) uuid.UUID { return o.ID }))
}

// getOpportunity answers an opportunity with its stage history:
// GET /opportunities/:id.
func (api *API) getOpportunity(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	o, err := api.engine.Opportunity(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

// updateOpportunity changes an opportunity: PATCH /opportunities/:id.
// in_forecast is a sales admin's decision: an admin key's, or a sales key's
// acting as a user whose role is sales_admin.
func (api *API) updateOpportunity(c echo.Context) error {
	p, actor, err := api.apiActor(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	var patch OpportunityPatch
	if err := httpapi.Decode(c, apiMaxBody, &patch); err != nil {
		return err
	}
	if err := api.mayEditOpportunity(c, p, id); err != nil {
		return err
	}
	if patch.InForecast != nil {
		ok, err := api.isSalesAdmin(c, p)
		if err != nil {
			return err
		}
		if !ok {
			return echo.NewHTTPError(http.StatusForbidden,
				"in_forecast may be set only by a sales admin: an admin key, or a key acting as a sales_admin user")
		}
	}
	o, err := api.engine.UpdateOpportunity(c.Request().Context(), p.WorkspaceID, id, actor, patch)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

// isSalesAdmin tells whether the request's key may decide the forecast.
func (api *API) isSalesAdmin(c echo.Context, p httpapi.Principal) (bool, error) {
	if p.Role == store.RoleAdmin {
		return true, nil
	}
	if p.Role != store.RoleSales {
		return false, nil
	}
	u, err := api.store.UserOfAPIKey(c.Request().Context(), p.WorkspaceID, p.KeyID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return u.Role == store.UserSalesAdmin, nil
}
