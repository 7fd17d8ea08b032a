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

// TryLockIdentity takes the identity lock of LockIdentities on one key only
// if no one holds it, without waiting, and reports whether it did: for a
// lock wanted after the others, out of their sorted order, which waiting
// for could deadlock.
func (q *Queries) TryLockIdentity(ctx context.Context, workspaceID uuid.UUID, key string) (bool, error) {
	var ok bool
	err := q.db.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))`,
		"identity:"+workspaceID.String()+":"+key).Scan(&ok)
	if err != nil {
		return false, interpret(err, "try lock identity")
	}
	return ok, nil
}

// MatchLeadByEmail locks the live lead of the workspace that answers to this
// canonical email: the lead with it as its email, else the lead holding it
// as one of its identities (an address it used before, or one of a lead
// merged into it), else the lead that a lead with this email was merged into
// (following merges of merges), since a merge does not change who the
// address belongs to.
func (q *Queries) MatchLeadByEmail(ctx context.Context, workspaceID uuid.UUID, emailCanonical string) (Lead, error) {
	// The parts of start match the two partial indexes (live leads, merged
	// leads) and the identities' key, so each is an index lookup.
	rows, _ := q.db.Query(ctx, `
		WITH RECURSIVE start AS (
			SELECT id, merged_into, 0 AS rank FROM leads
			WHERE workspace_id = $1 AND email_canonical = $2 AND email_canonical <> '' AND merged_into IS NULL
			UNION ALL
			SELECT l.id, l.merged_into, 1 FROM lead_identities i JOIN leads l ON l.id = i.lead_id
			WHERE i.workspace_id = $1 AND i.email_canonical = $2
			UNION ALL
			SELECT id, merged_into, 2 FROM leads
			WHERE workspace_id = $1 AND email_canonical = $2 AND email_canonical <> '' AND merged_into IS NOT NULL
		), chain (id, merged_into, rank, depth) AS (
			SELECT id, merged_into, rank, 0 FROM start
			UNION ALL
			SELECT l.id, l.merged_into, c.rank, c.depth + 1 FROM chain c JOIN leads l ON l.id = c.merged_into
			WHERE c.depth < 32
		)
		SELECT `+leadColumns+` FROM leads
		WHERE workspace_id = $1 AND merged_into IS NULL
		  AND id = (SELECT id FROM chain WHERE merged_into IS NULL ORDER BY rank, depth, id LIMIT 1)
		FOR UPDATE`, workspaceID, emailCanonical)
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
	return l, interpret(err, "match lead by email")
}

// phoneMatchLimit bounds the leads or contacts one phone can name: a shared
// office number names a handful, and past that none is chosen by phone.
const phoneMatchLimit = 20

// MatchLeadsByPhone locks the live leads of the workspace with this phone
// number (E.164), whatever their extension, oldest first. A shared office
// number may name several people; the caller tells them apart.
func (q *Queries) MatchLeadsByPhone(ctx context.Context, workspaceID uuid.UUID, phone string) ([]Lead, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+leadColumns+` FROM leads
		WHERE workspace_id = $1 AND split_part(phone, ';', 1) = split_part($2, ';', 1)
		  AND phone <> '' AND merged_into IS NULL
		ORDER BY created_at, id LIMIT $3 FOR UPDATE`, workspaceID, phone, phoneMatchLimit)
	ls, err := pgx.CollectRows(rows, pgx.RowToStructByName[Lead])
	return ls, interpret(err, "match leads by phone")
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

// MatchContactsByPhone finds the contacts of the workspace with this phone
// number, whatever their extension, oldest first.
func (q *Queries) MatchContactsByPhone(ctx context.Context, workspaceID uuid.UUID, phone string) ([]Contact, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+contactColumns+` FROM contacts
		WHERE workspace_id = $1 AND split_part(phone, ';', 1) = split_part($2, ';', 1) AND phone <> ''
		ORDER BY created_at, id LIMIT $3`, workspaceID, phone, phoneMatchLimit)
	cs, err := pgx.CollectRows(rows, pgx.RowToStructByName[Contact])
	return cs, interpret(err, "match contacts by phone")
}

// Why a possible duplicate was flagged.
const (
	// DuplicateSimilarName: names (and companies) alike.
	DuplicateSimilarName = "similar_name"
	// DuplicateSharedPhone: one phone number, told apart by their emails.
	DuplicateSharedPhone = "shared_phone"
	// DuplicateSharedIdentity: a submission named both (one's email, the
	// other's phone) but they could not safely be joined.
	DuplicateSharedIdentity = "shared_identity"
)

// FuzzyMatch is a lead or a contact that looks like a lead.
type FuzzyMatch struct {
	MatchLeadID    *uuid.UUID `db:"match_lead_id"`
	MatchContactID *uuid.UUID `db:"match_contact_id"`
	Similarity     float32    `db:"similarity"`
	Reason         string     `db:"reason"`
}

// FuzzyCandidate is a lead or a contact whose name looks like a lead's,
// with what capture needs to weigh the likeness.
type FuzzyCandidate struct {
	MatchLeadID    *uuid.UUID `db:"match_lead_id"`
	MatchContactID *uuid.UUID `db:"match_contact_id"`
	FirstName      string     `db:"first_name"`
	LastName       string     `db:"last_name"`
	EmailCanonical string     `db:"email_canonical"`
	Company        string     `db:"company"`
	// NameSimilarity is the trigram similarity of the folded names;
	// CompanySimilarity that of the companies without their legal form,
	// nil when either company is unknown.
	NameSimilarity    float32  `db:"name_similarity"`
	CompanySimilarity *float32 `db:"company_similarity"`
}

// FuzzyCandidates finds the other live leads and the contacts of the
// workspace whose name (accents and case folded) is trigram-similar to the
// lead's at or above floor, most similar first. Run it in a transaction: the
// threshold is set for the transaction so the trigram indexes do the
// filtering.
func (q *Queries) FuzzyCandidates(ctx context.Context, workspaceID, leadID uuid.UUID, floor float64, limit int) ([]FuzzyCandidate, error) {
	if _, err := q.db.Exec(ctx, `SELECT set_config('pg_trgm.similarity_threshold', $1, true)`,
		strconv.FormatFloat(floor, 'f', -1, 64)); err != nil {
		return nil, interpret(err, "set similarity threshold")
	}
	rows, _ := q.db.Query(ctx, `
		WITH me AS (SELECT name_key, company_key FROM leads WHERE workspace_id = $1 AND id = $2),
		candidates AS (
			SELECT l.id AS match_lead_id, NULL::uuid AS match_contact_id, l.first_name, l.last_name,
				l.email_canonical, l.company, l.name_key, l.company_key
			FROM leads l, me
			WHERE l.workspace_id = $1 AND l.id <> $2 AND l.merged_into IS NULL
			  AND l.name_key <> '' AND l.name_key % me.name_key
			UNION ALL
			SELECT NULL::uuid, c.id, c.first_name, c.last_name, c.email_canonical, c.company, c.name_key, c.company_key
			FROM contacts c, me
			WHERE c.workspace_id = $1 AND c.name_key <> '' AND c.name_key % me.name_key
		)
		SELECT match_lead_id, match_contact_id, first_name, last_name, email_canonical, company,
			similarity(c.name_key, me.name_key) AS name_similarity,
			CASE WHEN c.company_key <> '' AND me.company_key <> ''
				THEN similarity(c.company_key, me.company_key) END AS company_similarity
		FROM candidates c, me
		ORDER BY name_similarity DESC, match_lead_id, match_contact_id
		LIMIT $3`,
		workspaceID, leadID, max(limit, 1))
	cs, err := pgx.CollectRows(rows, pgx.RowToStructByName[FuzzyCandidate])
	return cs, interpret(err, "fuzzy candidates")
}

// CompanySimilarity is the trigram similarity of two companies without
// their legal form; nil when either is blank.
func (q *Queries) CompanySimilarity(ctx context.Context, a, b string) (*float32, error) {
	var s *float32
	err := q.db.QueryRow(ctx, `
		SELECT CASE WHEN leadflow_company_key($1) <> '' AND leadflow_company_key($2) <> ''
			THEN similarity(leadflow_company_key($1), leadflow_company_key($2)) END`, a, b).Scan(&s)
	return s, interpret(err, "company similarity")
}

// InsertPossibleDuplicate flags a lead as looking like another lead or a
// contact; a pair already flagged (either way round) is left as it is. It
// reports whether a row was added.
func (q *Queries) InsertPossibleDuplicate(ctx context.Context, workspaceID, leadID uuid.UUID, m FuzzyMatch) (bool, error) {
	reason := m.Reason
	if reason == "" {
		reason = DuplicateSimilarName
	}
	tag, err := q.db.Exec(ctx, `
		INSERT INTO possible_duplicates (id, workspace_id, lead_id, match_lead_id, match_contact_id, similarity, reason)
		SELECT $1, $2, $3, $4, $5, $6, $7
		WHERE NOT EXISTS (SELECT 1 FROM possible_duplicates
			WHERE workspace_id = $2 AND lead_id = $4 AND match_lead_id = $3)
		ON CONFLICT DO NOTHING`,
		NewID(), workspaceID, leadID, m.MatchLeadID, m.MatchContactID, m.Similarity, reason)
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
