package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ExportSectionLimit bounds the rows of each section of a person's export,
// so a lead with years of history cannot hold the process's memory; a
// section cut short says so.
const ExportSectionLimit = 2000

// ExportSection is one table family of what is held about a person: each
// row as the database holds it, as JSON. Rows are the stored columns on
// purpose: a column added later is part of the export without anyone
// remembering to add it.
type ExportSection struct {
	Name      string
	Rows      []json.RawMessage
	Truncated bool
}

// PersonExport is everything held about the person of a lead.
type PersonExport struct {
	// LeadIDs are the lead and the leads merged into it, at any depth.
	LeadIDs  []uuid.UUID
	Sections []ExportSection
}

// personLeadsSQL lists a lead and every lead merged into it, at any depth
// ($1 workspace, $2 lead).
const personLeadsSQL = `
	WITH RECURSIVE person AS (
		SELECT id FROM leads WHERE workspace_id = $1 AND id = $2
		UNION
		SELECT l.id FROM leads l JOIN person p ON l.merged_into = p.id WHERE l.workspace_id = $1
	)
	SELECT id FROM person ORDER BY id`

// personLeads lists the leads one person is: the lead and those merged into
// it; ErrNotFound when the workspace has no such lead.
func (q *Queries) personLeads(ctx context.Context, workspaceID, leadID uuid.UUID) ([]uuid.UUID, error) {
	rows, _ := q.db.Query(ctx, personLeadsSQL, workspaceID, leadID)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err == nil && len(ids) == 0 {
		err = pgx.ErrNoRows
	}
	return ids, interpret(err, "person's leads")
}

// exportSections are the queries of an export, each giving one jsonb per
// row ($1 workspace, $2 the person's lead ids). Response files come without
// their content: their names, types and sizes say what is held.
var exportSections = []struct{ name, sql string }{
	{"leads", `SELECT to_jsonb(l) - 'fuzzy_key' - 'name_key' - 'company_key' FROM leads l
		WHERE l.workspace_id = $1 AND l.id = ANY($2) ORDER BY l.created_at, l.id`},
	{"identities", `SELECT to_jsonb(i) FROM lead_identities i
		WHERE i.workspace_id = $1 AND i.lead_id = ANY($2) ORDER BY i.created_at, i.email_canonical`},
	{"responses", `SELECT to_jsonb(r) FROM responses r
		WHERE r.workspace_id = $1 AND r.lead_id = ANY($2) ORDER BY r.received_at, r.id`},
	{"response_files", `SELECT to_jsonb(f) - 'data' FROM response_files f
		JOIN responses r ON r.workspace_id = f.workspace_id AND r.id = f.response_id
		WHERE r.workspace_id = $1 AND r.lead_id = ANY($2) ORDER BY f.response_id, f.id`},
	{"messages", `SELECT to_jsonb(m) FROM messages m
		WHERE m.workspace_id = $1 AND (m.lead_id = ANY($2) OR m.response_id IN (
			SELECT id FROM responses WHERE workspace_id = $1 AND lead_id = ANY($2)))
		ORDER BY m.created_at, m.id`},
	{"engagement_events", `SELECT to_jsonb(e) FROM engagement_events e
		WHERE e.workspace_id = $1 AND e.lead_id = ANY($2) ORDER BY e.occurred_at, e.id`},
	{"registrations", `SELECT to_jsonb(g) FROM event_registrations g
		WHERE g.workspace_id = $1 AND g.lead_id = ANY($2) ORDER BY g.created_at, g.id`},
	{"enrollments", `SELECT to_jsonb(e) FROM enrollments e
		WHERE e.workspace_id = $1 AND e.lead_id = ANY($2) ORDER BY e.created_at, e.id`},
	{"audit", `SELECT to_jsonb(a) FROM lead_audit a
		WHERE a.workspace_id = $1 AND a.lead_id = ANY($2) ORDER BY a.at, a.id`},
	{"status_history", `SELECT to_jsonb(h) FROM lead_status_history h
		WHERE h.workspace_id = $1 AND h.lead_id = ANY($2) ORDER BY h.at, h.id`},
	{"score_history", `SELECT to_jsonb(h) FROM lead_score_history h
		WHERE h.workspace_id = $1 AND h.lead_id = ANY($2) ORDER BY h.at, h.id`},
	{"qualification_decisions", `SELECT to_jsonb(d) FROM qualification_decisions d
		WHERE d.workspace_id = $1 AND d.lead_id = ANY($2) ORDER BY d.created_at, d.id`},
	{"handoffs", `SELECT to_jsonb(h) FROM handoffs h
		WHERE h.workspace_id = $1 AND h.lead_id = ANY($2) ORDER BY h.created_at, h.id`},
	{"contact", `SELECT to_jsonb(c) - 'fuzzy_key' - 'name_key' - 'company_key' FROM contacts c
		WHERE c.workspace_id = $1 AND c.id IN (SELECT contact_id FROM leads WHERE workspace_id = $1 AND id = ANY($2))
		ORDER BY c.id`},
	{"account", `SELECT to_jsonb(a) FROM accounts a
		WHERE a.workspace_id = $1 AND a.id IN (SELECT account_id FROM contacts WHERE workspace_id = $1 AND id IN (
			SELECT contact_id FROM leads WHERE workspace_id = $1 AND id = ANY($2)))
		ORDER BY a.id`},
	{"opportunities", `SELECT to_jsonb(o) FROM opportunities o
		WHERE o.workspace_id = $1 AND o.lead_id = ANY($2) ORDER BY o.created_at, o.id`},
	{"suppressions", `SELECT to_jsonb(s) FROM suppressions s
		WHERE s.workspace_id = $1 AND s.email_canonical IN (
			SELECT email_canonical FROM lead_identities WHERE workspace_id = $1 AND lead_id = ANY($2))
		ORDER BY s.created_at`},
	{"bounces", `SELECT to_jsonb(b) FROM bounces b
		WHERE b.workspace_id = $1 AND b.email_canonical IN (
			SELECT email_canonical FROM lead_identities WHERE workspace_id = $1 AND lead_id = ANY($2))
		ORDER BY b.created_at, b.id`},
}

// ExportPerson reads everything held about the person of a lead of the
// workspace, each section at most ExportSectionLimit rows, from one
// snapshot; ErrNotFound when there is no such lead.
func (s *Store) ExportPerson(ctx context.Context, workspaceID, leadID uuid.UUID) (PersonExport, error) {
	var out PersonExport
	err := pgx.BeginTxFunc(ctx, s.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		q := &Queries{db: tx}
		ids, err := q.personLeads(ctx, workspaceID, leadID)
		if err != nil {
			return err
		}
		out.LeadIDs = ids
		for _, sec := range exportSections {
			rows, _ := tx.Query(ctx, `SELECT j FROM (`+sec.sql+`) s(j) LIMIT $3`, workspaceID, ids, ExportSectionLimit+1)
			got, err := pgx.CollectRows(rows, pgx.RowTo[json.RawMessage])
			if err != nil {
				return interpret(err, fmt.Sprintf("export %s", sec.name))
			}
			es := ExportSection{Name: sec.name, Rows: got}
			if len(got) > ExportSectionLimit {
				es.Rows, es.Truncated = got[:ExportSectionLimit], true
			}
			out.Sections = append(out.Sections, es)
		}
		return nil
	})
	return out, err
}
