package qualify

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
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

// Criteria statuses as the API shows them.
const (
	CriteriaActive      = "active"
	CriteriaInactive    = "inactive"
	CriteriaDeactivated = "deactivated"
)

// Criteria is how the API shows a store.Criteria.
type Criteria struct {
	ID                uuid.UUID  `json:"id"`
	Name              string     `json:"name"`
	Version           int        `json:"version"`
	Expression        string     `json:"expression"`
	Description       string     `json:"description"`
	AgreedByMarketing string     `json:"agreed_by_marketing"`
	AgreedBySales     string     `json:"agreed_by_sales"`
	Active            bool       `json:"active"`
	CreatedAt         time.Time  `json:"created_at"`
	ActivatedAt       *time.Time `json:"activated_at"`
	// DeactivatedAt and DeactivatedReason say when and why the system took
	// the version out of service (it failed at run time); activating it
	// again clears them.
	DeactivatedAt     *time.Time `json:"deactivated_at"`
	DeactivatedReason string     `json:"deactivated_reason,omitempty"`
}

func newCriteria(r store.Criteria) Criteria {
	return Criteria{
		ID:                r.ID,
		Name:              r.Name,
		Version:           r.Version,
		Expression:        r.Expression,
		Description:       r.Description,
		AgreedByMarketing: r.AgreedByMarketing,
		AgreedBySales:     r.AgreedBySales,
		Active:            r.Active,
		CreatedAt:         r.CreatedAt,
		ActivatedAt:       r.ActivatedAt,
		DeactivatedAt:     r.DeactivatedAt,
		DeactivatedReason: r.DeactivatedReason,
	}
}

// CriteriaEvent is how the API shows a store.CriteriaEvent.
type CriteriaEvent struct {
	Action string    `json:"action"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

func newCriteriaEvent(r store.CriteriaEvent) CriteriaEvent {
	return CriteriaEvent{
		Action: r.Action,
		Actor:  r.Actor,
		Reason: r.Reason,
		At:     r.At,
	}
}

// apiCriteriaView is a criteria version with its status: active, inactive,
// or deactivated (taken out of service by leadflow because it failed at
// run time, with deactivated_reason); one version's view also carries its
// trail of deactivations.
type apiCriteriaView struct {
	Criteria
	Status string          `json:"status"`
	Events []CriteriaEvent `json:"events,omitempty"`
}

func criteriaView(c store.Criteria) apiCriteriaView {
	v := apiCriteriaView{Criteria: newCriteria(c), Status: CriteriaInactive}
	switch {
	case c.Active:
		v.Status = CriteriaActive
	case c.DeactivatedAt != nil:
		v.Status = CriteriaDeactivated
	}
	return v
}

// createCriteria saves a criteria version: a new name is version 1, an
// existing name its next version. It is inactive until activated.
func (a *API) createCriteria(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	var b apiCriteria
	if err := httpapi.Decode(c, apiMaxBody, &b); err != nil {
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
	return c.JSON(http.StatusCreated, criteriaView(cr))
}

// listCriteria pages through every version, newest first; ?name= keeps one
// name's versions.
func (a *API) listCriteria(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	cs, err := a.store.ListCriteria(c.Request().Context(), p.WorkspaceID, store.CriteriaFilter{
		Name: strings.TrimSpace(c.QueryParam("name")), Page: page,
	})
	if err != nil {
		return err
	}
	list := httpapi.ListOf(cs, limit, func(c store.Criteria) uuid.UUID { return c.ID })
	views := make([]apiCriteriaView, len(list.Items))
	for i, cr := range list.Items {
		views[i] = criteriaView(cr)
	}
	return c.JSON(http.StatusOK, httpapi.List[apiCriteriaView]{Items: views, NextCursor: list.NextCursor})
}

func (a *API) getCriteria(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	cr, err := a.store.GetCriteria(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	events, err := a.store.CriteriaEvents(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	v := criteriaView(cr)
	v.Events = httpapi.Map(events, newCriteriaEvent)
	return c.JSON(http.StatusOK, v)
}

func (a *API) activateCriteria(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	cr, err := a.engine.ActivateCriteria(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, criteriaView(cr))
}
