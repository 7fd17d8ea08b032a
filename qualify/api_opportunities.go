package qualify

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Opportunity is how the API shows a store.Opportunity.
type Opportunity struct {
	ID        uuid.UUID `json:"id"`
	AccountID uuid.UUID `json:"account_id"`
	// ContactID is null when the opportunity names no contact.
	ContactID *uuid.UUID `json:"contact_id"`
	// LeadID is the source lead; null for an opportunity sales made from
	// scratch, which no lead or response is behind.
	LeadID    *uuid.UUID `json:"lead_id"`
	HandoffID *uuid.UUID `json:"handoff_id"`
	Name      string     `json:"name"`
	// Amount is the numeric(14,2) as text ("1500.00"): money is never a float.
	Amount      string `json:"amount"`
	Stage       string `json:"stage"`
	Probability int    `json:"probability"`
	// ExpectedCloseDate is a calendar date, YYYY-MM-DD.
	ExpectedCloseDate *string    `json:"expected_close_date"`
	InForecast        bool       `json:"in_forecast"`
	OwnerID           *uuid.UUID `json:"owner_id"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

func newOpportunity(r store.Opportunity) Opportunity {
	return Opportunity{
		ID:                r.ID,
		AccountID:         r.AccountID,
		ContactID:         idOrNull(r.ContactID),
		LeadID:            idOrNull(r.LeadID),
		HandoffID:         r.HandoffID,
		Name:              r.Name,
		Amount:            r.Amount,
		Stage:             r.Stage,
		Probability:       r.Probability,
		ExpectedCloseDate: r.ExpectedCloseDate,
		InForecast:        r.InForecast,
		OwnerID:           r.OwnerID,
		CreatedAt:         r.CreatedAt,
		UpdatedAt:         r.UpdatedAt,
	}
}

// idOrNull is a reference the store keeps as uuid.Nil when there is none.
func idOrNull(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// StageChange is how the API shows a store.StageChange.
type StageChange struct {
	FromStage string    `json:"from_stage"`
	ToStage   string    `json:"to_stage"`
	Actor     string    `json:"actor"`
	At        time.Time `json:"at"`
}

func newStageChange(r store.StageChange) StageChange {
	return StageChange{
		FromStage: r.FromStage,
		ToStage:   r.ToStage,
		Actor:     r.Actor,
		At:        r.At,
	}
}

// apiOpportunityDetail is an opportunity with its stage history (see
// OpportunityDetail).
type apiOpportunityDetail struct {
	Opportunity
	StageHistory []StageChange `json:"stage_history"`
}

func newAPIOpportunityDetail(d OpportunityDetail) apiOpportunityDetail {
	return apiOpportunityDetail{Opportunity: newOpportunity(d.Opportunity), StageHistory: httpapi.Map(d.StageHistory, newStageChange)}
}

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
	return c.JSON(http.StatusOK, httpapi.ListOf(httpapi.Map(opps, newOpportunity), limit, func(o Opportunity) uuid.UUID { return o.ID }))
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
	return c.JSON(http.StatusOK, newAPIOpportunityDetail(o))
}

// createOpportunity makes an opportunity from scratch, with no lead behind
// it: POST /opportunities (see Engine.CreateOpportunity). It is not
// idempotent: a retried request makes a second opportunity.
func (api *API) createOpportunity(c echo.Context) error {
	p, actor, err := api.apiActor(c)
	if err != nil {
		return err
	}
	var in OpportunityInput
	if err := httpapi.Decode(c, apiMaxBody, &in); err != nil {
		return err
	}
	o, err := api.engine.CreateOpportunity(c.Request().Context(), p.WorkspaceID, workerOf(p), actor, in)
	if err != nil {
		return forbidden(err)
	}
	return c.JSON(http.StatusCreated, newAPIOpportunityDetail(o))
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
	return c.JSON(http.StatusOK, newAPIOpportunityDetail(o))
}

// isSalesAdmin tells whether the request's key may decide the forecast.
func (api *API) isSalesAdmin(c echo.Context, p httpapi.Principal) (bool, error) {
	return api.engine.IsSalesAdmin(c.Request().Context(), p.WorkspaceID, workerOf(p))
}
