package qualify

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// apiCall is the body of POST /leads/:id/qualification.
type apiCall struct {
	Outcome         string  `json:"outcome"`
	Reason          string  `json:"reason"`
	FollowUpAt      *string `json:"follow_up_at"`
	Need            *string `json:"need"`
	Authority       *string `json:"authority"`
	Budget          *string `json:"budget"`
	Timeline        *string `json:"timeline"`
	PrimaryInterest *string `json:"primary_interest"`
}

// QualificationDecision is how the API shows a store.QualificationDecision.
type QualificationDecision struct {
	ID              uuid.UUID      `json:"id"`
	LeadID          uuid.UUID      `json:"lead_id"`
	CriteriaID      *uuid.UUID     `json:"criteria_id"`
	CriteriaVersion *int           `json:"criteria_version"`
	Outcome         string         `json:"outcome"`
	Values          map[string]any `json:"values"`
	Actor           string         `json:"actor"`
	Reason          string         `json:"reason,omitempty"`
	CreatedAt       time.Time      `json:"created_at"`
}

func newQualificationDecision(r store.QualificationDecision) QualificationDecision {
	return QualificationDecision{
		ID:              r.ID,
		LeadID:          r.LeadID,
		CriteriaID:      r.CriteriaID,
		CriteriaVersion: r.CriteriaVersion,
		Outcome:         r.Outcome,
		Values:          r.Values,
		Actor:           r.Actor,
		Reason:          r.Reason,
		CreatedAt:       r.CreatedAt,
	}
}

// apiCallResult is what recording a qualification call answers (see
// CallResult).
type apiCallResult struct {
	Decision QualificationDecision `json:"decision"`
	Lead     Lead                  `json:"lead"`
	Handoff  *Handoff              `json:"handoff"`
	// Opportunity is the one a call on a converted lead made.
	Opportunity *Opportunity `json:"opportunity,omitempty"`
}

func newAPICallResult(r CallResult) apiCallResult {
	return apiCallResult{Decision: newQualificationDecision(r.Decision), Lead: newLead(r.Lead), Handoff: httpapi.MapPtr(r.Handoff, newHandoff),
		Opportunity: httpapi.MapPtr(r.Opportunity, newOpportunity)}
}

// apiQualification is a lead's qualification: every decision so far and
// what the active criteria make of it now.
type apiQualification struct {
	Decisions  []QualificationDecision `json:"decisions"`
	Evaluation Evaluation              `json:"evaluation"`
}

// recordCall records inside sales' qualification call on a lead.
func (a *API) recordCall(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	var b apiCall
	if err := httpapi.Decode(c, apiMaxBody, &b); err != nil {
		return err
	}
	call := Call{
		Outcome: b.Outcome, Reason: b.Reason, Need: b.Need, Authority: b.Authority,
		Budget: b.Budget, Timeline: b.Timeline, PrimaryInterest: b.PrimaryInterest,
	}
	if b.FollowUpAt != nil && *b.FollowUpAt != "" {
		t, err := parseFollowUp(*b.FollowUpAt)
		if err != nil {
			return invalid("follow_up_at", "must be a time like 2030-01-31T09:00:00Z or a date like 2030-01-31")
		}
		call.FollowUpAt = &t
	}
	res, err := a.engine.RecordCall(c.Request().Context(), p.WorkspaceID, id, call, p.Actor())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newAPICallResult(res))
}

// parseFollowUp reads an RFC 3339 time, or a date (its start, in UTC).
func parseFollowUp(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

func (a *API) getQualification(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ds, err := a.engine.Decisions(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	ev, err := a.engine.Evaluate(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiQualification{Decisions: httpapi.Map(orEmpty(ds), newQualificationDecision), Evaluation: ev})
}
