package qualify

import (
	_ "embed"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
)

//go:embed templates/console/convert.html
var convertHTML string

// convertForm is the convert form as shown or posted, with its errors by
// field. Account is "match" (what the preview shows), "existing" (by
// AccountID) or "new" (NewName, NewDomain).
type convertForm struct {
	Account, AccountID, NewName, NewDomain string
	acceptForm
}

// convertView is what convert.html shows.
type convertView struct {
	Preview  ConvertPreview
	LeadName string
	Form     convertForm
	Stages   []string
}

func (p *Pages) convertPage(c echo.Context) error {
	return p.renderConvert(c, http.StatusOK, nil)
}

// renderConvert shows what converting the lead of the request's :id would
// match or make, from the engine's preview, with the form (f, when posted).
func (p *Pages) renderConvert(c echo.Context, status int, f *convertForm) error {
	pr, w, err := worker(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return p.refuse(c, err)
	}
	pv, err := p.engine.PreviewConvert(c.Request().Context(), pr.WorkspaceID, id, w)
	if err != nil {
		return p.refuse(c, err)
	}
	v := convertView{Preview: pv, LeadName: personName(pv.Lead.FirstName, pv.Lead.LastName, pv.Lead.Email), Stages: stages}
	if f != nil {
		v.Form = *f
	} else {
		o := pv.Opportunity
		v.Form = convertForm{Account: "match", acceptForm: acceptForm{Name: o.Name, Amount: o.Amount, Stage: o.Stage, Probability: strconv.Itoa(o.Probability)}}
		if o.ExpectedCloseDate != nil {
			v.Form.Close = *o.ExpectedCloseDate
		}
	}
	return p.con.Render(c, status, p.tpl.convert, "Convert: "+v.LeadName, v)
}

// OpportunityFields feeds the convert form's opportunity fieldset.
func (v convertView) OpportunityFields() opportunityFields {
	return opportunityFields{Form: v.Form.acceptForm, Stages: v.Stages}
}

// convert converts the lead as the API's convert does, with the account
// and the opportunity's fields from the form.
func (p *Pages) convert(c echo.Context) error {
	pr, w, err := worker(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return p.refuse(c, err)
	}
	f := convertForm{
		Account:    c.FormValue("account"),
		AccountID:  strings.TrimSpace(c.FormValue("account_id")),
		NewName:    strings.TrimSpace(c.FormValue("account_name")),
		NewDomain:  strings.TrimSpace(c.FormValue("account_domain")),
		acceptForm: postedAcceptForm(c),
	}
	create := !f.NoOpportunity
	in := ConvertInput{CreateOpportunity: &create}
	switch f.Account {
	case "existing":
		a, err := uuid.Parse(f.AccountID)
		if err != nil {
			f.Errors["account_id"] = "must be an account's id, as its page shows it"
		}
		in.AccountID = &a
	case "new":
		in.Account = &NewAccount{Name: f.NewName, Domain: f.NewDomain}
	default:
		f.Account = "match"
	}
	in.Opportunity = f.opportunity()
	if len(f.Errors) == 0 {
		out, err := p.engine.ConvertLead(c.Request().Context(), pr.WorkspaceID, id, w, workerActor(pr), in)
		if err == nil {
			to := "/console/accounts/" + out.Account.ID.String() + "?converted=1"
			if out.Opportunity != nil {
				to = "/console/opportunities/" + out.Opportunity.ID.String() + "?converted=1"
			}
			return c.Redirect(http.StatusSeeOther, to)
		}
		if _, ok := errors.AsType[*ForbiddenError](err); ok {
			return p.refuse(c, err)
		}
		fe, ok := errors.AsType[fieldErrorer](err)
		if !ok {
			return p.refuse(c, err)
		}
		for k, msg := range fe.FieldErrors() {
			f.Errors[strings.TrimPrefix(k, "opportunity.")] = msg
		}
	}
	return p.renderConvert(c, http.StatusUnprocessableEntity, &f)
}
