package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Handoff event actions of assignment.
const (
	// HandoffEventCreated: the handoff was made and given to its first owner.
	HandoffEventCreated = "created"
	// HandoffEventReassigned: its SLA passed and it went to the next owner.
	HandoffEventReassigned = "reassigned"
	// HandoffEventEscalated: it passed its SLA too many times and went to
	// the team's manager; it is not reassigned again.
	HandoffEventEscalated = "escalated"
)

// AuditOwnerAssigned: the lead was given to a sales owner (old and new kept).
const AuditOwnerAssigned = "owner_assigned"

// handoffColumns lists Handoff's columns in struct order.
const handoffColumns = `id, workspace_id, lead_id, decision_id, owner_id, team_id, status,
	sla_due_at, reassignments, reason, decided_by, decided_at, created_at`

// InsertHandoff stores a new open handoff; a zero ID is filled in. A lead
// that already has an open handoff, or a decision that already made one, is
// ErrConflict. The conflict does not abort the caller's transaction (ON
// CONFLICT, not a raised violation), so the caller can treat it as "already
// handed off" and go on.
func (q *Queries) InsertHandoff(ctx context.Context, h Handoff) (Handoff, error) {
	if h.ID == uuid.Nil {
		h.ID = NewID()
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO handoffs (id, workspace_id, lead_id, decision_id, owner_id, team_id, status,
			sla_due_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8)
		ON CONFLICT DO NOTHING
		RETURNING `+handoffColumns,
		h.ID, h.WorkspaceID, h.LeadID, h.DecisionID, h.OwnerID, h.TeamID, h.SLADueAt, timeOrNow(h.CreatedAt))
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Handoff])
	if errors.Is(err, pgx.ErrNoRows) {
		return Handoff{}, fmt.Errorf("insert handoff: %w (handoffs_one_open)", ErrConflict)
	}
	return out, interpret(err, "insert handoff")
}

// GetHandoff returns a handoff of the workspace.
func (q *Queries) GetHandoff(ctx context.Context, workspaceID, id uuid.UUID) (Handoff, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+handoffColumns+` FROM handoffs WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id)
	h, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Handoff])
	return h, interpret(err, "get handoff")
}

// GetHandoffInScope returns a handoff of the workspace when it is in
// scope; one outside it is ErrNotFound, as a missing one.
func (q *Queries) GetHandoffInScope(ctx context.Context, workspaceID, id uuid.UUID, scope WorkScope) (Handoff, error) {
	w := newListQuery(workspaceID)
	w.add("id = ?", id)
	w.addScope(workspaceID, scope)
	rows, _ := q.db.Query(ctx, `SELECT `+handoffColumns+` FROM handoffs h WHERE `+strings.Join(w.conds, " AND "), w.args...)
	h, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Handoff])
	return h, interpret(err, "get handoff in scope")
}

// HandoffFilter narrows a list of handoffs. Zero fields do not filter,
// but for Scope: the zero scope is nobody's handoffs.
type HandoffFilter struct {
	// Scope is whose handoffs the list may hold.
	Scope   WorkScope
	Status  string
	OwnerID uuid.UUID
	// Unassigned lists only the handoffs without an owner.
	Unassigned bool
	Page
}

// ListHandoffs pages through the workspace's handoffs in the filter's
// scope, newest first: the sales inbox.
func (q *Queries) ListHandoffs(ctx context.Context, workspaceID uuid.UUID, f HandoffFilter) ([]Handoff, error) {
	w := newListQuery(workspaceID)
	managed := f.Scope.Managed && !f.Scope.All
	if managed {
		// The manager's people and teams go in as values, not as a
		// subquery, so that the planner estimates their handoffs from the
		// statistics of each.
		owners, teams, err := q.managedBy(ctx, workspaceID, f.Scope.UserID)
		if err != nil {
			return nil, err
		}
		w.add("(h.owner_id = ANY (?) OR h.team_id = ANY (?))", owners, teams)
	} else {
		w.addScope(workspaceID, f.Scope)
	}
	if f.Status != "" {
		w.add("status = ?", f.Status)
	}
	if f.OwnerID != uuid.Nil {
		w.add("owner_id = ?", f.OwnerID)
	}
	if f.Unassigned {
		w.add("owner_id IS NULL")
	}
	rest := w.page(f.Page)
	sql := `SELECT ` + handoffColumns + ` FROM handoffs h` + rest
	if managed {
		// A team's handoffs are found through handoffs_owner and
		// handoffs_team, then sorted. Left to order and limit at once, the
		// planner may walk the workspace's handoffs newest first until a
		// page is full: for a small team, every handoff of the workspace.
		where, order, _ := strings.Cut(rest, " ORDER BY ")
		sql = `WITH scoped AS MATERIALIZED (SELECT ` + handoffColumns + ` FROM handoffs h` + where + `)
			SELECT * FROM scoped ORDER BY ` + order
	}
	rows, _ := q.db.Query(ctx, sql, w.args...)
	hs, err := pgx.CollectRows(rows, pgx.RowToStructByName[Handoff])
	return hs, interpret(err, "list handoffs")
}

// managedBy returns whose handoffs a manager sees besides their teams':
// their own and their teams' members'; and the teams they manage.
func (q *Queries) managedBy(ctx context.Context, workspaceID, managerID uuid.UUID) (owners, teams []uuid.UUID, err error) {
	err = q.db.QueryRow(ctx, `
		SELECT ARRAY(SELECT $2::uuid UNION
				SELECT m.user_id FROM teams t JOIN team_members m ON m.team_id = t.id
				WHERE t.workspace_id = $1 AND t.manager_id = $2),
			ARRAY(SELECT t.id FROM teams t WHERE t.workspace_id = $1 AND t.manager_id = $2)`,
		workspaceID, managerID).Scan(&owners, &teams)
	return owners, teams, interpret(err, "managed by")
}

// DueHandoff names an open handoff whose SLA has passed.
type DueHandoff struct {
	ID          uuid.UUID `db:"id"`
	WorkspaceID uuid.UUID `db:"workspace_id"`
	LeadID      uuid.UUID `db:"lead_id"`
}

// DueHandoffs lists, across workspaces, up to limit open handoffs whose SLA
// passed by now and that were not escalated yet, oldest deadline first.
// escalated_at (kept from the handoff's 'escalated' event by a trigger)
// keeps escalated handoffs, open past their new deadline, out of the
// handoffs_sla_unescalated range it reads.
func (q *Queries) DueHandoffs(ctx context.Context, now time.Time, limit int) ([]DueHandoff, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT id, workspace_id, lead_id FROM handoffs h
		WHERE status = 'open' AND escalated_at IS NULL AND sla_due_at <= $1
		ORDER BY sla_due_at LIMIT $2`, now, max(limit, 1))
	ds, err := pgx.CollectRows(rows, pgx.RowToStructByName[DueHandoff])
	return ds, interpret(err, "due handoffs")
}

// LockDueHandoff locks a handoff of the workspace that is still open, past
// its SLA at now and not escalated. A handoff another process holds, or
// that no longer needs reassigning, is ErrNotFound: concurrent SLA runs
// handle each handoff once.
func (q *Queries) LockDueHandoff(ctx context.Context, workspaceID, id uuid.UUID, now time.Time) (Handoff, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT `+handoffColumns+` FROM handoffs h
		WHERE workspace_id = $1 AND id = $2 AND status = 'open' AND sla_due_at <= $3
		  AND NOT EXISTS (SELECT 1 FROM handoff_events e WHERE e.handoff_id = h.id AND e.action = 'escalated')
		FOR UPDATE SKIP LOCKED`, workspaceID, id, now)
	h, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Handoff])
	return h, interpret(err, "lock due handoff")
}

// ReassignHandoff gives an open handoff of the workspace to another owner
// (or none) and team with a new SLA deadline, counting the reassignment.
func (q *Queries) ReassignHandoff(ctx context.Context, workspaceID, id uuid.UUID, ownerID, teamID *uuid.UUID, slaDueAt time.Time) (Handoff, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE handoffs SET owner_id = $3, team_id = $4, sla_due_at = $5, reassignments = reassignments + 1
		WHERE workspace_id = $1 AND id = $2 AND status = 'open'
		RETURNING `+handoffColumns,
		workspaceID, id, ownerID, teamID, slaDueAt)
	h, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Handoff])
	return h, interpret(err, "reassign handoff")
}

// HandoffPastOwners returns everyone a handoff of the workspace was ever
// given to, so reassignment moves on to someone new.
func (q *Queries) HandoffPastOwners(ctx context.Context, workspaceID, id uuid.UUID) ([]uuid.UUID, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT DISTINCT e.owner_id FROM handoff_events e JOIN handoffs h ON h.id = e.handoff_id
		WHERE h.workspace_id = $1 AND e.handoff_id = $2 AND e.owner_id IS NOT NULL`, workspaceID, id)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	return ids, interpret(err, "handoff past owners")
}

// SetLeadOwner gives a lead of the workspace to a sales owner (nil: nobody).
func (q *Queries) SetLeadOwner(ctx context.Context, workspaceID, leadID uuid.UUID, ownerID *uuid.UUID, at time.Time) (Lead, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE leads SET owner_id = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2
		RETURNING `+leadColumns, workspaceID, leadID, ownerID, timeOrNow(at))
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
	return l, interpret(err, "set lead owner")
}
