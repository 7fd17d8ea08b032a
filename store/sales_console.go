package store

import (
	"context"
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

// WorkScope is whose open handoffs a list holds: everyone's (All), or
// UserID's own and, with Managed, those of the teams UserID manages (the
// team named on the handoff, or the team its owner is a member of, as
// ManagesWork reads it).
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
	var user *uuid.UUID
	if !scope.All {
		user = &scope.UserID
	}
	var afterAt *time.Time
	var afterID uuid.UUID
	if after != nil {
		afterAt, afterID = &after.DueAt, after.ID
	}
	rows, _ := q.db.Query(ctx, `
		SELECT h.id, h.workspace_id, h.lead_id, h.decision_id, h.owner_id, h.team_id, h.status,
			h.sla_due_at, h.reassignments, h.reason, h.decided_by, h.decided_at, h.created_at,
			l.first_name AS lead_first_name, l.last_name AS lead_last_name, l.email AS lead_email,
			l.company AS lead_company, l.primary_interest AS lead_primary_interest,
			l.score AS lead_score, l.grade AS lead_grade, coalesce(u.name, '') AS owner_name
		FROM handoffs h
		JOIN leads l ON l.workspace_id = h.workspace_id AND l.id = h.lead_id
		LEFT JOIN users u ON u.workspace_id = h.workspace_id AND u.id = h.owner_id
		WHERE h.workspace_id = $1 AND h.status = 'open'
		  AND ($2::uuid IS NULL OR h.owner_id = $2 OR ($3 AND EXISTS (
			SELECT 1 FROM teams t WHERE t.workspace_id = $1 AND t.manager_id = $2
			  AND (t.id = h.team_id OR EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = t.id AND m.user_id = h.owner_id)))))
		  AND ($4::timestamptz IS NULL OR (h.sla_due_at, h.id) > ($4, $5))
		ORDER BY h.sla_due_at, h.id
		LIMIT $6`, workspaceID, user, scope.Managed, afterAt, afterID, max(limit, 1))
	hs, err := pgx.CollectRows(rows, pgx.RowToStructByName[WorkHandoff])
	return hs, interpret(err, "open handoffs by sla")
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

// IsManagedMember reports whether a user is a member of a team the manager
// manages (of any team when managerID is nil).
func (q *Queries) IsManagedMember(ctx context.Context, workspaceID uuid.UUID, managerID *uuid.UUID, userID uuid.UUID) (bool, error) {
	var ok bool
	err := q.db.QueryRow(ctx, `
		SELECT EXISTS (
			SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id
			WHERE t.workspace_id = $1 AND ($2::uuid IS NULL OR t.manager_id = $2) AND m.user_id = $3)`,
		workspaceID, managerID, userID).Scan(&ok)
	return ok, interpret(err, "is managed member")
}
