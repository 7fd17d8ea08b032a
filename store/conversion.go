package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Audit actions of a handoff's decision.
const (
	// AuditStatusChanged: the lead's status moved (old and new kept; the
	// reason, when there is one, in the detail).
	AuditStatusChanged = "status_changed"
	// AuditConverted: the lead became an account, a contact and perhaps an
	// opportunity.
	AuditConverted = "converted"
)

// Handoff event actions of a decision.
const (
	HandoffEventAccepted = "accepted"
	HandoffEventRejected = "rejected"
)

// Enrollment exit reasons and step outcomes written by conversion.
const (
	ExitConverted     = "converted"
	StepOutcomeExited = "exited"
	// ExitDisqualified: a person disqualified the lead by hand.
	ExitDisqualified = "disqualified"
)

// LockHandoffToDecide locks a handoff of the workspace for its accept or
// reject, so that concurrent decisions are made one after the other.
func (q *Queries) LockHandoffToDecide(ctx context.Context, workspaceID, id uuid.UUID) (Handoff, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+handoffColumns+` FROM handoffs
		WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, workspaceID, id)
	h, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Handoff])
	return h, interpret(err, "lock handoff")
}

// DecideHandoff closes an open handoff as accepted or rejected; a handoff no
// longer open is ErrNotFound, so a decision is made once.
func (q *Queries) DecideHandoff(ctx context.Context, workspaceID, id uuid.UUID, status, reason, decidedBy string, at time.Time) (Handoff, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE handoffs SET status = $3, reason = $4, decided_by = $5, decided_at = $6
		WHERE workspace_id = $1 AND id = $2 AND status = 'open'
		RETURNING `+handoffColumns,
		workspaceID, id, status, reason, decidedBy, timeOrNow(at))
	h, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Handoff])
	return h, interpret(err, "decide handoff")
}

// RecordHandoffDecisionEvent appends a decision to a handoff's history.
func (q *Queries) RecordHandoffDecisionEvent(ctx context.Context, handoffID uuid.UUID, action string, ownerID *uuid.UUID, actor string, detail map[string]any, at time.Time) error {
	if detail == nil {
		detail = map[string]any{}
	}
	_, err := q.db.Exec(ctx, `
		INSERT INTO handoff_events (handoff_id, action, owner_id, actor, detail, at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		handoffID, action, ownerID, actor, detail, timeOrNow(at))
	return interpret(err, "insert handoff event")
}

// HandoffDecisionEvent is one line of a handoff's history.
type HandoffDecisionEvent struct {
	ID        int64          `db:"id"`
	HandoffID uuid.UUID      `db:"handoff_id"`
	Action    string         `db:"action"`
	OwnerID   *uuid.UUID     `db:"owner_id"`
	Actor     string         `db:"actor"`
	Detail    map[string]any `db:"detail"`
	At        time.Time      `db:"at"`
}

// HandoffDecisionEvents returns a handoff's history, oldest first.
func (q *Queries) HandoffDecisionEvents(ctx context.Context, workspaceID, handoffID uuid.UUID) ([]HandoffDecisionEvent, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT e.id, e.handoff_id, e.action, e.owner_id, e.actor, e.detail, e.at
		FROM handoff_events e JOIN handoffs h ON h.id = e.handoff_id
		WHERE h.workspace_id = $1 AND e.handoff_id = $2 ORDER BY e.id`, workspaceID, handoffID)
	es, err := pgx.CollectRows(rows, pgx.RowToStructByName[HandoffDecisionEvent])
	return es, interpret(err, "handoff events")
}

// accountColumns lists Account's columns in struct order.
const accountColumns = `id, workspace_id, name, domain, created_at`

// LockAccountKey serialises the find-or-create of one account (by domain or
// by name) until the transaction ends, so two conversions from one company
// make one account.
func (q *Queries) LockAccountKey(ctx context.Context, workspaceID uuid.UUID, key string) error {
	_, err := q.db.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
		"account:"+workspaceID.String()+":"+key)
	return interpret(err, "lock account key")
}

// GetAccount returns an account of the workspace.
func (q *Queries) GetAccount(ctx context.Context, workspaceID, id uuid.UUID) (Account, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+accountColumns+` FROM accounts WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id)
	a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Account])
	return a, interpret(err, "get account")
}

// AccountByDomain finds the workspace's account of an email domain.
func (q *Queries) AccountByDomain(ctx context.Context, workspaceID uuid.UUID, domain string) (Account, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE workspace_id = $1 AND domain <> '' AND lower(domain) = lower($2)`, workspaceID, domain)
	a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Account])
	return a, interpret(err, "account by domain")
}

// AccountByName finds the workspace's oldest account of a company name,
// ignoring case.
func (q *Queries) AccountByName(ctx context.Context, workspaceID uuid.UUID, name string) (Account, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE workspace_id = $1 AND lower(name) = lower($2) ORDER BY id LIMIT 1`, workspaceID, name)
	a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Account])
	return a, interpret(err, "account by name")
}

// InsertAccount stores a new account; a zero ID is filled in. A domain the
// workspace already has is ErrConflict.
func (q *Queries) InsertAccount(ctx context.Context, a Account) (Account, error) {
	if a.ID == uuid.Nil {
		a.ID = NewID()
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO accounts (id, workspace_id, name, domain, created_at)
		VALUES ($1, $2, $3, $4, $5)
		RETURNING `+accountColumns,
		a.ID, a.WorkspaceID, a.Name, a.Domain, timeOrNow(a.CreatedAt))
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Account])
	return out, interpret(err, "insert account")
}

// SetAccountDomain gives a domain to an account that had none (one matched
// by name), so the company's next conversions match it by domain.
func (q *Queries) SetAccountDomain(ctx context.Context, workspaceID, id uuid.UUID, domain string) (Account, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE accounts SET domain = $3 WHERE workspace_id = $1 AND id = $2 AND domain = ''
		RETURNING `+accountColumns, workspaceID, id, domain)
	a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Account])
	return a, interpret(err, "set account domain")
}

// LockContact locks a contact of the workspace for a conversion.
func (q *Queries) LockContact(ctx context.Context, workspaceID, id uuid.UUID) (Contact, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+contactColumns+` FROM contacts
		WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, workspaceID, id)
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Contact])
	return c, interpret(err, "lock contact")
}

// EnsureContact returns the workspace's contact with c's canonical email,
// locked, or stores c as a new one (with its account) when there is none:
// whoever else creates that person's contact at the same moment, there is
// one contact. created says which happened.
func (q *Queries) EnsureContact(ctx context.Context, c Contact) (out Contact, created bool, err error) {
	if c.ID == uuid.Nil {
		c.ID = NewID()
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO contacts (id, workspace_id, first_name, last_name, email, email_canonical, phone,
			company, title, country, account_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (workspace_id, email_canonical) WHERE email_canonical <> '' DO NOTHING
		RETURNING `+contactColumns,
		c.ID, c.WorkspaceID, c.FirstName, c.LastName, c.Email, c.EmailCanonical, c.Phone,
		c.Company, c.Title, c.Country, c.AccountID)
	out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Contact])
	if err == nil {
		return out, true, nil
	}
	if err != pgx.ErrNoRows {
		return Contact{}, false, interpret(err, "insert contact")
	}
	rows, _ = q.db.Query(ctx, `SELECT `+contactColumns+` FROM contacts
		WHERE workspace_id = $1 AND email_canonical = $2 FOR UPDATE`, c.WorkspaceID, c.EmailCanonical)
	out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Contact])
	return out, false, interpret(err, "lock contact by email")
}

// SetContactAccount puts a contact that had no account into one.
func (q *Queries) SetContactAccount(ctx context.Context, workspaceID, contactID, accountID uuid.UUID, at time.Time) (Contact, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE contacts SET account_id = $3, updated_at = $4
		WHERE workspace_id = $1 AND id = $2 AND account_id IS NULL
		RETURNING `+contactColumns, workspaceID, contactID, accountID, timeOrNow(at))
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Contact])
	return c, interpret(err, "set contact account")
}

// LinkLeadContact links a lead to the contact it is.
func (q *Queries) LinkLeadContact(ctx context.Context, workspaceID, leadID, contactID uuid.UUID, at time.Time) (Lead, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE leads SET contact_id = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2
		RETURNING `+leadColumns, workspaceID, leadID, contactID, timeOrNow(at))
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
	return l, interpret(err, "link lead contact")
}

// MoveLeadToStatus sets a lead's status and the reason for it; the
// lead_status_history trigger records the move for the funnel.
func (q *Queries) MoveLeadToStatus(ctx context.Context, workspaceID, leadID uuid.UUID, status, reason string, at time.Time) (Lead, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE leads SET status = $3, status_reason = $4, updated_at = $5
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+leadColumns, workspaceID, leadID, status, reason, timeOrNow(at))
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
	return l, interpret(err, "move lead status")
}

// ExitEnrollmentsForLead takes a lead out of every sequence it is active in,
// recording the exit as a step of each enrollment. It returns how many it
// ended.
func (q *Queries) ExitEnrollmentsForLead(ctx context.Context, workspaceID, leadID uuid.UUID, reason string, at time.Time) (int64, error) {
	tag, err := q.db.Exec(ctx, `
		WITH active AS (
			SELECT id, step_key FROM enrollments
			WHERE workspace_id = $1 AND lead_id = $2 AND state = 'active'
			FOR UPDATE
		), ended AS (
			UPDATE enrollments e
			SET state = 'exited', exit_reason = $3, step_key = '', next_run_at = NULL, updated_at = $4
			FROM active WHERE e.id = active.id
			RETURNING e.id
		)
		INSERT INTO enrollment_steps (enrollment_id, step_key, outcome, detail, at)
		SELECT active.id, active.step_key, 'exited', jsonb_build_object('reason', $3::text), $4
		FROM active JOIN ended ON ended.id = active.id`,
		workspaceID, leadID, reason, timeOrNow(at))
	return tag.RowsAffected(), interpret(err, "exit lead enrollments")
}

// RecycleSequence is the sequence a workspace recycles rejected leads into.
type RecycleSequence struct {
	ID     uuid.UUID       `db:"id"`
	Status string          `db:"status"`
	Steps  json.RawMessage `db:"steps"`
}

// RecycleSequenceOf returns the workspace's recycle sequence; ErrNotFound
// when none is configured.
func (q *Queries) RecycleSequenceOf(ctx context.Context, workspaceID uuid.UUID) (RecycleSequence, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT s.id, s.status, s.steps
		FROM assignment_settings a
		JOIN sequences s ON s.workspace_id = a.workspace_id AND s.id = a.recycle_sequence_id
		WHERE a.workspace_id = $1`, workspaceID)
	s, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[RecycleSequence])
	return s, interpret(err, "recycle sequence")
}

// EnrollRecycled puts a lead in a sequence at stepKey, due now, unless it
// is already active there. It reports whether an enrollment was made; the
// nurture scheduler runs it from there.
func (q *Queries) EnrollRecycled(ctx context.Context, workspaceID, sequenceID, leadID uuid.UUID, stepKey, enrolledBy string, at time.Time) (bool, error) {
	at = timeOrNow(at)
	tag, err := q.db.Exec(ctx, `
		INSERT INTO enrollments (id, workspace_id, sequence_id, lead_id, state, step_key, next_run_at,
			enrolled_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $6, $6)
		ON CONFLICT (sequence_id, lead_id) WHERE state = 'active' DO NOTHING`,
		NewID(), workspaceID, sequenceID, leadID, stepKey, at, enrolledBy)
	return tag.RowsAffected() == 1, interpret(err, "enroll recycled lead")
}

// QueueWebhookEvent makes one pending delivery of event for every active
// webhook of the workspace subscribed to it. The dedupe key makes it once
// per webhook and effect, whatever the retries. It returns how many were
// made.
func (q *Queries) QueueWebhookEvent(ctx context.Context, workspaceID uuid.UUID, event, dedupeKey string, payload any, at time.Time) (int64, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT id FROM webhooks WHERE workspace_id = $1 AND active AND $2 = ANY (events) ORDER BY id`,
		workspaceID, event)
	hooks, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil || len(hooks) == 0 {
		return 0, interpret(err, "list subscribed webhooks")
	}
	// IDs are made here: they are version 7, which the server cannot make.
	ids := make([]uuid.UUID, len(hooks))
	for i := range ids {
		ids[i] = NewID()
	}
	tag, err := q.db.Exec(ctx, `
		INSERT INTO webhook_deliveries (id, workspace_id, webhook_id, event, dedupe_key, payload,
			next_attempt_at, created_at)
		SELECT d.id, $1, d.webhook_id, $2, $3, $4, $5, $5
		FROM unnest($6::uuid[], $7::uuid[]) AS d (id, webhook_id)
		ON CONFLICT (webhook_id, dedupe_key) DO NOTHING`,
		workspaceID, event, dedupeKey, payload, timeOrNow(at), ids, hooks)
	return tag.RowsAffected(), interpret(err, "queue webhook event")
}

// LeadHasOpportunity tells whether a lead has its opportunity already (a
// lead has one at most: further ones of its contact carry no lead).
func (q *Queries) LeadHasOpportunity(ctx context.Context, workspaceID, leadID uuid.UUID) (bool, error) {
	var ok bool
	err := q.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM opportunities
		WHERE workspace_id = $1 AND lead_id = $2)`, workspaceID, leadID).Scan(&ok)
	return ok, interpret(err, "lead has opportunity")
}
