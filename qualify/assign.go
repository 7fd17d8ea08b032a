package qualify

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"leadflow/store"
)

// How an owner was chosen; kept in the handoff's history.
const (
	viaRoundRobin = "round_robin"
	viaManager    = "manager"
	viaUnassigned = "unassigned"
)

// assignment is the team and owner a handoff goes to. A nil owner leaves the
// handoff unassigned, in the inbox for anyone to pick up.
type assignment struct {
	teamID  *uuid.UUID
	ownerID *uuid.UUID
	via     string
}

// assign chooses who a lead's handoff goes to: the team of the first
// territory rule matching the lead (else the default rule's team), then,
// within that team, the weighted round-robin over available members under
// their daily cap who are not in exclude; with nobody eligible, the team's
// manager; with no team at all, nobody.
//
// It takes the team's assignment lock until the caller's transaction ends,
// and reads the day's counts from the handoff history, so any number of
// processes assign fairly and no cap is exceeded.
func (e *Engine) assign(ctx context.Context, q *store.Queries, lead store.Lead, exclude []uuid.UUID, now time.Time) (assignment, error) {
	rules, err := q.AssignmentRules(ctx, lead.WorkspaceID)
	if err != nil {
		return assignment{}, err
	}
	teamID, ok := territoryTeam(rules, lead.Country, lead.State)
	if !ok {
		return assignment{via: viaUnassigned}, nil
	}
	team, err := q.GetTeam(ctx, lead.WorkspaceID, teamID)
	if err != nil {
		return assignment{}, err
	}
	if err := q.LockTeamAssignment(ctx, team.ID); err != nil {
		return assignment{}, err
	}
	dayStart, err := e.dayStart(ctx, q, lead.WorkspaceID, now)
	if err != nil {
		return assignment{}, err
	}
	cands, err := q.AssignmentCandidates(ctx, lead.WorkspaceID, team.ID, dayStart)
	if err != nil {
		return assignment{}, err
	}
	a := assignment{teamID: &team.ID}
	if owner, ok := pickMember(cands, exclude); ok {
		a.ownerID, a.via = &owner, viaRoundRobin
		return a, nil
	}
	if team.ManagerID != nil {
		a.ownerID, a.via = team.ManagerID, viaManager
		return a, nil
	}
	a.via = viaUnassigned
	return a, nil
}

// territoryTeam returns the team of the first rule whose country (and state,
// when the rule names one) match the lead's, ignoring case; else the team of
// the first default rule (country ""); else none.
func territoryTeam(rules []store.AssignmentRule, country, state string) (uuid.UUID, bool) {
	country, state = strings.TrimSpace(country), strings.TrimSpace(state)
	var fallback *store.AssignmentRule
	for i, r := range rules {
		if r.Country == "" {
			if fallback == nil {
				fallback = &rules[i]
			}
			continue
		}
		if strings.EqualFold(r.Country, country) && (r.State == "" || strings.EqualFold(r.State, state)) {
			return r.TeamID, true
		}
	}
	if fallback != nil {
		return fallback.TeamID, true
	}
	return uuid.Nil, false
}

// pickMember is the weighted round-robin: among the members who are
// available, under their daily cap and not excluded, the one furthest below
// their share, that is with the fewest handoffs today per unit of weight;
// ties go to the heavier weight, then the lower user ID. Derived from counts
// alone, it is deterministic, needs no state in memory, and over a day
// gives each member handoffs in proportion to their weight (2:1 over 30
// handoffs is 20 and 10).
func pickMember(cands []store.AssignmentCandidate, exclude []uuid.UUID) (uuid.UUID, bool) {
	var best *store.AssignmentCandidate
	for i, c := range cands {
		if !c.Available || c.Weight <= 0 || slices.Contains(exclude, c.UserID) {
			continue
		}
		if c.DailyCap != nil && c.AssignedToday >= *c.DailyCap {
			continue
		}
		if best == nil || before(c, *best) {
			best = &cands[i]
		}
	}
	if best == nil {
		return uuid.Nil, false
	}
	return best.UserID, true
}

// before reports whether a is owed the next handoff ahead of b: a lower
// count/weight ratio, compared without division.
func before(a, b store.AssignmentCandidate) bool {
	l, r := a.AssignedToday*b.Weight, b.AssignedToday*a.Weight
	if l != r {
		return l < r
	}
	if a.Weight != b.Weight {
		return a.Weight > b.Weight
	}
	return bytes.Compare(a.UserID[:], b.UserID[:]) < 0
}

// dayStart is the start of now's day in the workspace's time zone (UTC when
// it names none or an unknown one): daily caps reset at the team's midnight.
func (e *Engine) dayStart(ctx context.Context, q *store.Queries, workspaceID uuid.UUID, now time.Time) (time.Time, error) {
	ws, err := q.GetWorkspace(ctx, workspaceID)
	if err != nil {
		return time.Time{}, err
	}
	return ws.DayStart(now), nil
}
