package qualify

import (
	_ "embed"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

var (
	//go:embed templates/console/opportunities.html
	opportunitiesHTML string
	//go:embed templates/console/opportunity_board.html
	opportunityBoardHTML string
	//go:embed templates/console/opportunity.html
	opportunityHTML string
)

// boardColumn bounds the opportunities one column of the board shows; the
// rest are a link to the list filtered by that stage.
const boardColumn = 20

// maxOwners bounds the owners the list's filter offers.
const maxOwners = 200

func (p *Pages) opportunities(c echo.Context) error {
	pr, _, err := worker(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	page, show, err := httpapi.ParsePage(strconv.Itoa(pageSize), c.QueryParam("cursor"))
	if err != nil {
		return p.con.RenderError(c, http.StatusBadRequest, "That page link is not valid: start from the first page.")
	}
	f := store.OpportunityFilter{Stage: c.QueryParam("stage"), Page: page}
	if f.Stage != "" && !slices.Contains(stages, f.Stage) {
		f.Stage = ""
	}
	if v := c.QueryParam("owner_id"); v != "" {
		if f.OwnerID, err = uuid.Parse(v); err != nil {
			f.OwnerID = uuid.Nil
		}
	}
	opps, err := p.engine.Opportunities(ctx, pr.WorkspaceID, f)
	if err != nil {
		return err
	}
	list := httpapi.ListOf(opps, show, func(o store.Opportunity) uuid.UUID { return o.ID })
	owners, err := p.store.ListUsers(ctx, pr.WorkspaceID, store.Page{Limit: maxOwners})
	if err != nil {
		return err
	}
	names := map[uuid.UUID]string{}
	for _, u := range owners {
		names[u.ID] = u.Name
	}
	rows := make([]oppRow, len(list.Items))
	for i, o := range list.Items {
		rows[i] = oppRow{Opportunity: o}
		if o.OwnerID != nil {
			rows[i].OwnerName = names[*o.OwnerID]
		}
	}
	var next string
	if list.NextCursor != nil {
		q := url.Values{"cursor": {*list.NextCursor}}
		if f.Stage != "" {
			q.Set("stage", f.Stage)
		}
		if f.OwnerID != uuid.Nil {
			q.Set("owner_id", f.OwnerID.String())
		}
		next = "/console/opportunities?" + q.Encode()
	}
	return p.con.Render(c, http.StatusOK, p.tpl.opportunities, "Opportunities", struct {
		Items  []oppRow
		Owners []store.User
		Stages []string
		Stage  string
		Owner  uuid.UUID
		Next   string
		Paged  bool
		// MayCreate: sales (and admins) make opportunities; marketing reads.
		MayCreate bool
	}{rows, owners, stages, f.Stage, f.OwnerID, next, page.Before != uuid.Nil, pr.Role != store.RoleMarketing})
}

// oppRow is one line of the opportunities list.
type oppRow struct {
	store.Opportunity
	OwnerName string
}

// column is one stage of the board.
type column struct {
	Stage string
	Items []store.Opportunity
	More  bool
}

func (p *Pages) opportunityBoard(c echo.Context) error {
	pr, _, err := worker(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	cols := make([]column, 0, len(stages))
	for _, s := range stages {
		opps, err := p.engine.Opportunities(ctx, pr.WorkspaceID, store.OpportunityFilter{Stage: s, Page: store.Page{Limit: boardColumn + 1}})
		if err != nil {
			return err
		}
		col := column{Stage: s, Items: opps}
		if len(opps) > boardColumn {
			col.Items, col.More = opps[:boardColumn], true
		}
		cols = append(cols, col)
	}
	return p.con.Render(c, http.StatusOK, p.tpl.board, "Opportunities by stage", cols)
}

// opportunityForm is the opportunity form as shown or posted.
type opportunityForm struct {
	Name, Amount, Stage, Probability, Close string
	InForecast                              bool
	Errors                                  map[string]string
}

type opportunityView struct {
	Opp       OpportunityDetail
	Form      opportunityForm
	Stages    []string
	MayEdit   bool
	Forecast  bool
	OwnerName string
	Notice    string
	Why       string
}

func (p *Pages) opportunity(c echo.Context) error {
	return p.renderOpportunity(c, http.StatusOK, nil)
}

func (p *Pages) renderOpportunity(c echo.Context, status int, form *opportunityForm) error {
	pr, w, err := worker(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	id, err := httpapi.PathID(c)
	if err != nil {
		return p.refuse(c, err)
	}
	d, err := p.engine.Opportunity(ctx, pr.WorkspaceID, id)
	if err != nil {
		return p.refuse(c, err)
	}
	v := opportunityView{Opp: d, Stages: stages, MayEdit: true}
	if err := p.engine.MayWorkOpportunity(ctx, pr.WorkspaceID, w, d.Opportunity); err != nil {
		fe, ok := errors.AsType[*ForbiddenError](err)
		if !ok {
			return err
		}
		v.MayEdit, v.Why = false, fe.Reason
	}
	if v.Forecast, err = p.engine.IsSalesAdmin(ctx, pr.WorkspaceID, w); err != nil {
		return err
	}
	if form != nil {
		v.Form = *form
	} else {
		o := d.Opportunity
		v.Form = opportunityForm{Name: o.Name, Amount: o.Amount, Stage: o.Stage, Probability: strconv.Itoa(o.Probability), InForecast: o.InForecast}
		if o.ExpectedCloseDate != nil {
			v.Form.Close = *o.ExpectedCloseDate
		}
	}
	if d.OwnerID != nil {
		us, err := p.store.UsersByID(ctx, pr.WorkspaceID, []uuid.UUID{*d.OwnerID})
		if err != nil {
			return err
		}
		if len(us) == 1 {
			v.OwnerName = us[0].Name
		}
	}
	if c.QueryParam("saved") != "" {
		v.Notice = "Saved."
	}
	return p.con.Render(c, status, p.tpl.opportunity, d.Name, v)
}

// updateOpportunity changes what the owner may change, and the forecast
// when a sales admin asks, as the API's PATCH does.
func (p *Pages) updateOpportunity(c echo.Context) error {
	pr, w, err := worker(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	id, err := httpapi.PathID(c)
	if err != nil {
		return p.refuse(c, err)
	}
	o, err := p.store.GetOpportunity(ctx, pr.WorkspaceID, id)
	if err != nil {
		return p.refuse(c, err)
	}
	if err := p.engine.MayWorkOpportunity(ctx, pr.WorkspaceID, w, o); err != nil {
		return p.refuse(c, err)
	}
	f := opportunityForm{
		Name:        strings.TrimSpace(c.FormValue("name")),
		Amount:      strings.TrimSpace(c.FormValue("amount")),
		Stage:       c.FormValue("stage"),
		Probability: strings.TrimSpace(c.FormValue("probability")),
		Close:       strings.TrimSpace(c.FormValue("expected_close_date")),
		InForecast:  c.FormValue("in_forecast") != "",
		Errors:      map[string]string{},
	}
	amount := Amount(f.Amount)
	patch := OpportunityPatch{Name: &f.Name, Amount: &amount, Stage: &f.Stage}
	if n, err := strconv.Atoi(f.Probability); err != nil {
		f.Errors["probability"] = "must be a whole number from 0 to 100"
	} else {
		patch.Probability = &n
	}
	if f.Close != "" {
		patch.ExpectedCloseDate = &f.Close
	}
	admin, err := p.engine.IsSalesAdmin(ctx, pr.WorkspaceID, w)
	if err != nil {
		return err
	}
	if admin {
		patch.InForecast = &f.InForecast
	}
	if len(f.Errors) == 0 {
		_, err = p.engine.UpdateOpportunity(ctx, pr.WorkspaceID, id, workerActor(pr), patch)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/console/opportunities/"+id.String()+"?saved=1")
		}
		fe, ok := errors.AsType[fieldErrorer](err)
		if !ok {
			return err
		}
		f.Errors = fe.FieldErrors()
	}
	if !admin {
		f.InForecast = o.InForecast
	}
	return p.renderOpportunity(c, http.StatusUnprocessableEntity, &f)
}
