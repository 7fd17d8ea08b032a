package qualify

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// maxTeamChoices is how many teams the rules' team lists offer.
const maxTeamChoices = 200

// blankRuleRows are the empty rows the assignment form offers for new rules.
const blankRuleRows = 3

type ruleRow struct {
	N                      int
	Country, State, TeamID string
	CountryErr, StateErr   string
	TeamErr                string
}

type assignmentView struct {
	SLA, MaxReassignments, Cooldown, RecycleSequence string
	Rules                                            []ruleRow
	Teams                                            []store.Team
	Rows                                             int
	Errors                                           map[string]string
	Notice, Error                                    string
}

// assignment shows the rules that send leads to teams by territory, the
// SLA, reassignments and the requalify cooldown, as GET /assignment does.
func (p *adminPages) assignment(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	ctx := ec.Request().Context()
	rules, err := p.store.AssignmentRules(ctx, pr.WorkspaceID)
	if err != nil {
		return fmt.Errorf("assignment page: %w", err)
	}
	s, err := p.store.GetAssignmentSettings(ctx, pr.WorkspaceID)
	if err != nil {
		return fmt.Errorf("assignment page: %w", err)
	}
	a := assignmentOf(rules, s)
	v := assignmentView{SLA: a.SLA, MaxReassignments: strconv.Itoa(a.MaxReassignments), Cooldown: a.RequalifyCooldown}
	if a.RecycleSequenceID != nil {
		v.RecycleSequence = a.RecycleSequenceID.String()
	}
	for i, r := range a.Rules {
		v.Rules = append(v.Rules, ruleRow{N: i, Country: r.Country, State: r.State, TeamID: r.TeamID.String()})
	}
	if ec.QueryParam("saved") != "" {
		v.Notice = "Saved: new handoffs follow these rules."
	}
	return p.renderAssignment(ec, http.StatusOK, v)
}

func (p *adminPages) renderAssignment(ec echo.Context, status int, v assignmentView) error {
	pr, _ := httpapi.PrincipalOf(ec)
	teams, err := p.store.ListTeams(ec.Request().Context(), pr.WorkspaceID, store.Page{Limit: maxTeamChoices})
	if err != nil {
		return fmt.Errorf("assignment page: %w", err)
	}
	v.Teams = teams
	for range blankRuleRows {
		v.Rules = append(v.Rules, ruleRow{N: len(v.Rules)})
	}
	v.Rows = len(v.Rules)
	return p.con.Render(ec, status, p.tmpl["assignment"], "Assignment", v)
}

// putAssignment saves the form through the engine, as PUT /assignment
// does. Rows with neither a territory nor a team are not rules.
func (p *adminPages) putAssignment(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	v := assignmentView{SLA: strings.TrimSpace(ec.FormValue("sla")), MaxReassignments: strings.TrimSpace(ec.FormValue("max_reassignments")),
		Cooldown: strings.TrimSpace(ec.FormValue("requalify_cooldown")), RecycleSequence: strings.TrimSpace(ec.FormValue("recycle_sequence_id")),
		Errors: map[string]string{}}
	in := apiAssignmentInput{SLA: &v.SLA, RequalifyCooldown: &v.Cooldown, RecycleSequenceID: apiNullableID{Set: true}}
	if n, err := strconv.Atoi(v.MaxReassignments); err != nil {
		v.Errors["max_reassignments"] = fmt.Sprintf("must be a whole number from 0 to %d", apiMaxMaxReassignments)
	} else {
		in.MaxReassignments = &n
	}
	if v.RecycleSequence != "" {
		id, err := store.ParseID(v.RecycleSequence)
		if err != nil {
			v.Errors["recycle_sequence_id"] = "must be a sequence id, or blank for none"
		} else {
			in.RecycleSequenceID.ID = &id
		}
	}
	rows, _ := strconv.Atoi(ec.FormValue("rows"))
	rows = min(max(rows, 0), apiMaxRules+blankRuleRows)
	rules := []apiRuleInput{}
	for n := range rows {
		r := ruleRow{N: len(v.Rules), Country: strings.TrimSpace(ec.FormValue(fmt.Sprintf("country.%d", n))),
			State: strings.TrimSpace(ec.FormValue(fmt.Sprintf("state.%d", n))), TeamID: ec.FormValue(fmt.Sprintf("team.%d", n))}
		if r.Country == "" && r.State == "" && r.TeamID == "" {
			continue
		}
		rules = append(rules, apiRuleInput{Country: r.Country, State: r.State, TeamID: r.TeamID})
		v.Rules = append(v.Rules, r)
	}
	in.Rules = &rules
	if len(v.Errors) == 0 {
		_, err := p.engine.putAssignment(ec.Request().Context(), pr.WorkspaceID, in)
		if err == nil {
			return ec.Redirect(http.StatusSeeOther, "/console/assignment?saved=1")
		}
		fe := fieldErrors(err)
		if fe == nil {
			return err
		}
		for field, msg := range fe {
			var i int
			var rest string
			if _, scan := fmt.Sscanf(field, "rules[%d].%s", &i, &rest); scan == nil && i < len(v.Rules) {
				switch rest {
				case "country":
					v.Rules[i].CountryErr = msg
				case "state":
					v.Rules[i].StateErr = msg
				default:
					v.Rules[i].TeamErr = msg
				}
			} else {
				v.Errors[field] = msg
			}
		}
	}
	v.Error = "Nothing was saved: see the fields below."
	return p.renderAssignment(ec, http.StatusUnprocessableEntity, v)
}
