package qualify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Bounds of the assignment settings.
const (
	apiMaxRules            = 500
	apiMaxTerritory        = 100
	apiMinSLA              = time.Minute
	apiMaxSLA              = 365 * 24 * time.Hour
	apiMaxMaxReassignments = 20
	apiMaxCooldown         = 365 * 24 * time.Hour
)

// apiAssignment is how a workspace hands leads to sales: territory rules in
// priority order (country "" is the default rule), the SLA within which a
// handoff must be accepted, how often a missed one is reassigned before it
// goes to the team's manager, and the sequence rejected leads are recycled
// into, and how long after sales rejects a lead the criteria may hand it
// off again (once it has engaged again since).
type apiAssignment struct {
	Rules             []apiRule  `json:"rules"`
	SLA               string     `json:"sla"`
	MaxReassignments  int        `json:"max_reassignments"`
	RecycleSequenceID *uuid.UUID `json:"recycle_sequence_id"`
	RequalifyCooldown string     `json:"requalify_cooldown"`
}

// apiRule sends the leads of a country (and state, when set) to a
// team.
type apiRule struct {
	Country string    `json:"country"`
	State   string    `json:"state"`
	TeamID  uuid.UUID `json:"team_id"`
}

// apiAssignmentInput is what PUT /assignment reads; members left out keep
// their values, and rules sent replace all the rules.
type apiAssignmentInput struct {
	Rules             *[]apiRuleInput `json:"rules"`
	SLA               *string         `json:"sla"`
	MaxReassignments  *int            `json:"max_reassignments"`
	RecycleSequenceID apiNullableID   `json:"recycle_sequence_id"`
	RequalifyCooldown *string         `json:"requalify_cooldown"`
}

type apiRuleInput struct {
	Country string `json:"country"`
	State   string `json:"state"`
	TeamID  string `json:"team_id"`
}

// assignmentOf shows the stored rules and settings.
func assignmentOf(rules []store.AssignmentRule, s store.AssignmentSettings) apiAssignment {
	out := apiAssignment{
		Rules:             make([]apiRule, len(rules)),
		SLA:               formatHalfLife(s.SLASeconds),
		MaxReassignments:  s.MaxReassignments,
		RecycleSequenceID: s.RecycleSequenceID,
		RequalifyCooldown: formatHalfLife(s.RequalifyCooldownSeconds),
	}
	if s.RequalifyCooldownSeconds == 0 {
		out.RequalifyCooldown = "0s"
	}
	for i, r := range rules {
		out.Rules[i] = apiRule{Country: r.Country, State: r.State, TeamID: r.TeamID}
	}
	return out
}

// apply validates in onto the settings and returns the rules to store
// (nil when none were sent), naming every field at fault. Rule teams must
// be teams of the workspace.
func (in apiAssignmentInput) apply(ctx context.Context, q *store.Queries, s *store.AssignmentSettings) ([]store.AssignmentRule, error) {
	bad := map[string]string{}
	if in.SLA != nil {
		d, err := parseHalfLife(*in.SLA)
		switch {
		case err != nil:
			bad["sla"] = `must be a duration like "24h", "2d" or "90m"`
		case d < apiMinSLA || d > apiMaxSLA:
			bad["sla"] = "must be from 1m to 365d"
		case d%time.Second != 0:
			bad["sla"] = "must be whole seconds"
		default:
			s.SLASeconds = int64(d / time.Second)
		}
	}
	if in.MaxReassignments != nil {
		if n := *in.MaxReassignments; n < 0 || n > apiMaxMaxReassignments {
			bad["max_reassignments"] = fmt.Sprintf("must be from 0 to %d", apiMaxMaxReassignments)
		} else {
			s.MaxReassignments = n
		}
	}
	if in.RequalifyCooldown != nil {
		d, err := time.Duration(0), error(nil)
		if v := strings.TrimSpace(*in.RequalifyCooldown); v != "0" && v != "0s" && v != "0d" {
			d, err = parseHalfLife(v)
		}
		switch {
		case err != nil:
			bad["requalify_cooldown"] = `must be a duration like "30d", "12h" or "0" (none)`
		case d < 0 || d > apiMaxCooldown:
			bad["requalify_cooldown"] = "must be from 0 to 365d"
		case d%time.Second != 0:
			bad["requalify_cooldown"] = "must be whole seconds"
		default:
			s.RequalifyCooldownSeconds = int64(d / time.Second)
		}
	}
	if in.RecycleSequenceID.bad {
		bad["recycle_sequence_id"] = "must be a sequence id or null"
	} else if in.RecycleSequenceID.Set {
		s.RecycleSequenceID = in.RecycleSequenceID.ID
	}
	if in.Rules == nil {
		if len(bad) > 0 {
			return nil, &ValidationError{Fields: bad}
		}
		return nil, nil
	}
	rules := []store.AssignmentRule{}
	if len(*in.Rules) > apiMaxRules {
		bad["rules"] = fmt.Sprintf("must have at most %d rules", apiMaxRules)
	}
	defaultAt := -1
	for i, r := range *in.Rules {
		at := fmt.Sprintf("rules[%d].", i)
		rule := store.AssignmentRule{WorkspaceID: s.WorkspaceID, Position: i + 1,
			Country: strings.TrimSpace(r.Country), State: strings.TrimSpace(r.State)}
		switch {
		case len(rule.Country) > apiMaxTerritory:
			bad[at+"country"] = fmt.Sprintf("must be at most %d characters", apiMaxTerritory)
		case rule.Country == "" && rule.State != "":
			bad[at+"state"] = "needs a country"
		case rule.Country == "" && defaultAt >= 0:
			bad[at+"country"] = fmt.Sprintf("rules[%d] is already the default rule (country \"\")", defaultAt)
		case rule.Country == "":
			defaultAt = i
		}
		if len(rule.State) > apiMaxTerritory {
			bad[at+"state"] = fmt.Sprintf("must be at most %d characters", apiMaxTerritory)
		}
		id, err := uuid.Parse(r.TeamID)
		if err != nil {
			bad[at+"team_id"] = "must be a team id"
		} else if _, err := q.GetTeam(ctx, s.WorkspaceID, id); errors.Is(err, store.ErrNotFound) {
			bad[at+"team_id"] = "is not a team of this workspace"
		} else if err != nil {
			return nil, err
		}
		rule.TeamID = id
		rules = append(rules, rule)
	}
	if len(bad) > 0 {
		return nil, &ValidationError{Fields: bad}
	}
	return rules, nil
}

func (a *API) getAssignment(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	rules, err := a.store.AssignmentRules(ctx, p.WorkspaceID)
	if err != nil {
		return err
	}
	s, err := a.store.GetAssignmentSettings(ctx, p.WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, assignmentOf(rules, s))
}

func (a *API) putAssignment(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	var in apiAssignmentInput
	if err := httpapi.Decode(c, apiMaxBody, &in); err != nil {
		return err
	}
	out, err := a.engine.putAssignment(c.Request().Context(), p.WorkspaceID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// putAssignment validates and saves the workspace's assignment rules and
// settings in one transaction, as PUT /assignment and the console's
// assignment page do.
func (e *Engine) putAssignment(ctx context.Context, workspaceID uuid.UUID, in apiAssignmentInput) (apiAssignment, error) {
	var out apiAssignment
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		s, err := q.GetAssignmentSettings(ctx, workspaceID)
		if err != nil {
			return err
		}
		rules, err := in.apply(ctx, q, &s)
		if err != nil {
			return err
		}
		if s, err = q.PutAssignmentSettings(ctx, s); err != nil {
			if errors.Is(err, store.ErrInvalidReference) {
				return fmt.Errorf("%w: %w", err, invalid("recycle_sequence_id", "is not a sequence of this workspace"))
			}
			return err
		}
		if rules != nil {
			if _, err := q.ReplaceAssignmentRules(ctx, workspaceID, rules); err != nil {
				return err
			}
		}
		stored, err := q.AssignmentRules(ctx, workspaceID)
		out = assignmentOf(stored, s)
		return err
	})
	return out, err
}
