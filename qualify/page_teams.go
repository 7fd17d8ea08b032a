package qualify

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// blankMemberRows are the empty rows a team's form offers for new members.
const blankMemberRows = 3

type teamListRow struct {
	Team    apiTeam
	Manager string
}

type teamsView struct {
	Teams  []teamListRow
	Next   string
	Name   string
	Errors map[string]string
}

// teams lists the workspace's teams a page at a time.
func (p *adminPages) teams(ec echo.Context) error {
	return p.renderTeams(ec, http.StatusOK, teamsView{})
}

func (p *adminPages) renderTeams(ec echo.Context, status int, v teamsView) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	page, show, err := httpapi.ReadPage(ec)
	if err != nil {
		return err
	}
	ctx := ec.Request().Context()
	ts, err := p.store.ListTeams(ctx, pr.WorkspaceID, page)
	if err != nil {
		return fmt.Errorf("teams page: %w", err)
	}
	list := httpapi.ListOf(ts, show, func(t store.Team) uuid.UUID { return t.ID })
	teams, err := apiTeamsOf(ctx, p.store.Queries, pr.WorkspaceID, list.Items)
	if err != nil {
		return fmt.Errorf("teams page: %w", err)
	}
	var managers []uuid.UUID
	for _, t := range teams {
		if t.ManagerID != nil {
			managers = append(managers, *t.ManagerID)
		}
	}
	users, err := p.usersByID(ec, managers)
	if err != nil {
		return err
	}
	for _, t := range teams {
		row := teamListRow{Team: t}
		if t.ManagerID != nil {
			row.Manager = users[*t.ManagerID].Email
		}
		v.Teams = append(v.Teams, row)
	}
	if list.NextCursor != nil {
		v.Next = "/console/teams?cursor=" + *list.NextCursor
	}
	return p.con.Render(ec, status, p.tmpl["teams"], "Teams", v)
}

func (p *adminPages) usersByID(ec echo.Context, ids []uuid.UUID) (map[uuid.UUID]store.User, error) {
	pr, _ := httpapi.PrincipalOf(ec)
	us, err := p.store.UsersByID(ec.Request().Context(), pr.WorkspaceID, ids)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	out := make(map[uuid.UUID]store.User, len(us))
	for _, u := range us {
		out[u.ID] = u
	}
	return out, nil
}

func (p *adminPages) createTeam(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	name := ec.FormValue("name")
	t, err := p.engine.saveTeam(ec.Request().Context(), pr.WorkspaceID, nil, apiTeamInput{Name: &name})
	if fe := fieldErrors(err); fe != nil {
		return p.renderTeams(ec, http.StatusUnprocessableEntity, teamsView{Name: name, Errors: fe})
	}
	if err != nil {
		return err
	}
	return ec.Redirect(http.StatusSeeOther, "/console/teams/"+t.ID.String()+"?created=1")
}

// memberRow is one member of the team form, as shown or as posted.
type memberRow struct {
	N                        int
	Email, Name, Weight, Cap string
	Available                bool
	Errors                   map[string]string
}

type teamView struct {
	ID            uuid.UUID
	Name, Manager string
	Members       []memberRow
	Rows          int
	Errors        map[string]string
	Notice, Error string
}

// team shows a team's form: its name, manager and members with their
// weights, daily caps and availability.
func (p *adminPages) team(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(ec)
	if err != nil {
		return err
	}
	ctx := ec.Request().Context()
	t, err := p.store.GetTeam(ctx, pr.WorkspaceID, id)
	if err != nil {
		return err
	}
	teams, err := apiTeamsOf(ctx, p.store.Queries, pr.WorkspaceID, []store.Team{t})
	if err != nil {
		return fmt.Errorf("team page: %w", err)
	}
	ids := []uuid.UUID{}
	if t.ManagerID != nil {
		ids = append(ids, *t.ManagerID)
	}
	for _, m := range teams[0].Members {
		ids = append(ids, m.UserID)
	}
	users, err := p.usersByID(ec, ids)
	if err != nil {
		return err
	}
	v := teamView{ID: t.ID, Name: t.Name}
	if t.ManagerID != nil {
		v.Manager = users[*t.ManagerID].Email
	}
	for i, m := range teams[0].Members {
		u := users[m.UserID]
		row := memberRow{N: i, Email: u.Email, Name: u.Name, Weight: strconv.Itoa(m.Weight), Available: u.Available}
		if m.DailyCap != nil {
			row.Cap = strconv.Itoa(*m.DailyCap)
		}
		v.Members = append(v.Members, row)
	}
	switch {
	case ec.QueryParam("created") != "":
		v.Notice = "Team made: add its members below."
	case ec.QueryParam("saved") != "":
		v.Notice = "Saved."
	}
	return p.renderTeam(ec, http.StatusOK, v)
}

func (p *adminPages) renderTeam(ec echo.Context, status int, v teamView) error {
	for i := 0; i < blankMemberRows; i++ {
		v.Members = append(v.Members, memberRow{N: len(v.Members), Weight: "1", Available: true})
	}
	v.Rows = len(v.Members)
	return p.con.Render(ec, status, p.tmpl["team"], "Team "+v.Name, v)
}

// updateTeam saves the team's form through saveTeam, as PATCH /teams/{id}
// does, then each member's availability through updateUser, as PATCH
// /users/{id} does. People are named by email; rows left blank are not
// members.
func (p *adminPages) updateTeam(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(ec)
	if err != nil {
		return err
	}
	ctx := ec.Request().Context()
	v := teamView{ID: id, Name: ec.FormValue("name"), Manager: strings.TrimSpace(ec.FormValue("manager")), Errors: map[string]string{}}
	rows, _ := strconv.Atoi(ec.FormValue("rows"))
	rows = min(max(rows, 0), apiMaxMembers+blankMemberRows)
	in := apiTeamInput{Name: &v.Name, ManagerID: apiNullableID{Set: true}}
	if v.Manager != "" {
		u, err := p.userByEmail(ec, v.Manager)
		switch {
		case err != nil:
			return err
		case u == nil:
			v.Errors["manager_id"] = notWorkspaceUser
		default:
			in.ManagerID.ID = &u.ID
		}
	}
	members := []apiMemberInput{}
	var memberRows []int
	available := map[uuid.UUID]bool{}
	for n := range rows {
		row := memberRow{N: n, Email: strings.TrimSpace(ec.FormValue(fmt.Sprintf("email.%d", n))),
			Weight: strings.TrimSpace(ec.FormValue(fmt.Sprintf("weight.%d", n))), Cap: strings.TrimSpace(ec.FormValue(fmt.Sprintf("cap.%d", n))),
			Available: ec.FormValue(fmt.Sprintf("available.%d", n)) != "", Errors: map[string]string{}}
		if row.Email == "" {
			continue
		}
		m := apiMemberInput{}
		u, err := p.userByEmail(ec, row.Email)
		switch {
		case err != nil:
			return err
		case u == nil:
			row.Errors["email"] = notWorkspaceUser
		default:
			m.UserID, row.Name = u.ID.String(), u.Name
			available[u.ID] = row.Available
		}
		if w, err := strconv.Atoi(row.Weight); err != nil {
			row.Errors["weight"] = fmt.Sprintf("must be a whole number from 1 to %d", apiMaxWeight)
		} else {
			m.Weight = &w
		}
		if row.Cap != "" {
			if c, err := strconv.Atoi(row.Cap); err != nil {
				row.Errors["daily_cap"] = "must be a whole number, or blank for no cap"
			} else {
				m.DailyCap = &c
			}
		}
		members = append(members, m)
		memberRows = append(memberRows, len(v.Members))
		v.Members = append(v.Members, row)
	}
	failed := len(v.Errors) > 0
	for _, r := range v.Members {
		failed = failed || len(r.Errors) > 0
	}
	if !failed {
		in.Members = &members
		_, err := p.engine.saveTeam(ctx, pr.WorkspaceID, &id, in)
		fe := fieldErrors(err)
		if err != nil && fe == nil {
			return err
		}
		for field, msg := range fe {
			var i int
			var rest string
			if _, scan := fmt.Sscanf(field, "members[%d].%s", &i, &rest); scan == nil && i < len(memberRows) {
				if rest == "user_id" {
					rest = "email"
				}
				v.Members[memberRows[i]].Errors[rest] = msg
			} else {
				v.Errors[field] = msg
			}
		}
		if fe == nil {
			for uid, avail := range available {
				if _, err := p.engine.updateUser(ctx, pr.WorkspaceID, uid, apiUserInput{Available: &avail}); err != nil {
					return fmt.Errorf("team availability: %w", err)
				}
			}
			return ec.Redirect(http.StatusSeeOther, "/console/teams/"+id.String()+"?saved=1")
		}
	}
	v.Error = "Nothing was saved: see the fields below."
	return p.renderTeam(ec, http.StatusUnprocessableEntity, v)
}

// userByEmail is the workspace's user with this address, or nil.
func (p *adminPages) userByEmail(ec echo.Context, email string) (*store.User, error) {
	pr, _ := httpapi.PrincipalOf(ec)
	u, err := p.store.UserByEmail(ec.Request().Context(), pr.WorkspaceID, email)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("user by email: %w", err)
	}
	return &u, nil
}
