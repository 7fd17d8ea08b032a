package qualify

import (
	"net/http"
	"slices"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// apiHandoff is a handoff with its lead and its history, oldest first.
type apiHandoff struct {
	store.Handoff
	Lead   store.Lead                   `json:"lead"`
	Events []store.HandoffDecisionEvent `json:"events"`
}

var handoffStatuses = []string{store.HandoffOpen, store.HandoffAccepted, store.HandoffRejected}

// listHandoffs is the sales inbox: ?status= (open, accepted, rejected) and
// ?owner_id= narrow it; owner_id=none lists the unassigned ones.
func (a *API) listHandoffs(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	f := store.HandoffFilter{Page: page}
	if v := c.QueryParam("status"); v != "" {
		if !slices.Contains(handoffStatuses, v) {
			return echo.NewHTTPError(http.StatusBadRequest, "status must be one of open, accepted, rejected")
		}
		f.Status = v
	}
	switch v := c.QueryParam("owner_id"); v {
	case "":
	case "none":
		f.Unassigned = true
	default:
		if f.OwnerID, err = uuid.Parse(v); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "owner_id is not a valid id")
		}
	}
	hs, err := a.store.ListHandoffs(c.Request().Context(), p.WorkspaceID, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(hs, limit, func(h store.Handoff) uuid.UUID { return h.ID }))
}

func (a *API) getHandoff(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var out apiHandoff
	if out.Handoff, err = a.store.GetHandoff(ctx, p.WorkspaceID, id); err != nil {
		return err
	}
	if out.Lead, err = a.store.GetLead(ctx, p.WorkspaceID, out.LeadID); err != nil {
		return err
	}
	if out.Events, err = a.store.HandoffDecisionEvents(ctx, p.WorkspaceID, id); err != nil {
		return err
	}
	out.Events = orEmpty(out.Events)
	return c.JSON(http.StatusOK, out)
}
