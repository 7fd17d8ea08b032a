package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Audit actions of identity.
const (
	// AuditIdentityAdded: the lead answers to one more email address.
	AuditIdentityAdded = "identity_added"
	// AuditHandoffSettled: a merge moved or closed the retired lead's open
	// handoff.
	AuditHandoffSettled = "handoff_settled"
)

// HandoffEventMerged: the handoff's lead was merged into another; the
// handoff was moved to the survivor, or closed because the survivor had one.
const HandoffEventMerged = "merged"

// LeadIdentity is one email address a lead answers to.
type LeadIdentity struct {
	EmailCanonical string    `db:"email_canonical"`
	LeadID         uuid.UUID `db:"lead_id"`
	Email          string    `db:"email"`
	CreatedAt      time.Time `db:"created_at"`
}

// AddLeadIdentity records that the lead answers to this address. An address
// already held, by this lead or another, is left where it is; it reports
// whether the address was added.
func (q *Queries) AddLeadIdentity(ctx context.Context, workspaceID, leadID uuid.UUID, email, emailCanonical string, at time.Time) (bool, error) {
	if emailCanonical == "" {
		return false, nil
	}
	tag, err := q.db.Exec(ctx, `
		INSERT INTO lead_identities (workspace_id, email_canonical, lead_id, email, created_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`,
		workspaceID, emailCanonical, leadID, email, timeOrNow(at))
	return tag.RowsAffected() == 1, interpret(err, "add lead identity")
}

// LeadIdentities lists the addresses a lead answers to, oldest first.
func (q *Queries) LeadIdentities(ctx context.Context, workspaceID, leadID uuid.UUID) ([]LeadIdentity, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT email_canonical, lead_id, email, created_at FROM lead_identities
		WHERE workspace_id = $1 AND lead_id = $2
		ORDER BY created_at, email_canonical`, workspaceID, leadID)
	ids, err := pgx.CollectRows(rows, pgx.RowToStructByName[LeadIdentity])
	return ids, interpret(err, "lead identities")
}

// MoveLeadIdentities gives a merged lead's addresses to the lead it was
// merged into.
func (q *Queries) MoveLeadIdentities(ctx context.Context, workspaceID, fromLeadID, toLeadID uuid.UUID) (int64, error) {
	tag, err := q.db.Exec(ctx, `UPDATE lead_identities SET lead_id = $3 WHERE workspace_id = $1 AND lead_id = $2`,
		workspaceID, fromLeadID, toLeadID)
	return tag.RowsAffected(), interpret(err, "move lead identities")
}

// SettledHandoff is what a merge did with the retired lead's open handoff.
type SettledHandoff struct {
	HandoffID uuid.UUID `db:"id"`
	// Moved: the handoff now belongs to the surviving lead; otherwise it
	// was closed (rejected, with the merge as its reason).
	Moved bool `db:"moved"`
}

// SettleMergedHandoff deals with the open handoff of a lead being merged
// into another, so no open handoff names a retired lead: it moves to the
// survivor when the survivor has none open, and is closed otherwise. Its
// history records which. ErrNotFound when the lead has no open handoff.
func (q *Queries) SettleMergedHandoff(ctx context.Context, workspaceID, fromLeadID, toLeadID uuid.UUID, actor string, at time.Time) (SettledHandoff, error) {
	at = timeOrNow(at)
	// The survivor's open handoff, if any, is locked first so a handoff made
	// for it meanwhile cannot make two open ones.
	rows, _ := q.db.Query(ctx, `
		WITH survivor AS (
			SELECT id FROM handoffs WHERE workspace_id = $1 AND lead_id = $3 AND status = 'open' FOR UPDATE
		), retired AS (
			SELECT id FROM handoffs WHERE workspace_id = $1 AND lead_id = $2 AND status = 'open' FOR UPDATE
		), moved AS (
			UPDATE handoffs h SET lead_id = $3
			FROM retired r WHERE h.id = r.id AND NOT EXISTS (SELECT 1 FROM survivor)
			RETURNING h.id
		), closed AS (
			UPDATE handoffs h SET status = 'rejected', reason = 'lead merged into ' || $3::text,
				decided_by = $4, decided_at = $5
			FROM retired r WHERE h.id = r.id AND EXISTS (SELECT 1 FROM survivor)
			RETURNING h.id
		)
		SELECT id, true AS moved FROM moved
		UNION ALL
		SELECT id, false FROM closed`,
		workspaceID, fromLeadID, toLeadID, actor, at)
	s, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[SettledHandoff])
	if err != nil {
		return SettledHandoff{}, interpret(err, "settle merged handoff")
	}
	_, err = q.db.Exec(ctx, `
		INSERT INTO handoff_events (handoff_id, action, actor, detail, at)
		VALUES ($1, $2, $3, $4, $5)`,
		s.HandoffID, HandoffEventMerged, actor,
		map[string]any{"from_lead_id": fromLeadID, "into_lead_id": toLeadID, "moved": s.Moved}, at)
	return s, interpret(err, "insert handoff merged event")
}
