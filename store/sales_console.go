package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// WorkHandoff is an open handoff with what a list of them shows of its lead
// and owner.
type WorkHandoff struct {
	Handoff
	LeadFirstName   string `db:"lead_first_name"`
	LeadLastName    string `db:"lead_last_name"`
	LeadEmail       string `db:"lead_email"`
	LeadCompany     string `db:"lead_company"`
	PrimaryInterest string `db:"lead_primary_interest"`
	LeadScore       int    `db:"lead_score"`
	LeadGrade       string `db:"lead_grade"`
	OwnerName       string `db:"owner_name"`
}

// WorkScope is whose handoffs a list holds, or a read may see: everyone's
// (All), or UserID's own and, with Managed, those of the teams UserID
// manages (the team named on the handoff, or the team its owner is a member
// of, as ManagesWork reads it). The zero scope is nobody's.
type WorkScope struct {
	All     bool
	UserID  uuid.UUID
	Managed bool
}

// SLACursor is where a list ordered by deadline resumes: after the handoff
// ID due at DueAt.
type SLACursor struct {
	DueAt time.Time
	ID    uuid.UUID
}

// OpenHandoffsBySLA lists up to limit open handoffs of the workspace in
// scope, soonest deadline first, after the cursor (nil: from the start).
func (q *Queries) OpenHandoffsBySLA(ctx context.Context, workspaceID uuid.UUID, scope WorkScope, after *SLACursor, limit int) ([]WorkHandoff, error) {
	w := &listQuery{}
	w.add("h.workspace_id = ?", workspaceID)
	w.add("h.status = 'open'")
	w.addScope(workspaceID, scope)
	if after != nil {
		w.add("(h.sla_due_at, h.id) > (?, ?)", after.DueAt, after.ID)
	}
	w.args = append(w.args, max(limit, 1))
	rows, _ := q.db.Query(ctx, `
		SELECT h.id, h.workspace_id, h.lead_id, h.decision_id, h.owner_id, h.team_id, h.status,
			h.sla_due_at, h.reassignments, h.reason, h.decided_by, h.decided_at, h.created_at,
			l.first_name AS lead_first_name, l.last_name AS lead_last_name, l.email AS lead_email,
			l.company AS lead_company, l.primary_interest AS lead_primary_interest,
			l.score AS lead_score, l.grade AS lead_grade, coalesce(u.name, '') AS owner_name
		FROM handoffs h
		JOIN leads l ON l.workspace_id = h.workspace_id AND l.id = h.lead_id
		LEFT JOIN users u ON u.workspace_id = h.workspace_id AND u.id = h.owner_id
		WHERE `+strings.Join(w.conds, " AND ")+fmt.Sprintf(`
		ORDER BY h.sla_due_at, h.id
		LIMIT $%d`, len(w.args)), w.args...)
	hs, err := pgx.CollectRows(rows, pgx.RowToStructByName[WorkHandoff])
	return hs, interpret(err, "open handoffs by sla")
}

// addScope adds the condition that the handoff aliased h is in scope. A
// manager's handoffs are their own, those owned by a member of a team they
// manage, and those of a team they manage (ManagesWork's rule): each part
// compares a column to an array computed once for the statement, so the
// owner part reads handoffs_owner rather than every handoff of the
// workspace. The zero scope is nobody's.
func (w *listQuery) addScope(workspaceID uuid.UUID, s WorkScope) {
	switch {
	case s.All:
	case s.Managed:
		w.add(`(h.owner_id = ANY (ARRAY(
				SELECT ?::uuid UNION
				SELECT m.user_id FROM teams t JOIN team_members m ON m.team_id = t.id
				WHERE t.workspace_id = ? AND t.manager_id = ?))
			OR h.team_id = ANY (ARRAY(SELECT t.id FROM teams t WHERE t.workspace_id = ? AND t.manager_id = ?)))`,
			s.UserID, workspaceID, s.UserID, workspaceID, s.UserID)
	default:
		w.add("h.owner_id = ?", s.UserID)
	}
}

// ReassignTarget is a user as a reassignment reads them: whether they can
// take work, and whether they are a member of a team the manager manages.
type ReassignTarget struct {
	User
	Active bool `db:"active"`
	Member bool `db:"member"`
}

// GetReassignTarget returns a user of the workspace as someone a handoff
// may be given to by the manager (managerID nil: by whoever manages every
// team).
func (q *Queries) GetReassignTarget(ctx context.Context, workspaceID uuid.UUID, managerID *uuid.UUID, userID uuid.UUID) (ReassignTarget, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT u.id, u.workspace_id, u.name, u.email, u.role, u.available, u.created_at,
			u.deactivated_at IS NULL AS active,
			EXISTS (SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id
				WHERE t.workspace_id = $1 AND ($2::uuid IS NULL OR t.manager_id = $2) AND m.user_id = u.id) AS member
		FROM users u WHERE u.workspace_id = $1 AND u.id = $3`, workspaceID, managerID, userID)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[ReassignTarget])
	return r, interpret(err, "get reassign target")
}

// ManagedMembers lists the available members of the teams a manager manages
// (everyone's teams when managerID is nil), up to limit, by name: whom a
// handoff may be reassigned to.
func (q *Queries) ManagedMembers(ctx context.Context, workspaceID uuid.UUID, managerID *uuid.UUID, limit int) ([]User, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT DISTINCT u.id, u.workspace_id, u.name, u.email, u.role, u.available, u.created_at
		FROM team_members m
		JOIN teams t ON t.id = m.team_id
		JOIN users u ON u.workspace_id = t.workspace_id AND u.id = m.user_id
		WHERE t.workspace_id = $1 AND ($2::uuid IS NULL OR t.manager_id = $2)
		  AND u.available AND u.deactivated_at IS NULL
		ORDER BY u.name, u.id
		LIMIT $3`, workspaceID, managerID, max(limit, 1))
	us, err := pgx.CollectRows(rows, pgx.RowToStructByName[User])
	return us, interpret(err, "managed members")
}
