package qualify

import (
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

var (
	//go:embed templates/console/handoffs.html
	handoffsHTML string
	//go:embed templates/console/handoff.html
	handoffHTML string
	//go:embed templates/console/opportunity_fields.html
	opportunityFieldsHTML string
)

// pageSize is how many rows a console list shows.
const pageSize = 25

// timelineSize bounds the entries a handoff page shows of its lead's
// timeline.
const timelineSize = 100

// worker is the signed-in person as the engine's role rules read them.
func worker(c echo.Context) (httpapi.Principal, Worker, error) {
	p, err := httpapi.PrincipalOf(c)
	return p, Worker{Role: p.Role, UserID: p.UserID}, err
}

// workedHandoff is the handoff of the request's :id, with who asks, when
// that person may work on it: the engine's WorkHandoff, as the API decides;
// refuse turns its errors into pages.
func (p *Pages) workedHandoff(c echo.Context) (httpapi.Principal, Worker, store.Handoff, error) {
	pr, w, err := worker(c)
	if err != nil {
		return pr, w, store.Handoff{}, err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return pr, w, store.Handoff{}, err
	}
	h, err := p.engine.WorkHandoff(c.Request().Context(), pr.WorkspaceID, w, id)
	return pr, w, h, err
}

// refuse answers the errors a person can act on as pages: not found (a
// handoff not theirs to see is not there for them, as in the API),
// forbidden; anything else goes to the error handler.
func (p *Pages) refuse(c echo.Context, err error) error {
	if fe, ok := errors.AsType[*ForbiddenError](err); ok {
		return p.con.RenderError(c, http.StatusForbidden, "This is not yours to open: "+fe.Reason+".")
	}
	if _, ok := errors.AsType[*HiddenError](err); ok {
		return p.con.RenderError(c, http.StatusNotFound, "This handoff is not among yours or your teams': it may have been given to someone else.")
	}
	if errors.Is(err, store.ErrNotFound) {
		return p.con.RenderError(c, http.StatusNotFound, "There is no such record in this workspace.")
	}
	return err
}

// handoffRow is one line of the handoffs list.
type handoffRow struct {
	store.WorkHandoff
	Lead     string
	Left     string
	Overdue  bool
	Assigned bool
}

func (p *Pages) handoffs(c echo.Context) error {
	pr, w, err := worker(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	after, err := parseSLACursor(c.QueryParam("after"))
	if err != nil {
		return p.con.RenderError(c, http.StatusBadRequest, "That page link is not valid: start from the first page.")
	}
	scope, err := p.engine.HandoffScope(ctx, pr.WorkspaceID, w)
	if err != nil {
		return err
	}
	hs, err := p.store.OpenHandoffsBySLA(ctx, pr.WorkspaceID, scope, after, pageSize+1)
	if err != nil {
		return err
	}
	var next string
	if len(hs) > pageSize {
		hs = hs[:pageSize]
		last := hs[pageSize-1]
		next = slaCursor(last.SLADueAt, last.ID)
	}
	now := p.engine.now()
	rows := make([]handoffRow, len(hs))
	for i, h := range hs {
		left, overdue := timeLeft(h.SLADueAt, now)
		rows[i] = handoffRow{WorkHandoff: h, Lead: personName(h.LeadFirstName, h.LeadLastName, h.LeadEmail), Left: left, Overdue: overdue, Assigned: h.OwnerID != nil}
	}
	title := "My handoffs"
	switch {
	case scope.All:
		title = "All open handoffs"
	case scope.Managed:
		title = "My team's handoffs"
	}
	return p.con.Render(c, http.StatusOK, p.tpl.handoffs, title, struct {
		Heading  string
		Rows     []handoffRow
		Next     string
		Paged    bool
		ShowWhom bool
	}{title, rows, next, after != nil, scope.All || scope.Managed})
}

// slaCursor and parseSLACursor make the opaque ?after= of the handoffs list.
func slaCursor(at time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixNano(), 10) + "_" + id.String()))
}

func parseSLACursor(s string) (*store.SLACursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	ns, idText, ok := strings.Cut(string(b), "_")
	if !ok {
		return nil, errors.New("bad cursor")
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return nil, err
	}
	id, err := uuid.Parse(idText)
	if err != nil {
		return nil, err
	}
	return &store.SLACursor{DueAt: time.Unix(0, n), ID: id}, nil
}

// timeLeft says how long until due, as people read it, and whether it has
// passed.
func timeLeft(due, now time.Time) (string, bool) {
	d := due.Sub(now)
	overdue := d < 0
	if overdue {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = "less than a minute"
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	default:
		s = fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	if overdue {
		return "overdue by " + s, true
	}
	return s + " left", false
}

func personName(first, last, email string) string {
	if n := strings.TrimSpace(first + " " + last); n != "" {
		return n
	}
	return email
}

// acceptForm is the accept form as posted, with its errors by field.
type acceptForm struct {
	NoOpportunity                           bool
	Name, Amount, Stage, Probability, Close string
	Errors                                  map[string]string
}

// opportunityFields is what the opportunity_fields partial shows.
type opportunityFields struct {
	Form   acceptForm
	Stages []string
}

// OpportunityFields feeds the accept form's opportunity fieldset.
func (v handoffView) OpportunityFields() opportunityFields {
	return opportunityFields{Form: v.Accept, Stages: v.Stages}
}

// postedAcceptForm reads the opportunity fieldset that the accept and the
// convert forms share.
func postedAcceptForm(c echo.Context) acceptForm {
	return acceptForm{
		NoOpportunity: c.FormValue("no_opportunity") != "",
		Name:          strings.TrimSpace(c.FormValue("name")),
		Amount:        strings.TrimSpace(c.FormValue("amount")),
		Stage:         c.FormValue("stage"),
		Probability:   strings.TrimSpace(c.FormValue("probability")),
		Close:         strings.TrimSpace(c.FormValue("expected_close_date")),
		Errors:        map[string]string{},
	}
}

// opportunity is the opportunity the form asks for, nil when it asks for
// none; a value that cannot be read is noted in f.Errors.
func (f *acceptForm) opportunity() *NewOpportunity {
	if f.NoOpportunity {
		return nil
	}
	o := NewOpportunity{Name: &f.Name, Stage: &f.Stage}
	if f.Amount != "" {
		a := Amount(f.Amount)
		o.Amount = &a
	}
	if f.Probability != "" {
		n, err := strconv.Atoi(f.Probability)
		if err != nil {
			f.Errors["probability"] = "must be a whole number from 0 to 100"
		}
		o.Probability = &n
	}
	if f.Close != "" {
		o.ExpectedCloseDate = &f.Close
	}
	return &o
}

// handoffView is what handoff.html shows.
type handoffView struct {
	Handoff   store.Handoff
	Lead      store.Lead
	LeadName  string
	OwnerName string
	Left      string
	Overdue   bool
	Open      bool
	// MayDecide: the person may accept, reject or reassign it (MayWork).
	MayDecide bool
	Score     ScoreExplanation
	Decision  *store.QualificationDecision
	Eval      Evaluation
	Timeline  []store.TimelineItem
	Events    []store.HandoffDecisionEvent
	Preview   *AcceptPreview
	Accept    acceptForm
	Stages    []string
	Reason    string
	Errors    map[string]string
	Targets   []store.User
	Converted *converted
	Notice    string
	Recycled  bool
}

// converted is what an accept made, for the page to name and link.
type converted struct {
	Account       store.Account
	Contact       store.Contact
	OpportunityID *uuid.UUID
}

func (p *Pages) handoff(c echo.Context) error {
	return p.renderHandoff(c, http.StatusOK, handoffView{})
}

// renderHandoff loads the handoff of the request's :id into v and renders
// it; a person who may not see it gets 404, as the API answers. One who may
// read it but not decide it (marketing, or sales outside its owner's
// reach) sees it without the accept, reject and reassign forms.
func (p *Pages) renderHandoff(c echo.Context, status int, v handoffView) error {
	pr, w, err := worker(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return p.refuse(c, err)
	}
	ctx := c.Request().Context()
	h, err := p.engine.ReadHandoff(ctx, pr.WorkspaceID, w, id)
	if err != nil {
		return p.refuse(c, err)
	}
	if err := p.engine.MayWork(ctx, pr.WorkspaceID, w, h.OwnerID, h.TeamID); err == nil {
		v.MayDecide = true
	} else if _, ok := errors.AsType[*ForbiddenError](err); !ok {
		return err
	}
	v.Handoff, v.Open, v.Stages = h, h.Status == store.HandoffOpen, stages
	if v.Lead, err = p.store.GetLead(ctx, pr.WorkspaceID, h.LeadID); err != nil {
		return err
	}
	v.LeadName = personName(v.Lead.FirstName, v.Lead.LastName, v.Lead.Email)
	v.Recycled = v.Lead.Status == store.LeadRecycled
	if h.OwnerID != nil {
		users, err := p.store.UsersByID(ctx, pr.WorkspaceID, []uuid.UUID{*h.OwnerID})
		if err != nil {
			return err
		}
		if len(users) == 1 {
			v.OwnerName = users[0].Name
		}
	}
	v.Left, v.Overdue = timeLeft(h.SLADueAt, p.engine.now())
	if v.Score, err = p.engine.ExplainScore(ctx, pr.WorkspaceID, v.Lead); err != nil {
		return err
	}
	ds, err := p.engine.Decisions(ctx, pr.WorkspaceID, h.LeadID)
	if err != nil {
		return err
	}
	for i := range ds {
		if ds[i].ID == h.DecisionID {
			v.Decision = &ds[i]
		}
	}
	if v.Eval, err = p.engine.Evaluate(ctx, pr.WorkspaceID, h.LeadID); err != nil {
		return err
	}
	if v.Timeline, err = p.store.LeadTimeline(ctx, pr.WorkspaceID, h.LeadID, timelineSize); err != nil {
		return err
	}
	if v.Events, err = p.store.HandoffDecisionEvents(ctx, pr.WorkspaceID, h.ID); err != nil {
		return err
	}
	if v.Open && v.MayDecide {
		pv, err := p.engine.PreviewAccept(ctx, pr.WorkspaceID, h)
		if err != nil {
			return err
		}
		v.Preview = &pv
		if v.Accept.Errors == nil {
			o := pv.Opportunity
			v.Accept = acceptForm{Name: o.Name, Amount: o.Amount, Stage: o.Stage, Probability: strconv.Itoa(o.Probability)}
			if o.ExpectedCloseDate != nil {
				v.Accept.Close = *o.ExpectedCloseDate
			}
		}
		if v.Targets, err = p.engine.ReassignTargets(ctx, pr.WorkspaceID, w); err != nil {
			return err
		}
	}
	if h.Status == store.HandoffAccepted {
		if v.Converted, err = p.conversionOf(c, pr.WorkspaceID, v.Events); err != nil {
			return err
		}
	}
	switch {
	case c.QueryParam("accepted") != "":
		v.Notice = "Accepted: the lead is converted."
	case c.QueryParam("rejected") != "":
		v.Notice = "Rejected: the lead is recycled to marketing."
	case c.QueryParam("reassigned") != "":
		v.Notice = "Reassigned to " + v.OwnerName + "; they have been emailed."
	case c.QueryParam("unchanged") != "":
		v.Notice = "The handoff is " + v.OwnerName + "'s already: nothing changed."
	}
	return p.con.Render(c, status, p.tpl.handoff, "Handoff: "+v.LeadName, v)
}

// conversionOf reads what the accept recorded in the handoff's history.
func (p *Pages) conversionOf(c echo.Context, workspaceID uuid.UUID, events []store.HandoffDecisionEvent) (*converted, error) {
	ctx := c.Request().Context()
	for _, e := range events {
		if e.Action != store.HandoffEventAccepted {
			continue
		}
		var out converted
		ids := map[string]*uuid.UUID{}
		for _, k := range []string{"account_id", "contact_id", "opportunity_id"} {
			if s, ok := e.Detail[k].(string); ok {
				if id, err := uuid.Parse(s); err == nil {
					ids[k] = &id
				}
			}
		}
		if id := ids["account_id"]; id != nil {
			a, err := p.store.GetAccount(ctx, workspaceID, *id)
			if err != nil {
				return nil, err
			}
			out.Account = a
		}
		if id := ids["contact_id"]; id != nil {
			ct, err := p.store.GetContact(ctx, workspaceID, *id)
			if err != nil {
				return nil, err
			}
			out.Contact = ct
		}
		out.OpportunityID = ids["opportunity_id"]
		return &out, nil
	}
	return nil, nil
}

// accept converts the handoff's lead as the API's accept does, with the
// opportunity's fields from the form (or none).
func (p *Pages) accept(c echo.Context) error {
	pr, _, h, err := p.workedHandoff(c)
	if err != nil {
		return p.refuse(c, err)
	}
	ctx, id := c.Request().Context(), h.ID
	f := postedAcceptForm(c)
	create := !f.NoOpportunity
	in := AcceptInput{CreateOpportunity: &create, Owner: h.OwnerID, Opportunity: f.opportunity()}
	if len(f.Errors) == 0 {
		_, err = p.engine.Accept(ctx, pr.WorkspaceID, id, workerActor(pr), in)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/console/handoffs/"+id.String()+"?accepted=1")
		}
		fe, ok := errors.AsType[fieldErrorer](err)
		if !ok {
			return err
		}
		for k, msg := range fe.FieldErrors() {
			f.Errors[strings.TrimPrefix(k, "opportunity.")] = msg
		}
	}
	return p.renderHandoff(c, http.StatusUnprocessableEntity, handoffView{Accept: f})
}

// fieldErrorer is an error that names its fields, as every domain's
// validation error does.
type fieldErrorer interface {
	error
	FieldErrors() map[string]string
}

// workerActor names the person in histories, as the API names a key acting
// as them.
func workerActor(p httpapi.Principal) string {
	if p.UserID != uuid.Nil {
		return "user:" + p.UserID.String()
	}
	return p.Actor()
}

// reject recycles the handoff's lead; the reason is required.
func (p *Pages) reject(c echo.Context) error {
	pr, _, h, err := p.workedHandoff(c)
	if err != nil {
		return p.refuse(c, err)
	}
	ctx, id := c.Request().Context(), h.ID
	reason := strings.TrimSpace(c.FormValue("reason"))
	_, err = p.engine.Reject(ctx, pr.WorkspaceID, id, workerActor(pr), RejectInput{Reason: reason, Owner: h.OwnerID})
	if err == nil {
		return c.Redirect(http.StatusSeeOther, "/console/handoffs/"+id.String()+"?rejected=1")
	}
	fe, ok := errors.AsType[fieldErrorer](err)
	if !ok {
		return err
	}
	return p.renderHandoff(c, http.StatusUnprocessableEntity, handoffView{Reason: reason, Errors: fe.FieldErrors()})
}

// reassign gives the handoff to another member of the manager's teams.
func (p *Pages) reassign(c echo.Context) error {
	pr, w, err := worker(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return p.refuse(c, err)
	}
	to, err := uuid.Parse(c.FormValue("owner_id"))
	if err != nil {
		return p.renderHandoff(c, http.StatusUnprocessableEntity, handoffView{Errors: map[string]string{"owner_id": "choose a member of a team you manage"}})
	}
	_, changed, err := p.engine.Reassign(c.Request().Context(), pr.WorkspaceID, id, w, workerActor(pr), to)
	if err == nil {
		notice := "?reassigned=1"
		if !changed {
			notice = "?unchanged=1"
		}
		return c.Redirect(http.StatusSeeOther, "/console/handoffs/"+id.String()+notice)
	}
	if _, ok := errors.AsType[*ForbiddenError](err); ok || errors.Is(err, store.ErrNotFound) {
		return p.refuse(c, err)
	}
	fe, ok := errors.AsType[fieldErrorer](err)
	if !ok {
		return err
	}
	// The form has one field: what went wrong is said next to it.
	msg := fe.FieldErrors()["owner_id"]
	if msg == "" {
		msg = fe.FieldErrors()["status"]
	}
	return p.renderHandoff(c, http.StatusUnprocessableEntity, handoffView{Errors: map[string]string{"owner_id": msg}})
}
