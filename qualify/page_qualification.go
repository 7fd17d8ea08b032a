package qualify

import (
	_ "embed"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

//go:embed templates/console/qualification.html
var qualificationHTML string

// callForm is the qualification call form as shown or posted.
type callForm struct {
	Outcome, Reason, FollowUp                          string
	Need, Authority, Budget, Timeline, PrimaryInterest string
	Errors                                             map[string]string
}

type qualificationView struct {
	Lead     store.Lead
	LeadName string
	Form     callForm
	Outcomes []struct{ Value, Label string }
	Notice   string
	Handoff  string
}

// callOutcomeLabels are the call outcomes as people read them.
var callOutcomeLabels = []struct{ Value, Label string }{
	{store.DecisionDeadEnd, "Dead end: disqualify the lead"},
	{store.DecisionMaybe, "Maybe: call again on the follow-up date"},
	{store.DecisionOpportunity, "Opportunity: qualify and hand off now"},
}

func (p *Pages) qualificationForm(c echo.Context) error {
	return p.renderQualification(c, http.StatusOK, nil)
}

func (p *Pages) renderQualification(c echo.Context, status int, f *callForm) error {
	pr, _, err := worker(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return p.refuse(c, err)
	}
	l, err := p.store.GetLead(c.Request().Context(), pr.WorkspaceID, id)
	if err != nil {
		return p.refuse(c, err)
	}
	v := qualificationView{Lead: l, LeadName: personName(l.FirstName, l.LastName, l.Email), Outcomes: callOutcomeLabels}
	if f != nil {
		v.Form = *f
	} else {
		v.Form = callForm{Need: l.Need, Authority: l.Authority, Budget: l.Budget, Timeline: l.Timeline, PrimaryInterest: l.PrimaryInterest}
	}
	if c.QueryParam("recorded") != "" {
		v.Notice = "Call recorded: the lead is " + l.Status + "."
		v.Handoff = c.QueryParam("handoff")
	}
	return p.con.Render(c, status, p.tpl.qualification, "Qualification call: "+v.LeadName, v)
}

// recordCall records the call through the engine, under the API's rules
// (Call.validate, RecordCall).
func (p *Pages) recordCall(c echo.Context) error {
	pr, _, err := worker(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return p.refuse(c, err)
	}
	f := callForm{
		Outcome: c.FormValue("outcome"), Reason: c.FormValue("reason"), FollowUp: strings.TrimSpace(c.FormValue("follow_up_at")),
		Need: c.FormValue("need"), Authority: c.FormValue("authority"), Budget: c.FormValue("budget"),
		Timeline: c.FormValue("timeline"), PrimaryInterest: c.FormValue("primary_interest"),
	}
	call := Call{
		Outcome: f.Outcome, Reason: f.Reason, Need: &f.Need, Authority: &f.Authority, Budget: &f.Budget,
		Timeline: &f.Timeline, PrimaryInterest: &f.PrimaryInterest,
	}
	if f.FollowUp != "" {
		t, err := parseFollowUp(f.FollowUp)
		if err != nil {
			f.Errors = map[string]string{"follow_up_at": "must be a date like 2030-01-31"}
			return p.renderQualification(c, http.StatusUnprocessableEntity, &f)
		}
		call.FollowUpAt = &t
	}
	res, err := p.engine.RecordCall(c.Request().Context(), pr.WorkspaceID, id, call, workerActor(pr))
	if err == nil {
		to := "/console/leads/" + id.String() + "/qualification?recorded=1"
		if res.Handoff != nil {
			to += "&handoff=" + res.Handoff.ID.String()
		}
		return c.Redirect(http.StatusSeeOther, to)
	}
	if errors.Is(err, store.ErrNotFound) {
		return p.refuse(c, err)
	}
	fe, ok := errors.AsType[fieldErrorer](err)
	if !ok {
		return err
	}
	f.Errors = fe.FieldErrors()
	return p.renderQualification(c, http.StatusUnprocessableEntity, &f)
}
