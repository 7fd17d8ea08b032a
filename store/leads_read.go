package store

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// LeadFilter narrows a list of leads. Zero fields do not filter. Leads merged
// into another are never listed: they live on only as history.
type LeadFilter struct {
	// EmailCanonical matches the canonical email exactly.
	EmailCanonical string
	Status         string
	// Q matches a substring of, or is trigram-similar to, the name and
	// company, or is a substring of the email.
	Q string
	Page
}

// GetLead returns a lead of the workspace, merged or not.
func (q *Queries) GetLead(ctx context.Context, workspaceID, id uuid.UUID) (Lead, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+leadColumns+` FROM leads WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id)
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
	return l, interpret(err, "get lead")
}

// ListLeads pages through the workspace's live leads, newest first.
func (q *Queries) ListLeads(ctx context.Context, workspaceID uuid.UUID, f LeadFilter) ([]Lead, error) {
	w := newListQuery(workspaceID)
	w.add("merged_into IS NULL")
	if f.EmailCanonical != "" {
		w.add("email_canonical = ?", f.EmailCanonical)
	}
	if f.Status != "" {
		w.add("status = ?", f.Status)
	}
	if f.Q != "" {
		needle := strings.ToLower(f.Q)
		w.add("(fuzzy_key LIKE ? OR lower(email) LIKE ? OR ? <% fuzzy_key)",
			likePattern(needle), likePattern(needle), needle)
	}
	rows, _ := q.db.Query(ctx, `SELECT `+leadColumns+` FROM leads`+w.page(f.Page), w.args...)
	ls, err := pgx.CollectRows(rows, pgx.RowToStructByName[Lead])
	return ls, interpret(err, "list leads")
}

// auditReadColumns lists AuditEntry's columns in struct order.
const auditReadColumns = `id, lead_id, at, actor, action, field, old_value, new_value, response_id, detail`

// LeadAudit returns a lead's audit trail, oldest first.
func (q *Queries) LeadAudit(ctx context.Context, workspaceID, leadID uuid.UUID) ([]AuditEntry, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT `+auditReadColumns+` FROM lead_audit
		WHERE workspace_id = $1 AND lead_id = $2 ORDER BY id`,
		workspaceID, leadID)
	es, err := pgx.CollectRows(rows, pgx.RowToStructByName[AuditEntry])
	return es, interpret(err, "lead audit")
}

// LeadResponses returns a lead's latest responses, newest first, at most
// limit of them.
func (q *Queries) LeadResponses(ctx context.Context, workspaceID, leadID uuid.UUID, limit int) ([]Response, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT `+responseColumns+` FROM responses
		WHERE workspace_id = $1 AND lead_id = $2 ORDER BY id DESC LIMIT $3`,
		workspaceID, leadID, max(limit, 1))
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[Response])
	return rs, interpret(err, "lead responses")
}

// duplicateReadColumns lists PossibleDuplicate's columns in struct order.
const duplicateReadColumns = `id, lead_id, match_lead_id, match_contact_id, similarity, status, created_at, reason`

// LeadPossibleDuplicates returns the possible duplicates a lead takes part
// in, on either side, oldest first.
func (q *Queries) LeadPossibleDuplicates(ctx context.Context, workspaceID, leadID uuid.UUID) ([]PossibleDuplicate, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT `+duplicateReadColumns+` FROM possible_duplicates
		WHERE workspace_id = $1 AND (lead_id = $2 OR match_lead_id = $2)
		ORDER BY created_at, id`,
		workspaceID, leadID)
	ds, err := pgx.CollectRows(rows, pgx.RowToStructByName[PossibleDuplicate])
	return ds, interpret(err, "lead possible duplicates")
}
