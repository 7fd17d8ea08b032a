package qualify

import (
	_ "embed"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

var (
	//go:embed templates/console/accounts.html
	accountsHTML string
	//go:embed templates/console/account.html
	accountHTML string
	//go:embed templates/console/opportunity_new.html
	opportunityNewHTML string
)

// accountSection bounds the contacts and the opportunities an account's page
// shows; the opportunities list has the rest.
const accountSection = 50

func (p *Pages) accounts(c echo.Context) error {
	pr, _, err := worker(c)
	if err != nil {
		return err
	}
	page, show, err := httpapi.ParsePage(strconv.Itoa(pageSize), c.QueryParam("cursor"))
	if err != nil {
		return p.con.RenderError(c, http.StatusBadRequest, "That page link is not valid: start from the first page.")
	}
	q := strings.TrimSpace(c.QueryParam("q"))
	if len(q) > maxAccountQuery {
		q = q[:maxAccountQuery]
	}
	as, err := p.engine.Accounts(c.Request().Context(), pr.WorkspaceID, accountFilter(q, page))
	if err != nil {
		return err
	}
	list := httpapi.ListOf(as, show, func(a store.Account) uuid.UUID { return a.ID })
	var next string
	if list.NextCursor != nil {
		v := url.Values{"cursor": {*list.NextCursor}}
		if q != "" {
			v.Set("q", q)
		}
		next = "/console/accounts?" + v.Encode()
	}
	return p.con.Render(c, http.StatusOK, p.tpl.accounts, "Accounts", struct {
		Items     []store.Account
		Q         string
		Next      string
		Paged     bool
		MayCreate bool
	}{list.Items, q, next, page.Before != uuid.Nil, pr.Role != store.RoleMarketing})
}

func (p *Pages) account(c echo.Context) error {
	pr, _, err := worker(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return p.refuse(c, err)
	}
	bound := store.Page{Limit: accountSection + 1}
	d, err := p.engine.Account(c.Request().Context(), pr.WorkspaceID, id, bound, bound)
	if err != nil {
		return p.refuse(c, err)
	}
	v := struct {
		AccountDetail
		MoreContacts, MoreOpportunities bool
		// MayCreate: sales (and admins) make opportunities; marketing reads.
		MayCreate bool
	}{AccountDetail: d, MayCreate: pr.Role != store.RoleMarketing}
	if len(d.Contacts) > accountSection {
		v.Contacts, v.MoreContacts = d.Contacts[:accountSection], true
	}
	if len(d.Opportunities) > accountSection {
		v.Opportunities, v.MoreOpportunities = d.Opportunities[:accountSection], true
	}
	return p.con.Render(c, http.StatusOK, p.tpl.account, d.Account.Name, v)
}

// newOpportunityForm is the new-opportunity form as shown or posted.
type newOpportunityForm struct {
	AccountID, AccountName, AccountDomain, ContactID string
	Name, Amount, Stage, Probability, Close, OwnerID string
	InForecast                                       bool
	Errors                                           map[string]string
}

type newOpportunityView struct {
	Form     newOpportunityForm
	Account  *store.Account
	Contacts []store.Contact
	Owners   []store.User
	Stages   []string
	Forecast bool
}

// newOpportunity shows the form; ?account_id= makes it one for that account.
func (p *Pages) newOpportunity(c echo.Context) error {
	pr, _, err := worker(c)
	if err != nil {
		return err
	}
	f := newOpportunityForm{
		AccountID: c.QueryParam("account_id"), Stage: store.StageQualification,
		Probability: strconv.Itoa(defaultProbability),
	}
	if pr.UserID != uuid.Nil {
		f.OwnerID = pr.UserID.String()
	}
	return p.renderNewOpportunity(c, http.StatusOK, f)
}

func (p *Pages) renderNewOpportunity(c echo.Context, status int, f newOpportunityForm) error {
	pr, w, err := worker(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v := newOpportunityView{Form: f, Stages: stages}
	if f.AccountID != "" {
		id, err := store.ParseID(f.AccountID)
		if err != nil {
			return p.refuse(c, err)
		}
		a, err := p.store.GetAccount(ctx, pr.WorkspaceID, id)
		if err != nil {
			return p.refuse(c, err)
		}
		v.Account = &a
		if v.Contacts, err = p.store.AccountContacts(ctx, pr.WorkspaceID, id, store.Page{Limit: store.MaxPageLimit}); err != nil {
			return err
		}
	}
	if v.Owners, err = p.store.ListUsers(ctx, pr.WorkspaceID, store.Page{Limit: maxOwners}); err != nil {
		return err
	}
	if v.Forecast, err = p.engine.IsSalesAdmin(ctx, pr.WorkspaceID, w); err != nil {
		return err
	}
	return p.con.Render(c, status, p.tpl.opportunityNew, "New opportunity", v)
}

// createOpportunity makes the opportunity as the API's POST does, and
// shows it; a refusal is shown next to its field.
func (p *Pages) createOpportunity(c echo.Context) error {
	pr, w, err := worker(c)
	if err != nil {
		return err
	}
	f := newOpportunityForm{
		AccountID:     strings.TrimSpace(c.FormValue("account_id")),
		AccountName:   strings.TrimSpace(c.FormValue("account_name")),
		AccountDomain: strings.TrimSpace(c.FormValue("account_domain")),
		ContactID:     c.FormValue("contact_id"),
		Name:          strings.TrimSpace(c.FormValue("name")),
		Amount:        strings.TrimSpace(c.FormValue("amount")),
		Stage:         c.FormValue("stage"),
		Probability:   strings.TrimSpace(c.FormValue("probability")),
		Close:         strings.TrimSpace(c.FormValue("expected_close_date")),
		OwnerID:       c.FormValue("owner_id"),
		InForecast:    c.FormValue("in_forecast") != "",
		Errors:        map[string]string{},
	}
	in := OpportunityInput{Name: &f.Name, Stage: &f.Stage}
	if f.AccountID != "" {
		id, err := store.ParseID(f.AccountID)
		if err != nil {
			return p.refuse(c, err)
		}
		in.AccountID = &id
	} else {
		in.Account = &NewAccountInput{Name: f.AccountName, Domain: f.AccountDomain}
	}
	for field, v := range map[string]struct {
		s   string
		dst **uuid.UUID
	}{"contact_id": {f.ContactID, &in.ContactID}, "owner_id": {f.OwnerID, &in.OwnerID}} {
		if v.s == "" {
			continue
		}
		id, err := uuid.Parse(v.s)
		if err != nil {
			f.Errors[field] = "choose one from the list"
			continue
		}
		*v.dst = &id
	}
	if f.Amount != "" {
		a := Amount(f.Amount)
		in.Amount = &a
	}
	if n, err := strconv.Atoi(f.Probability); err != nil {
		f.Errors["probability"] = "must be a whole number from 0 to 100"
	} else {
		in.Probability = &n
	}
	if f.Close != "" {
		in.ExpectedCloseDate = &f.Close
	}
	admin, err := p.engine.IsSalesAdmin(c.Request().Context(), pr.WorkspaceID, w)
	if err != nil {
		return err
	}
	if admin && f.InForecast {
		in.InForecast = &f.InForecast
	}
	if len(f.Errors) == 0 {
		o, err := p.engine.CreateOpportunity(c.Request().Context(), pr.WorkspaceID, w, workerActor(pr), in)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/console/opportunities/"+o.ID.String()+"?saved=1")
		}
		if fe, ok := errors.AsType[*ForbiddenError](err); ok {
			f.Errors["owner_id"] = fe.Reason
		} else if fe, ok := errors.AsType[fieldErrorer](err); ok {
			f.Errors = fe.FieldErrors()
		} else {
			return err
		}
	}
	return p.renderNewOpportunity(c, http.StatusUnprocessableEntity, f)
}
