package qualify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// actingUser is the person a request acts as: the person signed in to the
// console, or the user an API key acts as. A key acting as nobody gets
// store.ErrNotFound.
func (api *API) actingUser(ctx context.Context, p httpapi.Principal) (store.User, error) {
	if p.UserID == uuid.Nil {
		return store.User{}, fmt.Errorf("acting user: %w", store.ErrNotFound)
	}
	return api.store.GetUser(ctx, p.WorkspaceID, p.UserID)
}

// apiActor names who makes a request in audit trails and decisions: the
// user the API key acts as when it acts as one (a sales rep accepting
// their handoff), else the key.
func (api *API) apiActor(c echo.Context) (httpapi.Principal, string, error) {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return httpapi.Principal{}, "", err
	}
	u, err := api.actingUser(c.Request().Context(), p)
	switch {
	case err == nil:
		return p, "user:" + u.ID.String(), nil
	case errors.Is(err, store.ErrNotFound):
		return p, p.Actor(), nil
	}
	return httpapi.Principal{}, "", err
}

// mayWork checks that the request's key may decide on work held by owner
// in team (see Engine.MayWork); a refusal is 403.
func (api *API) mayWork(c echo.Context, p httpapi.Principal, owner, team *uuid.UUID) error {
	return forbidden(api.engine.MayWork(c.Request().Context(), p.WorkspaceID, workerOf(p), owner, team))
}

// workerOf is the worker a request's principal is.
func workerOf(p httpapi.Principal) Worker { return Worker{Role: p.Role, UserID: p.UserID} }

// forbidden answers a *ForbiddenError with 403 and its reason.
func forbidden(err error) error {
	if fe, ok := errors.AsType[*ForbiddenError](err); ok {
		return echo.NewHTTPError(http.StatusForbidden, fe.Reason)
	}
	return err
}

// mayDecideHandoff checks that the key may accept or reject the handoff
// (Engine.WorkHandoff): one it may not read is store.ErrNotFound, as a
// missing one; one it may read but not decide is 403.
func (api *API) mayDecideHandoff(c echo.Context, p httpapi.Principal, id uuid.UUID) (store.Handoff, error) {
	h, err := api.engine.WorkHandoff(c.Request().Context(), p.WorkspaceID, workerOf(p), id)
	return h, forbidden(err)
}

// mayEditOpportunity checks that the key may change the opportunity: its
// owner's, or the team's of the handoff it came from.
func (api *API) mayEditOpportunity(c echo.Context, p httpapi.Principal, id uuid.UUID) error {
	ctx := c.Request().Context()
	o, err := api.store.GetOpportunity(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return forbidden(api.engine.MayWorkOpportunity(ctx, p.WorkspaceID, workerOf(p), o))
}

// Account is how the API shows a store.Account.
type Account struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Domain    string    `json:"domain"`
	CreatedAt time.Time `json:"created_at"`
}

func newAccount(r store.Account) Account {
	return Account{
		ID:        r.ID,
		Name:      r.Name,
		Domain:    r.Domain,
		CreatedAt: r.CreatedAt,
	}
}

// Contact is how the API shows a store.Contact.
type Contact struct {
	ID        uuid.UUID `json:"id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone"`
	Company   string    `json:"company"`
	Title     string    `json:"title"`
	Country   string    `json:"country"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// AccountID is the organisation the contact works for, once known.
	AccountID *uuid.UUID `json:"account_id"`
}

func newContact(r store.Contact) Contact {
	return Contact{
		ID:        r.ID,
		FirstName: r.FirstName,
		LastName:  r.LastName,
		Email:     r.Email,
		Phone:     r.Phone,
		Company:   r.Company,
		Title:     r.Title,
		Country:   r.Country,
		CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt,
		AccountID: r.AccountID,
	}
}

// apiConversion is what accepting a handoff answers (see Conversion).
type apiConversion struct {
	Handoff     Handoff      `json:"handoff"`
	Account     Account      `json:"account"`
	Contact     Contact      `json:"contact"`
	Opportunity *Opportunity `json:"opportunity"`
}

func newAPIConversion(c Conversion) apiConversion {
	return apiConversion{
		Handoff:     newHandoff(c.Handoff),
		Account:     newAccount(c.Account),
		Contact:     newContact(c.Contact),
		Opportunity: httpapi.MapPtr(c.Opportunity, newOpportunity),
	}
}

// apiRejection is what rejecting a handoff answers (see Rejection).
type apiRejection struct {
	Handoff           Handoff    `json:"handoff"`
	Lead              Lead       `json:"lead"`
	RecycleSequenceID *uuid.UUID `json:"recycle_sequence_id"`
}

func newAPIRejection(r Rejection) apiRejection {
	return apiRejection{Handoff: newHandoff(r.Handoff), Lead: newLead(r.Lead), RecycleSequenceID: r.RecycleSequenceID}
}

// acceptRequest is the body of an accept. The opportunity is kept raw so
// that its members are checked as strictly as the top level's.
type acceptRequest struct {
	CreateOpportunity *bool           `json:"create_opportunity"`
	Opportunity       json.RawMessage `json:"opportunity"`
}

// acceptHandoff converts the handoff's lead: POST /handoffs/:id/accept.
// The body may be empty.
func (api *API) acceptHandoff(c echo.Context) error {
	p, actor, err := api.apiActor(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	var req acceptRequest
	if c.Request().ContentLength != 0 {
		if err := httpapi.Decode(c, apiMaxBody, &req); err != nil {
			return err
		}
	}
	h, err := api.mayDecideHandoff(c, p, id)
	if err != nil {
		return err
	}
	// The decision holds only while the handoff keeps the owner it was
	// allowed for.
	in := AcceptInput{CreateOpportunity: req.CreateOpportunity, Owner: h.OwnerID}
	if len(req.Opportunity) > 0 && string(req.Opportunity) != "null" {
		var o NewOpportunity
		if err := httpapi.UnmarshalMember("opportunity", req.Opportunity, &o); err != nil {
			return err
		}
		in.Opportunity = &o
	}
	out, err := api.engine.Accept(c.Request().Context(), p.WorkspaceID, id, actor, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newAPIConversion(out))
}

// rejectRequest is the body of a reject.
type rejectRequest struct {
	Reason string `json:"reason"`
}

// rejectHandoff recycles the handoff's lead: POST /handoffs/:id/reject.
func (api *API) rejectHandoff(c echo.Context) error {
	p, actor, err := api.apiActor(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	var req rejectRequest
	if err := httpapi.Decode(c, apiMaxBody, &req); err != nil {
		return err
	}
	h, err := api.mayDecideHandoff(c, p, id)
	if err != nil {
		return err
	}
	out, err := api.engine.Reject(c.Request().Context(), p.WorkspaceID, id, actor, RejectInput{Reason: req.Reason, Owner: h.OwnerID})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newAPIRejection(out))
}

// reassignRequest is the body of a reassign.
type reassignRequest struct {
	OwnerID uuid.UUID `json:"owner_id"`
}

// reassignHandoff gives an open handoff to another member of the teams the
// key's user manages: POST /handoffs/:id/reassign, as the console's
// reassign does (Engine.Reassign). Giving it to its owner changes nothing
// and answers the handoff as it is.
func (api *API) reassignHandoff(c echo.Context) error {
	p, actor, err := api.apiActor(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	var req reassignRequest
	if err := httpapi.Decode(c, apiMaxBody, &req); err != nil {
		return err
	}
	if req.OwnerID == uuid.Nil {
		return invalid("owner_id", "name the person to give the handoff to")
	}
	ctx := c.Request().Context()
	h, _, err := api.engine.Reassign(ctx, p.WorkspaceID, id, workerOf(p), actor, req.OwnerID)
	if err != nil {
		return forbidden(err)
	}
	return api.renderHandoff(c, p, h)
}
