package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// InsertLead stores a new lead; a zero ID is filled in and the timestamps are
// the given ones (the caller's clock, so a whole resolution shares one time).
func (q *Queries) InsertLead(ctx context.Context, l Lead) (Lead, error) {
	if l.ID == uuid.Nil {
		l.ID = NewID()
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO leads (id, workspace_id, first_name, last_name, email, email_canonical, phone,
			company, title, city, state, country, lead_source, description, campaign, primary_interest,
			interests, status, score, grade, owner_id, consent, consent_text, consent_at, utm, custom,
			contact_id, created_at, updated_at, phone_unverified)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
			$20, $21, $22, $23, $24, $25, $26, $27, $28, $28, $29)
		RETURNING `+leadColumns,
		l.ID, l.WorkspaceID, l.FirstName, l.LastName, l.Email, l.EmailCanonical, l.Phone,
		l.Company, l.Title, l.City, l.State, l.Country, l.LeadSource, l.Description, l.Campaign,
		l.PrimaryInterest, orEmptyStrings(l.Interests), l.Status, l.Score, l.Grade, l.OwnerID,
		l.Consent, l.ConsentText, l.ConsentAt, orEmptyMap(l.UTM), orEmptyMap(l.Custom),
		l.ContactID, timeOrNow(l.CreatedAt), l.PhoneUnverified)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
	return out, interpret(err, "insert lead")
}

// LockLead locks a lead of the workspace, merged or not, for a change.
func (q *Queries) LockLead(ctx context.Context, workspaceID, id uuid.UUID) (Lead, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+leadColumns+` FROM leads
		WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, workspaceID, id)
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
	return l, interpret(err, "lock lead")
}

// UpdateLeadProfile writes what resolving and merging change on a lead: the
// person's fields, interests, consent, attribution and contact link.
// Status, score, grade and owner belong to other flows and are left alone.
func (q *Queries) UpdateLeadProfile(ctx context.Context, l Lead) (Lead, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE leads SET first_name = $3, last_name = $4, email = $5, email_canonical = $6,
			phone = $7, company = $8, title = $9, city = $10, state = $11, country = $12,
			lead_source = $13, description = $14, campaign = $15, primary_interest = $16,
			interests = $17, consent = $18, consent_text = $19, consent_at = $20, utm = $21,
			custom = $22, contact_id = $23, updated_at = $24, phone_unverified = $25
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+leadColumns,
		l.WorkspaceID, l.ID, l.FirstName, l.LastName, l.Email, l.EmailCanonical,
		l.Phone, l.Company, l.Title, l.City, l.State, l.Country,
		l.LeadSource, l.Description, l.Campaign, l.PrimaryInterest,
		orEmptyStrings(l.Interests), l.Consent, l.ConsentText, l.ConsentAt, orEmptyMap(l.UTM),
		orEmptyMap(l.Custom), l.ContactID, timeOrNow(l.UpdatedAt), l.PhoneUnverified)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
	return out, interpret(err, "update lead profile")
}

// MarkLeadMerged retires a lead into another. Setting merged_into takes it
// out of matching and frees its email for the survivor (the leads_email
// index covers unmerged leads only).
func (q *Queries) MarkLeadMerged(ctx context.Context, workspaceID, id, intoID uuid.UUID, at time.Time) (Lead, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE leads SET merged_into = $3, updated_at = $4
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+leadColumns,
		workspaceID, id, intoID, timeOrNow(at))
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
	return out, interpret(err, "mark lead merged")
}

// timeOrNow keeps a zero time from being stored as year 1.
func timeOrNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}
