package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Opportunity stages, in the order a sale moves through them.
const (
	StageQualification = "qualification"
	StageDiscovery     = "discovery"
	StageProposal      = "proposal"
	StageNegotiation   = "negotiation"
	StageClosedWon     = "closed_won"
	StageClosedLost    = "closed_lost"
)

// opportunityColumns lists Opportunity's columns in struct order; money and
// dates come back as text so that no float or time zone touches them.
const opportunityColumns = `id, workspace_id, account_id, contact_id, lead_id, handoff_id, name,
	amount::text AS amount, stage, probability,
	to_char(expected_close_date, 'YYYY-MM-DD') AS expected_close_date, in_forecast, owner_id,
	created_at, updated_at`

// StageChange is one move of an opportunity between stages.
type StageChange struct {
	ID            int64     `db:"id"`
	OpportunityID uuid.UUID `db:"opportunity_id"`
	FromStage     string    `db:"from_stage"`
	ToStage       string    `db:"to_stage"`
	Actor         string    `db:"actor"`
	At            time.Time `db:"at"`
}

// OpportunityFilter narrows a list of opportunities. Zero fields do not
// filter.
type OpportunityFilter struct {
	AccountID  uuid.UUID
	Stage      string
	OwnerID    uuid.UUID
	InForecast *bool
	Page
}

// InsertOpportunity stores a new opportunity; a zero ID is filled in. Amount
// is a decimal string ("" is 0) and ExpectedCloseDate YYYY-MM-DD. A zero
// LeadID or ContactID is stored as none: an opportunity sales made from
// scratch has no lead, and may have no contact. A lead that already has one
// is ErrConflict.
func (q *Queries) InsertOpportunity(ctx context.Context, o Opportunity) (Opportunity, error) {
	if o.ID == uuid.Nil {
		o.ID = NewID()
	}
	if o.Amount == "" {
		o.Amount = "0"
	}
	at := timeOrNow(o.CreatedAt)
	rows, _ := q.db.Query(ctx, `
		INSERT INTO opportunities (id, workspace_id, account_id, contact_id, lead_id, handoff_id, name,
			amount, stage, probability, expected_close_date, in_forecast, owner_id, created_at, updated_at)
		VALUES ($1, $2, $3, NULLIF($4::uuid, $15::uuid), NULLIF($5::uuid, $15::uuid), $6, $7, $8::numeric, $9, $10, $11::date, $12, $13, $14, $14)
		RETURNING `+opportunityColumns,
		o.ID, o.WorkspaceID, o.AccountID, o.ContactID, o.LeadID, o.HandoffID, o.Name,
		o.Amount, o.Stage, o.Probability, o.ExpectedCloseDate, o.InForecast, o.OwnerID, at, uuid.Nil)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Opportunity])
	return out, interpret(err, "insert opportunity")
}

// GetOpportunity returns an opportunity of the workspace.
func (q *Queries) GetOpportunity(ctx context.Context, workspaceID, id uuid.UUID) (Opportunity, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+opportunityColumns+` FROM opportunities
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	o, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Opportunity])
	return o, interpret(err, "get opportunity")
}

// LockOpportunity locks an opportunity of the workspace for a change.
func (q *Queries) LockOpportunity(ctx context.Context, workspaceID, id uuid.UUID) (Opportunity, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+opportunityColumns+` FROM opportunities
		WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, workspaceID, id)
	o, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Opportunity])
	return o, interpret(err, "lock opportunity")
}

// ListOpportunities pages through the workspace's opportunities, newest
// first.
func (q *Queries) ListOpportunities(ctx context.Context, workspaceID uuid.UUID, f OpportunityFilter) ([]Opportunity, error) {
	w := newListQuery(workspaceID)
	if f.AccountID != uuid.Nil {
		w.add("account_id = ?", f.AccountID)
	}
	if f.Stage != "" {
		w.add("stage = ?", f.Stage)
	}
	if f.OwnerID != uuid.Nil {
		w.add("owner_id = ?", f.OwnerID)
	}
	if f.InForecast != nil {
		w.add("in_forecast = ?", *f.InForecast)
	}
	rows, _ := q.db.Query(ctx, `SELECT `+opportunityColumns+` FROM opportunities`+w.page(f.Page), w.args...)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[Opportunity])
	return out, interpret(err, "list opportunities")
}

// UpdateOpportunity writes what sales may change on an opportunity: name,
// amount, stage, probability, expected close date, forecast flag and owner.
// An owner who is not a user of the workspace is ErrInvalidReference.
func (q *Queries) UpdateOpportunity(ctx context.Context, o Opportunity) (Opportunity, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE opportunities SET name = $3, amount = $4::numeric, stage = $5, probability = $6,
			expected_close_date = $7::date, in_forecast = $8, owner_id = $9, updated_at = $10
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+opportunityColumns,
		o.WorkspaceID, o.ID, o.Name, o.Amount, o.Stage, o.Probability, o.ExpectedCloseDate,
		o.InForecast, o.OwnerID, timeOrNow(o.UpdatedAt))
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Opportunity])
	return out, interpret(err, "update opportunity")
}

// InsertStageChange records an opportunity's move between stages and who
// made it.
func (q *Queries) InsertStageChange(ctx context.Context, c StageChange) (StageChange, error) {
	rows, _ := q.db.Query(ctx, `
		INSERT INTO opportunity_stage_history (opportunity_id, from_stage, to_stage, actor, at)
		VALUES ($1, $2, $3, $4, $5)
		RETURNING id, opportunity_id, from_stage, to_stage, actor, at`,
		c.OpportunityID, c.FromStage, c.ToStage, c.Actor, timeOrNow(c.At))
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[StageChange])
	return out, interpret(err, "insert stage change")
}

// OpportunityStageHistory returns an opportunity's stage moves, oldest
// first.
func (q *Queries) OpportunityStageHistory(ctx context.Context, workspaceID, opportunityID uuid.UUID) ([]StageChange, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT h.id, h.opportunity_id, h.from_stage, h.to_stage, h.actor, h.at
		FROM opportunity_stage_history h JOIN opportunities o ON o.id = h.opportunity_id
		WHERE o.workspace_id = $1 AND h.opportunity_id = $2 ORDER BY h.id`, workspaceID, opportunityID)
	cs, err := pgx.CollectRows(rows, pgx.RowToStructByName[StageChange])
	return cs, interpret(err, "opportunity stage history")
}
