package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Audit actions: what happened to a lead.
const (
	// AuditCreated: the lead was made from a response.
	AuditCreated = "created"
	// AuditResponseMerged: a later response of the same person was merged in.
	AuditResponseMerged = "response_merged"
	// AuditFieldOverwritten: a field's value was replaced (old and new kept).
	AuditFieldOverwritten = "field_overwritten"
	// AuditContactLinked: the lead was linked to a known contact.
	AuditContactLinked = "contact_linked"
	// AuditMerged: another lead was merged into this one.
	AuditMerged = "merged"
	// AuditMergedInto: this lead was merged into another and lives on as history.
	AuditMergedInto = "merged_into"
	// AuditConsentRecorded: a person recorded the lead's new consent by hand
	// (its text the new value, where it was given in the detail).
	AuditConsentRecorded = "consent_recorded"
)

// InsertAuditEntries appends entries to the workspace's lead audit trails, in
// order, in one round trip. A zero At is the database's clock.
func (q *Queries) InsertAuditEntries(ctx context.Context, workspaceID uuid.UUID, entries ...AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, e := range entries {
		var at any
		if !e.At.IsZero() {
			at = e.At
		}
		detail := e.Detail
		if detail == nil {
			detail = map[string]any{}
		}
		b.Queue(`
			INSERT INTO lead_audit (workspace_id, lead_id, at, actor, action, field, old_value,
				new_value, response_id, detail)
			VALUES ($1, $2, COALESCE($3, now()), $4, $5, $6, $7, $8, $9, $10)`,
			workspaceID, e.LeadID, at, e.Actor, e.Action, e.Field, e.OldValue,
			e.NewValue, e.ResponseID, detail)
	}
	return interpret(q.db.SendBatch(ctx, b).Close(), "insert audit entries")
}

// MoveAuditEntries carries one lead's audit trail over to another in a merge.
func (q *Queries) MoveAuditEntries(ctx context.Context, workspaceID, fromLeadID, toLeadID uuid.UUID) (int64, error) {
	tag, err := q.db.Exec(ctx, `UPDATE lead_audit SET lead_id = $3 WHERE workspace_id = $1 AND lead_id = $2`,
		workspaceID, fromLeadID, toLeadID)
	return tag.RowsAffected(), interpret(err, "move audit entries")
}
