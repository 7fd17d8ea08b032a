package qualify

import (
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Handoff is how the API shows a store.Handoff.
type Handoff struct {
	ID            uuid.UUID  `json:"id"`
	LeadID        uuid.UUID  `json:"lead_id"`
	DecisionID    uuid.UUID  `json:"decision_id"`
	OwnerID       *uuid.UUID `json:"owner_id"`
	TeamID        *uuid.UUID `json:"team_id"`
	Status        string     `json:"status"`
	SLADueAt      time.Time  `json:"sla_due_at"`
	Reassignments int        `json:"reassignments"`
	Reason        string     `json:"reason,omitempty"`
	DecidedBy     string     `json:"decided_by,omitempty"`
	DecidedAt     *time.Time `json:"decided_at"`
	CreatedAt     time.Time  `json:"created_at"`
}

func newHandoff(r store.Handoff) Handoff {
	return Handoff{
		ID:            r.ID,
		LeadID:        r.LeadID,
		DecisionID:    r.DecisionID,
		OwnerID:       r.OwnerID,
		TeamID:        r.TeamID,
		Status:        r.Status,
		SLADueAt:      r.SLADueAt,
		Reassignments: r.Reassignments,
		Reason:        r.Reason,
		DecidedBy:     r.DecidedBy,
		DecidedAt:     r.DecidedAt,
		CreatedAt:     r.CreatedAt,
	}
}

// HandoffDecisionEvent is how the API shows a store.HandoffDecisionEvent.
type HandoffDecisionEvent struct {
	HandoffID uuid.UUID      `json:"handoff_id"`
	Action    string         `json:"action"`
	OwnerID   *uuid.UUID     `json:"owner_id"`
	Actor     string         `json:"actor"`
	Detail    map[string]any `json:"detail"`
	At        time.Time      `json:"at"`
}

func newHandoffDecisionEvent(r store.HandoffDecisionEvent) HandoffDecisionEvent {
	return HandoffDecisionEvent{
		HandoffID: r.HandoffID,
		Action:    r.Action,
		OwnerID:   r.OwnerID,
		Actor:     r.Actor,
		Detail:    r.Detail,
		At:        r.At,
	}
}

// Lead is how the API shows a store.Lead.
type Lead struct {
	ID              uuid.UUID         `json:"id"`
	FirstName       string            `json:"first_name"`
	LastName        string            `json:"last_name"`
	Email           string            `json:"email"`
	Phone           string            `json:"phone"`
	Company         string            `json:"company"`
	Title           string            `json:"title"`
	City            string            `json:"city"`
	State           string            `json:"state"`
	Country         string            `json:"country"`
	LeadSource      string            `json:"lead_source"`
	Description     string            `json:"description"`
	Campaign        string            `json:"campaign"`
	PrimaryInterest string            `json:"primary_interest"`
	Interests       []string          `json:"interests"`
	Status          string            `json:"status"`
	Score           int               `json:"score"`
	Grade           string            `json:"grade"`
	OwnerID         *uuid.UUID        `json:"owner_id"`
	Consent         bool              `json:"consent"`
	ConsentText     string            `json:"consent_text"`
	ConsentAt       *time.Time        `json:"consent_at"`
	UTM             map[string]string `json:"utm"`
	Custom          map[string]string `json:"custom"`
	ContactID       *uuid.UUID        `json:"contact_id"`
	MergedInto      *uuid.UUID        `json:"merged_into,omitempty"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
	// Timezone is the lead's IANA time zone, when known.
	Timezone string     `json:"timezone"`
	ScoredAt *time.Time `json:"scored_at"`
	// Budget, authority, need and timeline, as recorded by inside sales.
	Budget       string     `json:"budget"`
	Authority    string     `json:"authority"`
	Need         string     `json:"need"`
	Timeline     string     `json:"timeline"`
	FollowUpAt   *time.Time `json:"follow_up_at"`
	StatusReason string     `json:"status_reason,omitempty"`
	// PhoneUnverified is a phone number that did not parse, as typed: for
	// sales to read, never matched on.
	PhoneUnverified string `json:"phone_unverified,omitempty"`
}

func newLead(r store.Lead) Lead {
	return Lead{
		ID:              r.ID,
		FirstName:       r.FirstName,
		LastName:        r.LastName,
		Email:           r.Email,
		Phone:           r.Phone,
		Company:         r.Company,
		Title:           r.Title,
		City:            r.City,
		State:           r.State,
		Country:         r.Country,
		LeadSource:      r.LeadSource,
		Description:     r.Description,
		Campaign:        r.Campaign,
		PrimaryInterest: r.PrimaryInterest,
		Interests:       r.Interests,
		Status:          r.Status,
		Score:           r.Score,
		Grade:           r.Grade,
		OwnerID:         r.OwnerID,
		Consent:         r.Consent,
		ConsentText:     r.ConsentText,
		ConsentAt:       r.ConsentAt,
		UTM:             r.UTM,
		Custom:          r.Custom,
		ContactID:       r.ContactID,
		MergedInto:      r.MergedInto,
		CreatedAt:       r.CreatedAt,
		UpdatedAt:       r.UpdatedAt,
		Timezone:        r.Timezone,
		ScoredAt:        r.ScoredAt,
		Budget:          r.Budget,
		Authority:       r.Authority,
		Need:            r.Need,
		Timeline:        r.Timeline,
		FollowUpAt:      r.FollowUpAt,
		StatusReason:    r.StatusReason,
		PhoneUnverified: r.PhoneUnverified,
	}
}

// apiHandoff is a handoff with its lead and its history, oldest first.
type apiHandoff struct {
	Handoff
	Lead   Lead                   `json:"lead"`
	Events []HandoffDecisionEvent `json:"events"`
}

var handoffStatuses = []string{store.HandoffOpen, store.HandoffAccepted, store.HandoffRejected}

// listHandoffs is the sales inbox: the handoffs the key may read (see
// Engine.HandoffScope); ?status= (open, accepted, rejected) and ?owner_id=
// narrow it; owner_id=none lists the unassigned ones.
func (a *API) listHandoffs(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	scope, err := a.engine.HandoffScope(c.Request().Context(), p.WorkspaceID, workerOf(p))
	if err != nil {
		return err
	}
	f := store.HandoffFilter{Scope: scope, Page: page}
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
	return c.JSON(http.StatusOK, httpapi.ListOf(httpapi.Map(hs, newHandoff), limit, func(h Handoff) uuid.UUID { return h.ID }))
}

// getHandoff is one handoff the key may read, with its lead and history;
// one it may not read is 404, as a missing one.
func (a *API) getHandoff(c echo.Context) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	h, err := a.engine.ReadHandoff(c.Request().Context(), p.WorkspaceID, workerOf(p), id)
	if err != nil {
		return err
	}
	return a.renderHandoff(c, p, h)
}

// renderHandoff answers the handoff with its lead and history.
func (a *API) renderHandoff(c echo.Context, p httpapi.Principal, h store.Handoff) error {
	ctx := c.Request().Context()
	lead, err := a.store.GetLead(ctx, p.WorkspaceID, h.LeadID)
	if err != nil {
		return err
	}
	events, err := a.store.HandoffDecisionEvents(ctx, p.WorkspaceID, h.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiHandoff{Handoff: newHandoff(h), Lead: newLead(lead), Events: httpapi.Map(orEmpty(events), newHandoffDecisionEvent)})
}
