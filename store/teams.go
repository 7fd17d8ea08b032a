package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// teamColumns lists Team's columns in struct order.
const teamColumns = `id, workspace_id, name, manager_id, created_at`

// InsertTeam stores a new team; a zero ID is filled in. A manager who is not
// a user of the workspace is ErrInvalidReference.
func (q *Queries) InsertTeam(ctx context.Context, t Team) (Team, error) {
	if t.ID == uuid.Nil {
		t.ID = NewID()
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO teams (id, workspace_id, name, manager_id) VALUES ($1, $2, $3, $4)
		RETURNING `+teamColumns,
		t.ID, t.WorkspaceID, t.Name, t.ManagerID)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Team])
	return out, interpret(err, "insert team")
}

// GetTeam returns a team of the workspace.
func (q *Queries) GetTeam(ctx context.Context, workspaceID, id uuid.UUID) (Team, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+teamColumns+` FROM teams WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id)
	t, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Team])
	return t, interpret(err, "get team")
}

// ListTeams pages through the workspace's teams, newest first.
func (q *Queries) ListTeams(ctx context.Context, workspaceID uuid.UUID, p Page) ([]Team, error) {
	w := newListQuery(workspaceID)
	rows, _ := q.db.Query(ctx, `SELECT `+teamColumns+` FROM teams`+w.page(p), w.args...)
	ts, err := pgx.CollectRows(rows, pgx.RowToStructByName[Team])
	return ts, interpret(err, "list teams")
}

// UpdateTeam writes a team's name and manager.
func (q *Queries) UpdateTeam(ctx context.Context, t Team) (Team, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE teams SET name = $3, manager_id = $4 WHERE workspace_id = $1 AND id = $2
		RETURNING `+teamColumns,
		t.WorkspaceID, t.ID, t.Name, t.ManagerID)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Team])
	return out, interpret(err, "update team")
}

// TeamMembers returns the members of the workspace's teams among teamIDs,
// by team then user.
func (q *Queries) TeamMembers(ctx context.Context, workspaceID uuid.UUID, teamIDs []uuid.UUID) ([]TeamMember, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT m.team_id, m.user_id, m.weight, m.daily_cap
		FROM team_members m JOIN teams t ON t.id = m.team_id
		WHERE t.workspace_id = $1 AND m.team_id = ANY ($2)
		ORDER BY m.team_id, m.user_id`, workspaceID, teamIDs)
	ms, err := pgx.CollectRows(rows, pgx.RowToStructByName[TeamMember])
	return ms, interpret(err, "team members")
}

// ReplaceTeamMembers makes members the whole membership of a team of the
// workspace. team_members' foreign key does not name the workspace, so the
// insert joins users of this workspace only; a member who is not one is
// ErrInvalidReference. Run it in a transaction.
func (q *Queries) ReplaceTeamMembers(ctx context.Context, workspaceID, teamID uuid.UUID, members []TeamMember) error {
	if _, err := q.GetTeam(ctx, workspaceID, teamID); err != nil {
		return err
	}
	if _, err := q.db.Exec(ctx, `DELETE FROM team_members WHERE team_id = $1`, teamID); err != nil {
		return interpret(err, "clear team members")
	}
	if len(members) == 0 {
		return nil
	}
	users := make([]uuid.UUID, len(members))
	weights := make([]int, len(members))
	caps := make([]*int, len(members))
	for i, m := range members {
		users[i], weights[i], caps[i] = m.UserID, m.Weight, m.DailyCap
	}
	tag, err := q.db.Exec(ctx, `
		INSERT INTO team_members (team_id, user_id, weight, daily_cap)
		SELECT $2, m.user_id, m.weight, m.daily_cap
		FROM unnest($3::uuid[], $4::int[], $5::int[]) AS m (user_id, weight, daily_cap)
		JOIN users u ON u.id = m.user_id AND u.workspace_id = $1`,
		workspaceID, teamID, users, weights, caps)
	if err != nil {
		return interpret(err, "insert team members")
	}
	if tag.RowsAffected() != int64(len(members)) {
		return fmt.Errorf("insert team members: %w", ErrInvalidReference)
	}
	return nil
}

// assignmentRuleColumns lists AssignmentRule's columns in struct order.
const assignmentRuleColumns = `id, workspace_id, position, country, state, team_id`

// AssignmentRules returns the workspace's territory rules in priority order.
func (q *Queries) AssignmentRules(ctx context.Context, workspaceID uuid.UUID) ([]AssignmentRule, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+assignmentRuleColumns+` FROM assignment_rules
		WHERE workspace_id = $1 ORDER BY position, id`, workspaceID)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[AssignmentRule])
	return rs, interpret(err, "assignment rules")
}

// ReplaceAssignmentRules makes rules, in their order, the workspace's
// territory rules. A team of another workspace is ErrInvalidReference. Run
// it in a transaction.
func (q *Queries) ReplaceAssignmentRules(ctx context.Context, workspaceID uuid.UUID, rules []AssignmentRule) ([]AssignmentRule, error) {
	if _, err := q.db.Exec(ctx, `DELETE FROM assignment_rules WHERE workspace_id = $1`, workspaceID); err != nil {
		return nil, interpret(err, "clear assignment rules")
	}
	if len(rules) > 0 {
		ids := make([]uuid.UUID, len(rules))
		countries := make([]string, len(rules))
		states := make([]string, len(rules))
		teams := make([]uuid.UUID, len(rules))
		for i, r := range rules {
			ids[i], countries[i], states[i], teams[i] = NewID(), r.Country, r.State, r.TeamID
		}
		_, err := q.db.Exec(ctx, `
			INSERT INTO assignment_rules (id, workspace_id, position, country, state, team_id)
			SELECT r.id, $1, r.position, r.country, r.state, r.team_id
			FROM unnest($2::uuid[], $3::text[], $4::text[], $5::uuid[]) WITH ORDINALITY
				AS r (id, country, state, team_id, position)`,
			workspaceID, ids, countries, states, teams)
		if err != nil {
			return nil, interpret(err, "insert assignment rules")
		}
	}
	return q.AssignmentRules(ctx, workspaceID)
}

// Assignment settings of a workspace that never set them; they match the
// column defaults of assignment_settings.
const (
	DefaultSLASeconds       = 86400
	DefaultMaxReassignments = 2
	// DefaultRequalifyCooldownSeconds is 30 days.
	DefaultRequalifyCooldownSeconds = 30 * 86400
)

// assignmentSettingsColumns lists AssignmentSettings' columns in struct order.
const assignmentSettingsColumns = `workspace_id, sla_seconds, max_reassignments, recycle_sequence_id,
	requalify_cooldown_seconds`

// GetAssignmentSettings returns how handoffs run in the workspace: the
// defaults until they are set.
func (q *Queries) GetAssignmentSettings(ctx context.Context, workspaceID uuid.UUID) (AssignmentSettings, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+assignmentSettingsColumns+` FROM assignment_settings
		WHERE workspace_id = $1`, workspaceID)
	s, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[AssignmentSettings])
	if errors.Is(err, pgx.ErrNoRows) {
		return AssignmentSettings{
			WorkspaceID: workspaceID, SLASeconds: DefaultSLASeconds, MaxReassignments: DefaultMaxReassignments,
			RequalifyCooldownSeconds: DefaultRequalifyCooldownSeconds,
		}, nil
	}
	return s, interpret(err, "get assignment settings")
}

// PutAssignmentSettings stores how handoffs run in the workspace. A recycle
// sequence of another workspace is ErrInvalidReference.
func (q *Queries) PutAssignmentSettings(ctx context.Context, s AssignmentSettings) (AssignmentSettings, error) {
	rows, _ := q.db.Query(ctx, `
		INSERT INTO assignment_settings (workspace_id, sla_seconds, max_reassignments, recycle_sequence_id,
			requalify_cooldown_seconds)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (workspace_id) DO UPDATE SET sla_seconds = EXCLUDED.sla_seconds,
			max_reassignments = EXCLUDED.max_reassignments, recycle_sequence_id = EXCLUDED.recycle_sequence_id,
			requalify_cooldown_seconds = EXCLUDED.requalify_cooldown_seconds
		RETURNING `+assignmentSettingsColumns,
		s.WorkspaceID, s.SLASeconds, s.MaxReassignments, s.RecycleSequenceID, s.RequalifyCooldownSeconds)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[AssignmentSettings])
	return out, interpret(err, "put assignment settings")
}

// AssignmentCandidate is a team member as the round-robin sees them.
type AssignmentCandidate struct {
	UserID    uuid.UUID `db:"user_id"`
	Weight    int       `db:"weight"`
	DailyCap  *int      `db:"daily_cap"`
	Available bool      `db:"available"`
	// AssignedToday counts the handoffs given to the user (created or
	// reassigned to them) since the start of the day.
	AssignedToday int `db:"assigned_today"`
}

// AssignmentCandidates returns a team's members with what the round-robin
// needs: weight, cap, availability and how many handoffs each received since
// dayStart. Counting from the handoff history (not a counter in memory)
// keeps any number of processes fair and the counts exact.
func (q *Queries) AssignmentCandidates(ctx context.Context, workspaceID, teamID uuid.UUID, dayStart time.Time) ([]AssignmentCandidate, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT m.user_id, m.weight, m.daily_cap, u.available,
			(SELECT count(*) FROM handoff_events e JOIN handoffs h ON h.id = e.handoff_id
			 WHERE e.owner_id = m.user_id AND e.action IN ('created', 'reassigned') AND e.at >= $3
			   AND h.workspace_id = $1)::int AS assigned_today
		FROM team_members m
		JOIN teams t ON t.id = m.team_id
		JOIN users u ON u.id = m.user_id AND u.workspace_id = t.workspace_id
		WHERE t.workspace_id = $1 AND m.team_id = $2
		ORDER BY m.user_id`, workspaceID, teamID, dayStart)
	cs, err := pgx.CollectRows(rows, pgx.RowToStructByName[AssignmentCandidate])
	return cs, interpret(err, "assignment candidates")
}

// LockTeamAssignment serialises assignments within one team until the
// transaction ends, so concurrent handoffs see each other's counts: the
// round-robin stays exact and a daily cap is never exceeded.
func (q *Queries) LockTeamAssignment(ctx context.Context, teamID uuid.UUID) error {
	_, err := q.db.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
		"assign:"+teamID.String())
	return interpret(err, "lock team assignment")
}

// ManagesWork reports whether a manager manages the work of an owner or a
// team: the team is one they manage, or the owner is a member of one.
func (q *Queries) ManagesWork(ctx context.Context, workspaceID, managerID uuid.UUID, ownerID, teamID *uuid.UUID) (bool, error) {
	var ok bool
	err := q.db.QueryRow(ctx, `
		SELECT EXISTS (
			SELECT 1 FROM teams t
			WHERE t.workspace_id = $1 AND t.manager_id = $2
			  AND (t.id = $4 OR EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = t.id AND m.user_id = $3)))`,
		workspaceID, managerID, ownerID, teamID).Scan(&ok)
	return ok, interpret(err, "manages work")
}
