package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// decisionColumns lists QualificationDecision's columns in struct order.
const decisionColumns = `id, workspace_id, lead_id, criteria_id, criteria_version, outcome, vals, actor,
	reason, created_at`

// InsertQualificationDecision records a qualification decision; a zero ID
// is filled in.
func (q *Queries) InsertQualificationDecision(ctx context.Context, d QualificationDecision) (QualificationDecision, error) {
	if d.ID == uuid.Nil {
		d.ID = NewID()
	}
	vals := d.Values
	if vals == nil {
		vals = map[string]any{}
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO qualification_decisions (id, workspace_id, lead_id, criteria_id, criteria_version,
			outcome, vals, actor, reason, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		RETURNING `+decisionColumns,
		d.ID, d.WorkspaceID, d.LeadID, d.CriteriaID, d.CriteriaVersion, d.Outcome, vals, d.Actor,
		d.Reason, timeOrNow(d.CreatedAt))
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[QualificationDecision])
	return out, interpret(err, "insert qualification decision")
}

// LeadQualificationDecisions returns a lead's qualification decisions,
// oldest first.
func (q *Queries) LeadQualificationDecisions(ctx context.Context, workspaceID, leadID uuid.UUID) ([]QualificationDecision, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT `+decisionColumns+` FROM qualification_decisions
		WHERE workspace_id = $1 AND lead_id = $2 ORDER BY created_at, id`, workspaceID, leadID)
	ds, err := pgx.CollectRows(rows, pgx.RowToStructByName[QualificationDecision])
	return ds, interpret(err, "lead qualification decisions")
}

// LeadHasOpenHandoff reports whether a lead has a handoff still open.
func (q *Queries) LeadHasOpenHandoff(ctx context.Context, workspaceID, leadID uuid.UUID) (bool, error) {
	var ok bool
	err := q.db.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM handoffs WHERE workspace_id = $1 AND lead_id = $2 AND status = 'open')`,
		workspaceID, leadID).Scan(&ok)
	return ok, interpret(err, "lead has open handoff")
}

// LeadQualificationFields are what inside sales records on a call: budget,
// authority, need, timeline, the follow-up date and the primary purchase
// interest.
type LeadQualificationFields struct {
	Budget          string
	Authority       string
	Need            string
	Timeline        string
	FollowUpAt      *time.Time
	PrimaryInterest string
}

// SetLeadQualificationFields writes what a sales call learnt about a lead.
// Fit rules read these fields, so the write marks the lead for rescoring.
func (q *Queries) SetLeadQualificationFields(ctx context.Context, workspaceID, leadID uuid.UUID, f LeadQualificationFields, at time.Time) (Lead, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE leads SET budget = $3, authority = $4, need = $5, timeline = $6, follow_up_at = $7,
			primary_interest = $8, updated_at = $9
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+leadColumns,
		workspaceID, leadID, f.Budget, f.Authority, f.Need, f.Timeline, f.FollowUpAt, f.PrimaryInterest,
		timeOrNow(at))
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
	return l, interpret(err, "set lead qualification fields")
}

// LastRejection returns when the lead's latest rejected handoff was
// rejected; ErrNotFound when sales never rejected it.
func (q *Queries) LastRejection(ctx context.Context, workspaceID, leadID uuid.UUID) (time.Time, error) {
	var at *time.Time
	err := q.db.QueryRow(ctx, `
		SELECT max(decided_at) FROM handoffs
		WHERE lead_id = $2 AND workspace_id = $1 AND status = 'rejected'`, workspaceID, leadID).Scan(&at)
	if err == nil && at == nil {
		return time.Time{}, ErrNotFound
	}
	if err != nil {
		return time.Time{}, interpret(err, "last rejection")
	}
	return *at, nil
}
