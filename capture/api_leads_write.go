package capture

import (
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// apiReferral is the body of POST /leads: a person someone refers by hand.
type apiReferral struct {
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
	PrimaryInterest string            `json:"primary_interest"`
	Custom          map[string]string `json:"custom"`
	// ReferredBy says who referred the person, for the audit trail.
	ReferredBy string `json:"referred_by"`
}

// apiReferred is the answer to a referral: the lead, how the referral found
// or made it, and what it filled of an existing lead.
type apiReferred struct {
	Outcome string      `json:"outcome"`
	Filled  []string    `json:"filled"`
	Lead    apiLeadView `json:"lead"`
}

// apiLeadStatus is the body of POST /leads/{id}/status.
type apiLeadStatus struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// apiResubscribe is the body of POST /leads/{id}/resubscribe.
type apiResubscribe struct {
	ConsentText   string `json:"consent_text"`
	ConsentSource string `json:"consent_source"`
}

// referLead resolves a referred person to their lead: 201 with a new lead,
// 200 with the person's existing one.
func (a *API) referLead(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	var b apiReferral
	if err := httpapi.Decode(c, apiMaxBody, &b); err != nil {
		return err
	}
	person, err := b.person()
	if err != nil {
		return err
	}
	origin := map[string]any{"source": LeadSourceReferral}
	if by := NormalizeLine(b.ReferredBy); by != "" {
		origin["referred_by"] = by
	}
	ctx := c.Request().Context()
	ref, err := a.referrer.Refer(ctx, p.WorkspaceID, person, origin, p.Actor())
	if err != nil {
		return err
	}
	v, err := a.leadView(ctx, p.WorkspaceID, ref.Lead.ID)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if ref.Result == OutcomeMerged {
		status = http.StatusOK
	}
	filled := ref.Filled
	if filled == nil {
		filled = []string{}
	}
	return c.JSON(status, apiReferred{Outcome: ref.Result, Filled: filled, Lead: v})
}

// person checks a referral and shapes it as a lead, normalised as a
// submission is. Every field at fault is named at once.
func (b apiReferral) person() (store.Lead, error) {
	l := store.Lead{
		FirstName:       NormalizeName(b.FirstName),
		LastName:        NormalizeName(b.LastName),
		Company:         NormalizeLine(b.Company),
		Title:           NormalizeLine(b.Title),
		City:            NormalizeLine(b.City),
		State:           NormalizeLine(b.State),
		Country:         NormalizeLine(b.Country),
		LeadSource:      NormalizeLine(b.LeadSource),
		Description:     strings.TrimSpace(b.Description),
		PrimaryInterest: NormalizeLine(b.PrimaryInterest),
	}
	bad := map[string]string{}
	for name, v := range map[string]string{
		"first_name": l.FirstName, "last_name": l.LastName, "company": l.Company, "title": l.Title,
		"city": l.City, "state": l.State, "country": l.Country, "lead_source": l.LeadSource,
		"primary_interest": l.PrimaryInterest, "referred_by": NormalizeLine(b.ReferredBy),
	} {
		if len(v) > apiMaxTextLen {
			bad[name] = "must be at most 200 characters"
		}
	}
	if len(l.Description) > leadReasonMaxLen {
		bad["description"] = "must be at most 2000 characters"
	}
	if l.PrimaryInterest != "" {
		l.Interests = []string{l.PrimaryInterest}
	}
	var err error
	if strings.TrimSpace(b.Email) != "" {
		if l.Email, l.EmailCanonical, err = NormalizeEmail(b.Email); err != nil {
			bad["email"] = err.Error()
		}
	}
	if strings.TrimSpace(b.Phone) != "" {
		if l.Phone, err = NormalizePhone(b.Phone, phoneRegion(l.Country)); err != nil {
			bad["phone"] = err.Error()
		}
	}
	if strings.TrimSpace(b.Email) == "" && strings.TrimSpace(b.Phone) == "" {
		bad["email"] = "email or phone is required"
		bad["phone"] = "email or phone is required"
	}
	if len(b.Custom) > maxLeadCustomFields {
		bad["custom"] = "too many fields"
	}
	for k, v := range b.Custom {
		if k = strings.TrimSpace(k); k == "" || len(k) > apiMaxTextLen || len(v) > leadReasonMaxLen {
			bad["custom"] = "names must be 1 to 200 characters and values at most 2000"
			continue
		}
		if l.Custom == nil {
			l.Custom = map[string]string{}
		}
		l.Custom[k] = v
	}
	if len(bad) > 0 {
		return store.Lead{}, &ValidationError{Fields: bad}
	}
	return l, nil
}

// editLead changes the fields sent, each change in the audit trail; a
// field sent as null (owner_id, a custom field) is cleared.
func (a *API) editLead(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	_, members, err := httpapi.ReadObject(c, apiMaxBody)
	if err != nil {
		return err
	}
	var e LeadEdit
	targets := map[string]any{
		"first_name": &e.FirstName, "last_name": &e.LastName, "email": &e.Email, "phone": &e.Phone,
		"company": &e.Company, "title": &e.Title, "city": &e.City, "state": &e.State,
		"country": &e.Country, "lead_source": &e.LeadSource, "description": &e.Description,
		"primary_interest": &e.PrimaryInterest, "owner_id": &e.OwnerID, "custom": &e.Custom,
	}
	if err := httpapi.Bind(members, targets); err != nil {
		return err
	}
	_, e.OwnerSet = members["owner_id"]
	if len(members) == 0 {
		return &ValidationError{Fields: map[string]string{"": "name at least one field to change"}}
	}
	ctx := c.Request().Context()
	if _, err := a.EditLead(ctx, p.WorkspaceID, id, e, p.Actor()); err != nil {
		return err
	}
	return a.replyLead(c, p.WorkspaceID, id)
}

func (a *API) changeLeadStatus(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	var b apiLeadStatus
	if err := httpapi.Decode(c, apiMaxBody, &b); err != nil {
		return err
	}
	if _, err := a.ChangeLeadStatus(c.Request().Context(), p.WorkspaceID, id, b.Status, b.Reason, p.Actor()); err != nil {
		return err
	}
	return a.replyLead(c, p.WorkspaceID, id)
}

func (a *API) resubscribeLead(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	var b apiResubscribe
	if err := httpapi.Decode(c, apiMaxBody, &b); err != nil {
		return err
	}
	if _, err := a.Resubscribe(c.Request().Context(), p.WorkspaceID, id, b.ConsentText, b.ConsentSource, p.Actor()); err != nil {
		return err
	}
	return a.replyLead(c, p.WorkspaceID, id)
}

// replyLead answers with the lead's view as it now stands.
func (a *API) replyLead(c echo.Context, workspaceID, id uuid.UUID) error {
	v, err := a.leadView(c.Request().Context(), workspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}
