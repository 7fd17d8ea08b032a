package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

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

// AuditErased: the person's personal data was erased; the entry names who
// did it and how much, never a value.
const AuditErased = "erased"

// SuppressErased is the suppression reason of an address whose person was
// erased: nothing is sent to it again, transactional email included.
const SuppressErased = "erased"

// ExitErased is the exit reason of an enrollment whose lead was erased.
const ExitErased = "erased"

// ErasedEmail is the address an erased lead is left with: unique per lead,
// never deliverable (.invalid is reserved), and matching no one.
func ErasedEmail(leadID uuid.UUID) string { return "erased-" + leadID.String() + "@invalid" }

// Erasure is what erasing a person did.
type Erasure struct {
	LeadIDs []uuid.UUID
	// Addresses is how many canonical addresses are now kept only as hashes.
	Addresses int
	ErasedAt  time.Time
	// Already: the person had been erased before and nothing was done.
	Already bool
}

// personAddressesSQL lists every canonical address held for the leads
// ($1 workspace, $2 lead ids), from their identities, their own fields,
// their responses and their contacts.
const personAddressesSQL = `
	SELECT DISTINCT a FROM (
		SELECT email_canonical FROM lead_identities WHERE workspace_id = $1 AND lead_id = ANY($2)
		UNION ALL
		SELECT email_canonical FROM leads WHERE workspace_id = $1 AND id = ANY($2) AND erased_at IS NULL
		UNION ALL
		SELECT fields->>'email_canonical' FROM responses WHERE workspace_id = $1 AND lead_id = ANY($2)
	) s(a) WHERE a <> '' ORDER BY a`

// ErasePerson removes the personal data of a lead's person (the lead and the
// leads merged into it) everywhere it is held, in one transaction under the
// identity locks of the person's addresses: names, addresses, phone and free
// text are blanked, identities, uploaded files and plain suppressions
// deleted, while ids, statuses, scores and times stay so counts and the
// funnel do not move. Each address is kept as a SHA-256 in erased_addresses
// so it is never mailed again. A contact is blanked too when no one else's
// lead is linked to it. Erasing an erased person does nothing (Already).
func (s *Store) ErasePerson(ctx context.Context, workspaceID, leadID uuid.UUID, actor string, at time.Time) (Erasure, error) {
	at = timeOrNow(at)
	var out Erasure
	err := s.InTx(ctx, func(q *Queries) error {
		ids, err := q.personLeads(ctx, workspaceID, leadID)
		if err != nil {
			return err
		}
		rows, _ := q.db.Query(ctx, personAddressesSQL, workspaceID, ids)
		addresses, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return interpret(err, "person's addresses")
		}
		if err := q.LockIdentities(ctx, workspaceID, addresses...); err != nil {
			return err
		}
		// Read again under the locks: a merge that held them may have added
		// a lead or an address.
		if ids, err = q.personLeads(ctx, workspaceID, leadID); err != nil {
			return err
		}
		var live int
		if err := q.db.QueryRow(ctx, `
			SELECT count(*) FILTER (WHERE erased_at IS NULL) FROM (
				SELECT erased_at FROM leads WHERE workspace_id = $1 AND id = ANY($2) FOR UPDATE
			) l`, workspaceID, ids).Scan(&live); err != nil {
			return interpret(err, "lock person's leads")
		}
		rows, _ = q.db.Query(ctx, personAddressesSQL, workspaceID, ids)
		locked := addresses
		if addresses, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return interpret(err, "person's addresses")
		}
		// An address the merge brought is locked too, after the others: a
		// wait in a cycle is ended by Postgres and the erasure can be asked
		// again.
		added := slices.DeleteFunc(slices.Clone(addresses), func(a string) bool { return slices.Contains(locked, a) })
		if err := q.LockIdentities(ctx, workspaceID, added...); err != nil {
			return err
		}
		out.LeadIDs = ids
		if live == 0 && len(addresses) == 0 {
			out.Already = true
			return q.db.QueryRow(ctx, `SELECT max(erased_at) FROM leads WHERE workspace_id = $1 AND id = ANY($2)`,
				workspaceID, ids).Scan(&out.ErasedAt)
		}
		out.Addresses, out.ErasedAt = len(addresses), at
		return q.erase(ctx, workspaceID, ids, addresses, actor, at)
	})
	return out, err
}

// erase blanks the personal data of the leads ids, whose canonical addresses
// are addresses, statement by statement in table families.
func (q *Queries) erase(ctx context.Context, workspaceID uuid.UUID, ids []uuid.UUID, addresses []string, actor string, at time.Time) error {
	b := &pgx.Batch{}
	// Remember the addresses, hashed only.
	b.Queue(`
		INSERT INTO erased_addresses (workspace_id, email_hash, erased_at)
		SELECT $1, sha256(convert_to(a, 'UTF8')), $3 FROM unnest($2::text[]) a
		ON CONFLICT DO NOTHING`, workspaceID, addresses, at)
	// The contact the person became, unless another person's lead is
	// linked to it; and any contact holding one of the addresses on its own.
	b.Queue(`
		UPDATE contacts c SET first_name = '', last_name = '', email = '', email_canonical = '', phone = '',
			title = '', updated_at = $4
		WHERE c.workspace_id = $1
		  AND (c.id IN (SELECT contact_id FROM leads WHERE workspace_id = $1 AND id = ANY($2))
		       OR (c.email_canonical <> '' AND c.email_canonical = ANY($3)))
		  AND NOT EXISTS (SELECT 1 FROM leads o WHERE o.workspace_id = $1 AND o.contact_id = c.id
		                  AND NOT (o.id = ANY($2)) AND o.erased_at IS NULL)`,
		workspaceID, ids, addresses, at)
	// The leads: ids, status, score, source and times stay for the funnel.
	b.Queue(`
		UPDATE leads SET first_name = '', last_name = '', email = 'erased-' || id || '@invalid',
			email_canonical = 'erased-' || id || '@invalid', phone = '', phone_unverified = '', company = '',
			title = '', city = '', state = '', description = '', custom = '{}', consent_text = '',
			budget = '', authority = '', need = '', timeline = '', status_reason = '',
			erased_at = coalesce(erased_at, $3), updated_at = $3
		WHERE workspace_id = $1 AND id = ANY($2)`, workspaceID, ids, at)
	b.Queue(`DELETE FROM lead_identities WHERE workspace_id = $1 AND lead_id = ANY($2)`, workspaceID, ids)
	// Responses keep their form, times, source and outcome.
	b.Queue(`
		DELETE FROM response_files WHERE workspace_id = $1
		AND response_id IN (SELECT id FROM responses WHERE workspace_id = $1 AND lead_id = ANY($2))`, workspaceID, ids)
	b.Queue(`
		UPDATE responses SET raw = '{}', fields = '{}', custom = '{}', ip = NULL, user_agent = '', referrer = '',
			verdict_reason = ''
		WHERE workspace_id = $1 AND lead_id = ANY($2)`, workspaceID, ids)
	// Messages keep their status and sent, opened and clicked times; one
	// still queued is never sent.
	b.Queue(`
		UPDATE messages SET to_email = 'erased@invalid', subject = '', html_body = '', text_body = '',
			links = '{}', last_error = '',
			status = CASE WHEN status = 'queued' THEN 'suppressed' ELSE status END
		WHERE workspace_id = $1 AND (lead_id = ANY($2)
			OR response_id IN (SELECT id FROM responses WHERE workspace_id = $1 AND lead_id = ANY($2)))`,
		workspaceID, ids)
	b.Queue(`
		UPDATE enrollments SET state = 'exited', exit_reason = $3, next_run_at = NULL, updated_at = $4
		WHERE workspace_id = $1 AND lead_id = ANY($2) AND state = 'active'`, workspaceID, ids, ExitErased, at)
	b.Queue(`
		UPDATE enrollment_steps SET detail = '{}'
		WHERE enrollment_id IN (SELECT id FROM enrollments WHERE workspace_id = $1 AND lead_id = ANY($2))`,
		workspaceID, ids)
	// Trails keep what happened and when, not the values.
	b.Queue(`UPDATE lead_audit SET old_value = '', new_value = '', detail = '{}' WHERE workspace_id = $1 AND lead_id = ANY($2)`,
		workspaceID, ids)
	b.Queue(`UPDATE engagement_events SET detail = '{}' WHERE workspace_id = $1 AND lead_id = ANY($2)`, workspaceID, ids)
	b.Queue(`UPDATE qualification_decisions SET vals = '{}', reason = '' WHERE workspace_id = $1 AND lead_id = ANY($2)`,
		workspaceID, ids)
	b.Queue(`UPDATE handoffs SET reason = '' WHERE workspace_id = $1 AND lead_id = ANY($2)`, workspaceID, ids)
	b.Queue(`
		UPDATE handoff_events SET detail = '{}'
		WHERE handoff_id IN (SELECT id FROM handoffs WHERE workspace_id = $1 AND lead_id = ANY($2))`, workspaceID, ids)
	// Webhook payloads carry the lead as it was sent.
	b.Queue(`
		UPDATE webhook_deliveries SET payload = jsonb_build_object('event', payload->'event', 'erased', true)
		WHERE workspace_id = $1 AND payload->'lead'->>'id' = ANY($2::uuid[]::text[])`, workspaceID, ids)
	// Addresses kept elsewhere become their hash.
	b.Queue(`DELETE FROM suppressions WHERE workspace_id = $1 AND email_canonical = ANY($2)`, workspaceID, addresses)
	b.Queue(`
		UPDATE suppression_removals SET email_canonical = encode(sha256(convert_to(email_canonical, 'UTF8')), 'hex'), why = ''
		WHERE workspace_id = $1 AND email_canonical = ANY($2)`, workspaceID, addresses)
	b.Queue(`
		UPDATE bounces SET email_canonical = encode(sha256(convert_to(email_canonical, 'UTF8')), 'hex'), detail = ''
		WHERE workspace_id = $1 AND email_canonical = ANY($2)`, workspaceID, addresses)
	b.Queue(`
		INSERT INTO lead_audit (workspace_id, lead_id, at, actor, action, detail)
		SELECT $1, id, $3, $4, $5, jsonb_build_object('leads', cardinality($2::uuid[]), 'addresses', $6::int)
		FROM unnest($2::uuid[]) id`, workspaceID, ids, at, actor, AuditErased, len(addresses))
	return interpret(q.db.SendBatch(ctx, b).Close(), "erase person")
}

// erasedLeadSQL holds for a lead l that was erased, or whose address is an
// erased person's: a person who comes back is a new lead, counted and
// worked, but never mailed.
const erasedLeadSQL = `(l.erased_at IS NOT NULL OR EXISTS (SELECT 1 FROM erased_addresses x
	WHERE x.workspace_id = l.workspace_id AND x.email_hash = sha256(convert_to(l.email_canonical, 'UTF8'))))`
