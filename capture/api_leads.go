package capture

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// apiLeadResponses is how many of a lead's latest responses its detail
// shows; the rest are paged with GET /responses?lead_id=.
const apiLeadResponses = 50

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

// AuditEntry is how the API shows a store.AuditEntry.
type AuditEntry struct {
	ID         int64          `json:"id"`
	LeadID     uuid.UUID      `json:"lead_id"`
	At         time.Time      `json:"at"`
	Actor      string         `json:"actor"`
	Action     string         `json:"action"`
	Field      string         `json:"field,omitempty"`
	OldValue   string         `json:"old_value,omitempty"`
	NewValue   string         `json:"new_value,omitempty"`
	ResponseID *uuid.UUID     `json:"response_id,omitempty"`
	Detail     map[string]any `json:"detail,omitempty"`
}

func newAuditEntry(r store.AuditEntry) AuditEntry {
	return AuditEntry{
		ID:         r.ID,
		LeadID:     r.LeadID,
		At:         r.At,
		Actor:      r.Actor,
		Action:     r.Action,
		Field:      r.Field,
		OldValue:   r.OldValue,
		NewValue:   r.NewValue,
		ResponseID: r.ResponseID,
		Detail:     r.Detail,
	}
}

// PossibleDuplicate is how the API shows a store.PossibleDuplicate.
type PossibleDuplicate struct {
	ID             uuid.UUID  `json:"id"`
	LeadID         uuid.UUID  `json:"lead_id"`
	MatchLeadID    *uuid.UUID `json:"match_lead_id,omitempty"`
	MatchContactID *uuid.UUID `json:"match_contact_id,omitempty"`
	Similarity     float32    `json:"similarity"`
	Status         string     `json:"status"`
	CreatedAt      time.Time  `json:"created_at"`
	// Reason says why the pair was flagged: similar_name, shared_phone or
	// shared_identity.
	Reason string `json:"reason"`
}

func newPossibleDuplicate(r store.PossibleDuplicate) PossibleDuplicate {
	return PossibleDuplicate{
		ID:             r.ID,
		LeadID:         r.LeadID,
		MatchLeadID:    r.MatchLeadID,
		MatchContactID: r.MatchContactID,
		Similarity:     r.Similarity,
		Status:         r.Status,
		CreatedAt:      r.CreatedAt,
		Reason:         r.Reason,
	}
}

// LeadSuppression is why marketing email no longer goes to a lead's
// address, and since when: unsubscribed, bounced or complained.
type LeadSuppression struct {
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// leadSuppression is the suppression of the lead's address, nil when it
// may be emailed.
func leadSuppression(ctx context.Context, st *store.Store, l store.Lead) (*LeadSuppression, error) {
	if l.EmailCanonical == "" {
		return nil, nil
	}
	s, err := optional(st.GetSuppression(ctx, l.WorkspaceID, l.EmailCanonical))
	if err != nil || s == nil {
		return nil, err
	}
	return &LeadSuppression{Reason: s.Reason, Since: s.CreatedAt}, nil
}

// apiLeadView is a lead with its history. A merged lead is shown too, with
// merged_into naming the lead that absorbed it, so clients can follow.
type apiLeadView struct {
	Lead
	// Suppression is set when the lead's address may not be emailed.
	Suppression        *LeadSuppression    `json:"suppression"`
	Responses          []Response          `json:"responses"`
	Audit              []AuditEntry        `json:"audit"`
	PossibleDuplicates []PossibleDuplicate `json:"possible_duplicates"`
}

// apiMerge is the body of a manual merge.
type apiMerge struct {
	OtherID string `json:"other_id"`
}

func (a *API) listLeads(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	f := store.LeadFilter{Page: page, Q: strings.TrimSpace(c.QueryParam("q"))}
	if len(f.Q) > apiMaxTextLen {
		return echo.NewHTTPError(http.StatusBadRequest, "q is too long")
	}
	if email := c.QueryParam("email"); email != "" {
		f.EmailCanonical = apiCanonicalEmail(email)
	}
	f.Status, err = httpapi.QueryOneOf(c, "status",
		store.LeadNew, store.LeadNurturing, store.LeadMarketingQualified, store.LeadSalesAccepted,
		store.LeadConverted, store.LeadContacted, store.LeadDisqualified, store.LeadRecycled)
	if err != nil {
		return err
	}
	ls, err := a.store.ListLeads(c.Request().Context(), p.WorkspaceID, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(httpapi.Map(ls, newLead), limit, func(l Lead) uuid.UUID { return l.ID }))
}

func (a *API) getLead(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	v, err := a.leadView(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// mergeLeads merges other_id into the lead of the path, which is kept.
func (a *API) mergeLeads(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	var b apiMerge
	if err := httpapi.Decode(c, apiMaxBody, &b); err != nil {
		return err
	}
	ctx := c.Request().Context()
	kept, err := a.merge(ctx, p.WorkspaceID, id, b.OtherID, p.Actor())
	if err != nil {
		return err
	}
	v, err := a.leadView(ctx, p.WorkspaceID, kept.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (a *API) leadView(ctx context.Context, workspaceID, id uuid.UUID) (apiLeadView, error) {
	l, err := a.store.GetLead(ctx, workspaceID, id)
	if err != nil {
		return apiLeadView{}, err
	}
	responses, err := a.store.LeadResponses(ctx, workspaceID, id, apiLeadResponses)
	if err != nil {
		return apiLeadView{}, err
	}
	audit, err := a.store.LeadAudit(ctx, workspaceID, id)
	if err != nil {
		return apiLeadView{}, err
	}
	dups, err := a.store.LeadPossibleDuplicates(ctx, workspaceID, id)
	if err != nil {
		return apiLeadView{}, err
	}
	sup, err := leadSuppression(ctx, a.store, l)
	if err != nil {
		return apiLeadView{}, err
	}
	return apiLeadView{
		Lead:               newLead(l),
		Suppression:        sup,
		Responses:          httpapi.Map(responses, newResponse),
		Audit:              httpapi.Map(audit, newAuditEntry),
		PossibleDuplicates: httpapi.Map(dups, newPossibleDuplicate),
	}, nil
}

// apiCanonicalEmail is the canonical form an email filter compares. A value
// that is not an address is only trimmed and lower-cased: it matches nothing
// rather than failing the search.
func apiCanonicalEmail(s string) string {
	if _, canonical, err := NormalizeEmail(s); err == nil {
		return canonical
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// merge merges the lead named by otherID into keepID: what the API and the
// console both merge with.
func (a *API) merge(ctx context.Context, workspaceID, keepID uuid.UUID, otherID, actor string) (store.Lead, error) {
	other, err := uuid.Parse(otherID)
	switch {
	case otherID == "":
		return store.Lead{}, &ValidationError{Fields: map[string]string{"other_id": "is required"}}
	case err != nil:
		return store.Lead{}, &ValidationError{Fields: map[string]string{"other_id": "is not a valid id"}}
	case other == keepID:
		return store.Lead{}, &ValidationError{Fields: map[string]string{"other_id": "must name another lead"}}
	}
	return a.merger.MergeLeads(ctx, workspaceID, keepID, other, actor)
}
