package qualify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Bounds of a team.
const (
	apiMaxMembers    = 500
	apiMaxWeight     = 100
	apiMaxDailyCap   = 10000
	notWorkspaceUser = "is not a user of this workspace"
)

// Team is how the API shows a store.Team.
type Team struct {
	ID        uuid.UUID  `json:"id"`
	Name      string     `json:"name"`
	ManagerID *uuid.UUID `json:"manager_id"`
	CreatedAt time.Time  `json:"created_at"`
}

func newTeam(r store.Team) Team {
	return Team{
		ID:        r.ID,
		Name:      r.Name,
		ManagerID: r.ManagerID,
		CreatedAt: r.CreatedAt,
	}
}

// TeamMember is how the API shows a store.TeamMember.
type TeamMember struct {
	UserID   uuid.UUID `json:"user_id"`
	Weight   int       `json:"weight"`
	DailyCap *int      `json:"daily_cap"`
}

func newTeamMember(r store.TeamMember) TeamMember {
	return TeamMember{
		UserID:   r.UserID,
		Weight:   r.Weight,
		DailyCap: r.DailyCap,
	}
}

// apiTeam is a team with its members, as the API shows it.
type apiTeam struct {
	Team
	Members []TeamMember `json:"members"`
}

// apiMemberInput is one member of a team's round-robin; weight defaults to
// 1 and no daily cap means none.
type apiMemberInput struct {
	UserID   string `json:"user_id"`
	Weight   *int   `json:"weight"`
	DailyCap *int   `json:"daily_cap"`
}

// apiTeamInput is a team as POST and PATCH read it; members left out of a
// PATCH keep their values, and members sent replace the whole membership.
type apiTeamInput struct {
	Name      *string           `json:"name"`
	ManagerID apiNullableID     `json:"manager_id"`
	Members   *[]apiMemberInput `json:"members"`
}

// apiNullableID is an ID member that a body may leave out (Set false), send
// as null (Set, no ID: "none") or send as an ID.
type apiNullableID struct {
	Set bool
	ID  *uuid.UUID
	// bad: the value was neither null nor an ID.
	bad bool
}

func (n *apiNullableID) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		n.bad = true
		return nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		n.bad = true
		return nil
	}
	n.ID = &id
	return nil
}

// apply validates in and copies it onto t, returning the members to store
// when they were sent (nil otherwise); every field at fault is named.
// Manager and members must be users of t's workspace.
func (in apiTeamInput) apply(ctx context.Context, q *store.Queries, t *store.Team) ([]store.TeamMember, error) {
	bad := map[string]string{}
	if in.Name != nil {
		t.Name = strings.TrimSpace(*in.Name)
	}
	switch {
	case t.Name == "":
		bad["name"] = "is required"
	case len(t.Name) > apiMaxName:
		bad["name"] = fmt.Sprintf("must be at most %d characters", apiMaxName)
	}
	if in.ManagerID.bad {
		bad["manager_id"] = "must be a user id or null"
	} else if in.ManagerID.Set {
		t.ManagerID = in.ManagerID.ID
	}
	var members []store.TeamMember
	if in.Members != nil {
		members = []store.TeamMember{}
		if len(*in.Members) > apiMaxMembers {
			bad["members"] = fmt.Sprintf("must have at most %d members", apiMaxMembers)
		}
		seen := map[uuid.UUID]bool{}
		for i, m := range *in.Members {
			at := fmt.Sprintf("members[%d].", i)
			id, err := uuid.Parse(m.UserID)
			switch {
			case m.UserID == "":
				bad[at+"user_id"] = "is required"
			case err != nil:
				bad[at+"user_id"] = "must be a user id"
			case seen[id]:
				bad[at+"user_id"] = "is listed twice"
			}
			seen[id] = true
			tm := store.TeamMember{UserID: id, Weight: 1, DailyCap: m.DailyCap}
			if m.Weight != nil {
				tm.Weight = *m.Weight
			}
			if tm.Weight < 1 || tm.Weight > apiMaxWeight {
				bad[at+"weight"] = fmt.Sprintf("must be from 1 to %d", apiMaxWeight)
			}
			if tm.DailyCap != nil && (*tm.DailyCap < 1 || *tm.DailyCap > apiMaxDailyCap) {
				bad[at+"daily_cap"] = fmt.Sprintf("must be from 1 to %d, or null for no cap", apiMaxDailyCap)
			}
			members = append(members, tm)
		}
	}
	// Name every user who is not one of the workspace's, rather than
	// letting a foreign key refuse the first.
	var ids []uuid.UUID
	if t.ManagerID != nil {
		ids = append(ids, *t.ManagerID)
	}
	for _, m := range members {
		ids = append(ids, m.UserID)
	}
	users, err := q.UsersByID(ctx, t.WorkspaceID, ids)
	if err != nil {
		return nil, err
	}
	known := map[uuid.UUID]bool{}
	for _, u := range users {
		known[u.ID] = true
	}
	if t.ManagerID != nil && !known[*t.ManagerID] && bad["manager_id"] == "" {
		bad["manager_id"] = notWorkspaceUser
	}
	for i, m := range members {
		if at := fmt.Sprintf("members[%d].user_id", i); !known[m.UserID] && bad[at] == "" {
			bad[at] = notWorkspaceUser
		}
	}
	if len(bad) > 0 {
		return nil, &ValidationError{Fields: bad}
	}
	return members, nil
}

// apiTeamsOf loads the members of teams.
func apiTeamsOf(ctx context.Context, q *store.Queries, workspaceID uuid.UUID, teams []store.Team) ([]apiTeam, error) {
	ids := make([]uuid.UUID, len(teams))
	for i, t := range teams {
		ids[i] = t.ID
	}
	ms, err := q.TeamMembers(ctx, workspaceID, ids)
	if err != nil {
		return nil, err
	}
	byTeam := map[uuid.UUID][]store.TeamMember{}
	for _, m := range ms {
		byTeam[m.TeamID] = append(byTeam[m.TeamID], m)
	}
	out := make([]apiTeam, len(teams))
	for i, t := range teams {
		out[i] = apiTeam{Team: newTeam(t), Members: httpapi.Map(orEmpty(byTeam[t.ID]), newTeamMember)}
	}
	return out, nil
}

func (a *API) createTeam(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	var in apiTeamInput
	if err := httpapi.Decode(c, apiMaxBody, &in); err != nil {
		return err
	}
	t, err := a.engine.saveTeam(c.Request().Context(), p.WorkspaceID, nil, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, t)
}

func (a *API) listTeams(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ts, err := a.store.ListTeams(ctx, p.WorkspaceID, page)
	if err != nil {
		return err
	}
	out, err := apiTeamsOf(ctx, a.store.Queries, p.WorkspaceID, ts)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(out, limit, func(t apiTeam) uuid.UUID { return t.ID }))
}

func (a *API) getTeam(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	t, err := a.store.GetTeam(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	out, err := apiTeamsOf(ctx, a.store.Queries, p.WorkspaceID, []store.Team{t})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out[0])
}

func (a *API) updateTeam(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	var in apiTeamInput
	if err := httpapi.Decode(c, apiMaxBody, &in); err != nil {
		return err
	}
	t, err := a.engine.saveTeam(c.Request().Context(), p.WorkspaceID, &id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}
