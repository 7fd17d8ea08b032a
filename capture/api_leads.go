package capture

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// apiLeadResponses is how many of a lead's latest responses its detail
// shows; the rest are paged with GET /responses?lead_id=.
const apiLeadResponses = 50

// apiLeadView is a lead with its history. A merged lead is shown too, with
// merged_into naming the lead that absorbed it, so clients can follow.
type apiLeadView struct {
	store.Lead
	Responses          []store.Response          `json:"responses"`
	Audit              []store.AuditEntry        `json:"audit"`
	PossibleDuplicates []store.PossibleDuplicate `json:"possible_duplicates"`
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
	return c.JSON(http.StatusOK, httpapi.ListOf(ls, limit, func(l store.Lead) uuid.UUID { return l.ID }))
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
	other, err := uuid.Parse(b.OtherID)
	switch {
	case b.OtherID == "":
		return &ValidationError{Fields: map[string]string{"other_id": "is required"}}
	case err != nil:
		return &ValidationError{Fields: map[string]string{"other_id": "is not a valid id"}}
	case other == id:
		return &ValidationError{Fields: map[string]string{"other_id": "must name another lead"}}
	}
	ctx := c.Request().Context()
	kept, err := a.merger.MergeLeads(ctx, p.WorkspaceID, id, other, p.Actor())
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
	v := apiLeadView{Lead: l}
	if v.Responses, err = a.store.LeadResponses(ctx, workspaceID, id, apiLeadResponses); err != nil {
		return apiLeadView{}, err
	}
	if v.Audit, err = a.store.LeadAudit(ctx, workspaceID, id); err != nil {
		return apiLeadView{}, err
	}
	if v.PossibleDuplicates, err = a.store.LeadPossibleDuplicates(ctx, workspaceID, id); err != nil {
		return apiLeadView{}, err
	}
	return v, nil
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
