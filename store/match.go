package store

import (
	"context"
	"slices"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// LockIdentities takes a transaction-scoped advisory lock per identity key
// (a canonical email, a phone...) of the workspace, so that everything
// resolving the same person runs one at a time. Keys are locked in sorted
// order, so two transactions sharing keys can never wait on each other in a
// cycle. Blank keys are ignored.
func (q *Queries) LockIdentities(ctx context.Context, workspaceID uuid.UUID, keys ...string) error {
	keys = slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == "" })
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if _, err := q.db.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
			"identity:"+workspaceID.String()+":"+k); err != nil {
			return interpret(err, "lock identity")
		}
	}
	return nil
}

// MatchLeadByEmail locks the live lead of the workspace with this canonical
// email; failing that, the lead that a lead with this email was merged into
// (following merges of merges), since a merge does not change who the
// address belongs to.
func (q *Queries) MatchLeadByEmail(ctx context.Context, workspaceID uuid.UUID, emailCanonical string) (Lead, error) {
	// The two halves of start match the two partial indexes (live leads,
	// merged leads) so each is an index lookup.
	rows, _ := q.db.Query(ctx, `
		WITH RECURSIVE start AS (
			SELECT id, merged_into FROM leads
			WHERE workspace_id = $1 AND email_canonical = $2 AND email_canonical <> '' AND merged_into IS NULL
			UNION ALL
			SELECT id, merged_into FROM leads
			WHERE workspace_id = $1 AND email_canonical = $2 AND email_canonical <> '' AND merged_into IS NOT NULL
		), chain (id, merged_into, depth) AS (
			SELECT id, merged_into, 0 FROM start
			UNION ALL
			SELECT l.id, l.merged_into, c.depth + 1 FROM chain c JOIN leads l ON l.id = c.merged_into
			WHERE c.depth < 32
		)
		SELECT `+leadColumns+` FROM leads
		WHERE workspace_id = $1 AND merged_into IS NULL
		  AND id = (SELECT id FROM chain WHERE merged_into IS NULL ORDER BY depth, id LIMIT 1)
		FOR UPDATE`, workspaceID, emailCanonical)
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
	return l, interpret(err, "match lead by email")
}

// MatchLeadByPhone locks the oldest live lead of the workspace with this
// E.164 phone.
func (q *Queries) MatchLeadByPhone(ctx context.Context, workspaceID uuid.UUID, phone string) (Lead, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+leadColumns+` FROM leads
		WHERE workspace_id = $1 AND phone = $2 AND phone <> '' AND merged_into IS NULL
		ORDER BY id LIMIT 1 FOR UPDATE`, workspaceID, phone)
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
	return l, interpret(err, "match lead by phone")
}

// MatchLeadByContact locks the oldest live lead linked to a contact.
func (q *Queries) MatchLeadByContact(ctx context.Context, workspaceID, contactID uuid.UUID) (Lead, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+leadColumns+` FROM leads
		WHERE workspace_id = $1 AND contact_id = $2 AND merged_into IS NULL
		ORDER BY id LIMIT 1 FOR UPDATE`, workspaceID, contactID)
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
	return l, interpret(err, "match lead by contact")
}

// MatchContactByEmail finds the contact of the workspace with this canonical
// email.
func (q *Queries) MatchContactByEmail(ctx context.Context, workspaceID uuid.UUID, emailCanonical string) (Contact, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+contactColumns+` FROM contacts
		WHERE workspace_id = $1 AND email_canonical = $2 AND email_canonical <> ''`,
		workspaceID, emailCanonical)
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Contact])
	return c, interpret(err, "match contact by email")
}

// MatchContactByPhone finds the oldest contact of the workspace with this
// E.164 phone.
func (q *Queries) MatchContactByPhone(ctx context.Context, workspaceID uuid.UUID, phone string) (Contact, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+contactColumns+` FROM contacts
		WHERE workspace_id = $1 AND phone = $2 AND phone <> ''
		ORDER BY id LIMIT 1`, workspaceID, phone)
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Contact])
	return c, interpret(err, "match contact by phone")
}

// FuzzyMatch is a lead or a contact whose name and company look like a
// lead's.
type FuzzyMatch struct {
	MatchLeadID    *uuid.UUID `db:"match_lead_id"`
	MatchContactID *uuid.UUID `db:"match_contact_id"`
	Similarity     float32    `db:"similarity"`
}

// FuzzyMatches finds the other live leads and the contacts of the workspace
// whose name + company (fuzzy_key) is trigram-similar to the lead's, at or
// above threshold, most similar first. Run it in a transaction: the threshold
// is set for the transaction so the trigram indexes do the filtering.
func (q *Queries) FuzzyMatches(ctx context.Context, workspaceID, leadID uuid.UUID, threshold float64, limit int) ([]FuzzyMatch, error) {
	if _, err := q.db.Exec(ctx, `SELECT set_config('pg_trgm.similarity_threshold', $1, true)`,
		strconv.FormatFloat(threshold, 'f', -1, 64)); err != nil {
		return nil, interpret(err, "set similarity threshold")
	}
	rows, _ := q.db.Query(ctx, `
		WITH me AS (SELECT fuzzy_key FROM leads WHERE workspace_id = $1 AND id = $2)
		SELECT * FROM (
			SELECT l.id AS match_lead_id, NULL::uuid AS match_contact_id,
				similarity(l.fuzzy_key, me.fuzzy_key) AS similarity
			FROM leads l, me
			WHERE l.workspace_id = $1 AND l.id <> $2 AND l.merged_into IS NULL
			  AND l.fuzzy_key % me.fuzzy_key
			UNION ALL
			SELECT NULL::uuid, c.id, similarity(c.fuzzy_key, me.fuzzy_key)
			FROM contacts c, me
			WHERE c.workspace_id = $1 AND c.fuzzy_key % me.fuzzy_key
		) m
		ORDER BY similarity DESC, match_lead_id, match_contact_id
		LIMIT $3`,
		workspaceID, leadID, max(limit, 1))
	ms, err := pgx.CollectRows(rows, pgx.RowToStructByName[FuzzyMatch])
	return ms, interpret(err, "fuzzy matches")
}

// InsertPossibleDuplicate flags a lead as looking like another lead or a
// contact; a pair already flagged is left as it is. It reports whether a row
// was added.
func (q *Queries) InsertPossibleDuplicate(ctx context.Context, workspaceID, leadID uuid.UUID, m FuzzyMatch) (bool, error) {
	tag, err := q.db.Exec(ctx, `
		INSERT INTO possible_duplicates (id, workspace_id, lead_id, match_lead_id, match_contact_id, similarity)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT DO NOTHING`,
		NewID(), workspaceID, leadID, m.MatchLeadID, m.MatchContactID, m.Similarity)
	return tag.RowsAffected() == 1, interpret(err, "insert possible duplicate")
}

// MovePossibleDuplicates carries one lead's possible duplicates over to
// another in a merge: the pair being merged is marked merged and kept as
// history, flags the survivor already has are dropped, the rest now name the
// survivor.
func (q *Queries) MovePossibleDuplicates(ctx context.Context, workspaceID, fromLeadID, toLeadID uuid.UUID) error {
	b := &pgx.Batch{}
	b.Queue(`
		UPDATE possible_duplicates SET status = 'merged'
		WHERE workspace_id = $1
		  AND ((lead_id = $2 AND match_lead_id = $3) OR (lead_id = $3 AND match_lead_id = $2))`,
		workspaceID, fromLeadID, toLeadID)
	b.Queue(`
		DELETE FROM possible_duplicates d
		WHERE d.workspace_id = $1 AND d.lead_id = $2 AND d.match_lead_id IS DISTINCT FROM $3
		  AND EXISTS (SELECT 1 FROM possible_duplicates k WHERE k.lead_id = $3
		      AND (k.match_lead_id = d.match_lead_id OR k.match_contact_id = d.match_contact_id))`,
		workspaceID, fromLeadID, toLeadID)
	b.Queue(`
		UPDATE possible_duplicates SET lead_id = $3
		WHERE workspace_id = $1 AND lead_id = $2 AND match_lead_id IS DISTINCT FROM $3`,
		workspaceID, fromLeadID, toLeadID)
	b.Queue(`
		DELETE FROM possible_duplicates d
		WHERE d.workspace_id = $1 AND d.match_lead_id = $2 AND d.lead_id <> $3
		  AND EXISTS (SELECT 1 FROM possible_duplicates k
		      WHERE k.lead_id = d.lead_id AND k.match_lead_id = $3)`,
		workspaceID, fromLeadID, toLeadID)
	b.Queue(`
		UPDATE possible_duplicates SET match_lead_id = $3
		WHERE workspace_id = $1 AND match_lead_id = $2 AND lead_id <> $3`,
		workspaceID, fromLeadID, toLeadID)
	return interpret(q.db.SendBatch(ctx, b).Close(), "move possible duplicates")
}
