package qualify

import (
	"encoding/json"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
)

// convertRequest is the body of POST /leads/:id/convert. The account and
// the opportunity are kept raw so that their members are checked as
// strictly as the top level's.
type convertRequest struct {
	AccountID         *uuid.UUID      `json:"account_id"`
	Account           json.RawMessage `json:"account"`
	ContactID         *uuid.UUID      `json:"contact_id"`
	CreateOpportunity *bool           `json:"create_opportunity"`
	Opportunity       json.RawMessage `json:"opportunity"`
}

// convertAccount is the new account a conversion is asked to make.
type convertAccount struct {
	Name   string `json:"name"`
	Domain string `json:"domain"`
}

// apiDirectConversion is what a direct conversion answers (see
// DirectConversion).
type apiDirectConversion struct {
	Lead        Lead         `json:"lead"`
	Account     Account      `json:"account"`
	Contact     Contact      `json:"contact"`
	Opportunity *Opportunity `json:"opportunity"`
}

// apiConvertPreview is what a conversion would match or make; an id of
// null is a record to be made.
type apiConvertPreview struct {
	LeadID      uuid.UUID          `json:"lead_id"`
	Account     previewAccount     `json:"account"`
	Contact     previewContact     `json:"contact"`
	Opportunity previewOpportunity `json:"opportunity"`
	// Blocked says why the lead cannot be converted now.
	Blocked string `json:"blocked,omitempty"`
}

type previewAccount struct {
	ID     *uuid.UUID `json:"id"`
	Name   string     `json:"name"`
	Domain string     `json:"domain"`
}

type previewContact struct {
	ID        *uuid.UUID `json:"id"`
	FirstName string     `json:"first_name"`
	LastName  string     `json:"last_name"`
	Email     string     `json:"email"`
	AccountID *uuid.UUID `json:"account_id"`
}

// previewOpportunity is the opportunity a conversion makes when no field
// is given.
type previewOpportunity struct {
	Name              string     `json:"name"`
	Amount            string     `json:"amount"`
	Stage             string     `json:"stage"`
	Probability       int        `json:"probability"`
	ExpectedCloseDate *string    `json:"expected_close_date"`
	OwnerID           *uuid.UUID `json:"owner_id"`
}

// idOrNil is nil for a record still to be made.
func idOrNil(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func newAPIConvertPreview(p ConvertPreview) apiConvertPreview {
	o := p.Opportunity
	return apiConvertPreview{
		LeadID:  p.Lead.ID,
		Account: previewAccount{ID: idOrNil(p.Account.ID), Name: p.Account.Name, Domain: p.Account.Domain},
		Contact: previewContact{ID: idOrNil(p.Contact.ID), FirstName: p.Contact.FirstName, LastName: p.Contact.LastName,
			Email: p.Contact.Email, AccountID: p.Contact.AccountID},
		Opportunity: previewOpportunity{Name: o.Name, Amount: o.Amount, Stage: o.Stage, Probability: o.Probability,
			ExpectedCloseDate: o.ExpectedCloseDate, OwnerID: o.OwnerID},
		Blocked: p.Blocked,
	}
}

// previewConvert answers what converting the lead would match or make,
// writing nothing: GET /leads/:id/convert.
func (api *API) previewConvert(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	pv, err := api.engine.PreviewConvert(c.Request().Context(), p.WorkspaceID, id, workerOf(p))
	if err != nil {
		return forbidden(err)
	}
	return c.JSON(http.StatusOK, newAPIConvertPreview(pv))
}

// convertLead converts the lead without a handoff: POST /leads/:id/convert.
// The body may be empty.
func (api *API) convertLead(c echo.Context) error {
	p, actor, err := api.apiActor(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	var req convertRequest
	if c.Request().ContentLength != 0 {
		if err := httpapi.Decode(c, apiMaxBody, &req); err != nil {
			return err
		}
	}
	in := ConvertInput{AccountID: req.AccountID, ContactID: req.ContactID, CreateOpportunity: req.CreateOpportunity}
	if len(req.Account) > 0 && string(req.Account) != "null" {
		var a convertAccount
		if err := httpapi.UnmarshalMember("account", req.Account, &a); err != nil {
			return err
		}
		in.Account = &NewAccount{Name: a.Name, Domain: a.Domain}
	}
	if len(req.Opportunity) > 0 && string(req.Opportunity) != "null" {
		var o NewOpportunity
		if err := httpapi.UnmarshalMember("opportunity", req.Opportunity, &o); err != nil {
			return err
		}
		in.Opportunity = &o
	}
	out, err := api.engine.ConvertLead(c.Request().Context(), p.WorkspaceID, id, workerOf(p), actor, in)
	if err != nil {
		return forbidden(err)
	}
	return c.JSON(http.StatusCreated, newAPIDirectConversion(out))
}

func newAPIDirectConversion(d DirectConversion) apiDirectConversion {
	return apiDirectConversion{
		Lead: newLead(d.Lead), Account: newAccount(d.Account), Contact: newContact(d.Contact),
		Opportunity: httpapi.MapPtr(d.Opportunity, newOpportunity),
	}
}
