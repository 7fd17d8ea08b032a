package store

import (
	"context"
	"errors"
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
	// InferredBy is how an address the lead never gave as its own was tied
	// to it (IdentityByPhoneAndName); "" for one it gave or was merged with.
	InferredBy string `db:"inferred_by"`
}

// IdentityByPhoneAndName: a new address came with the lead's own phone and
// its full name, and nothing told them apart.
const IdentityByPhoneAndName = "phone_and_name"

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

// AddInferredLeadIdentity records that the lead answers to an address it
// was tied to by other evidence (how: inferredBy), not given as its own. An
// address already held is left where it is, as it is; it reports whether
// the address was added.
func (q *Queries) AddInferredLeadIdentity(ctx context.Context, workspaceID, leadID uuid.UUID, email, emailCanonical, inferredBy string, at time.Time) (bool, error) {
	if emailCanonical == "" {
		return false, nil
	}
	tag, err := q.db.Exec(ctx, `
		INSERT INTO lead_identities (workspace_id, email_canonical, lead_id, email, created_at, inferred_by)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT DO NOTHING`,
		workspaceID, emailCanonical, leadID, email, timeOrNow(at), inferredBy)
	return tag.RowsAffected() == 1, interpret(err, "add inferred lead identity")
}

// LeadIdentityInferredBy says how the address became one of a lead's
// identities when the lead never gave it as its own ("" when it did, or
// when no lead holds it).
func (q *Queries) LeadIdentityInferredBy(ctx context.Context, workspaceID uuid.UUID, emailCanonical string) (string, error) {
	rows, _ := q.db.Query(ctx, `SELECT inferred_by FROM lead_identities WHERE workspace_id = $1 AND email_canonical = $2`,
		workspaceID, emailCanonical)
	by, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[string])
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return by, interpret(err, "lead identity inferred by")
}

// InferLeadIdentities marks addresses the lead holds as tied to it by other
// evidence (how: inferredBy) rather than given as its own: a lead merged in
// on a phone and a name keeps finding the survivor through its addresses,
// which then only fill blanks. Addresses marked already keep their mark.
func (q *Queries) InferLeadIdentities(ctx context.Context, workspaceID, leadID uuid.UUID, emailCanonicals []string, inferredBy string) (int64, error) {
	tag, err := q.db.Exec(ctx, `
		UPDATE lead_identities SET inferred_by = $4
		WHERE workspace_id = $1 AND lead_id = $2 AND email_canonical = ANY($3) AND inferred_by = ''`,
		workspaceID, leadID, emailCanonicals, inferredBy)
	return tag.RowsAffected(), interpret(err, "infer lead identities")
}

// PersonName is a first and last name as a submission gave them.
type PersonName struct {
	FirstName string `db:"first_name"`
	LastName  string `db:"last_name"`
}

// givenNameLimit bounds the spellings of one lead's name weighed: a person
// spells themselves a few ways.
const givenNameLimit = 20

// LeadGivenNames lists the names the lead's responses gave, each spelling
// once, oldest first: how the person wrote their name, a typo included, where
// the lead's own name is only the latest.
func (q *Queries) LeadGivenNames(ctx context.Context, workspaceID, leadID uuid.UUID) ([]PersonName, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT first_name, last_name FROM (
			SELECT coalesce(fields->>'first_name', '') AS first_name, coalesce(fields->>'last_name', '') AS last_name,
				min(received_at) AS first_at
			FROM responses WHERE workspace_id = $1 AND lead_id = $2
			GROUP BY 1, 2
		) n ORDER BY first_at, first_name, last_name LIMIT $3`, workspaceID, leadID, givenNameLimit)
	ns, err := pgx.CollectRows(rows, pgx.RowToStructByName[PersonName])
	return ns, interpret(err, "lead given names")
}

// LeadIdentities lists the addresses a lead answers to, oldest first.
func (q *Queries) LeadIdentities(ctx context.Context, workspaceID, leadID uuid.UUID) ([]LeadIdentity, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT email_canonical, lead_id, email, created_at, inferred_by FROM lead_identities
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
