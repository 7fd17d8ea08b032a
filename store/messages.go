package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// EngagementEmailSent is the engagement event of a message the SMTP server
// accepted.
const EngagementEmailSent = "email_sent"

// messageRowColumns lists Message's columns in struct order.
const messageRowColumns = `id, workspace_id, lead_id, response_id, enrollment_id, step_key, template_id,
	dedupe_key, kind, to_email, subject, html_body, text_body, links, message_id, status, attempts,
	last_error, enqueued_at, sent_at, opened_at, clicked_at, created_at`

// InsertMessage stores a queued message unless one with its dedupe key
// exists already. It returns the stored message and whether this call made
// it: an effect asked for twice (a step run again, a registration processed
// again) makes one email.
func (q *Queries) InsertMessage(ctx context.Context, m Message) (Message, bool, error) {
	if m.ID == uuid.Nil {
		m.ID = NewID()
	}
	links := m.Links
	if links == nil {
		links = []string{}
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO messages (id, workspace_id, lead_id, response_id, enrollment_id, step_key,
			template_id, dedupe_key, kind, to_email, subject, html_body, text_body, links, message_id,
			status, enqueued_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'queued', $16, $17)
		ON CONFLICT (dedupe_key) DO NOTHING
		RETURNING `+messageRowColumns,
		m.ID, m.WorkspaceID, m.LeadID, m.ResponseID, m.EnrollmentID, m.StepKey,
		m.TemplateID, m.DedupeKey, m.Kind, m.ToEmail, m.Subject, m.HTMLBody, m.TextBody, links, m.MessageID,
		m.EnqueuedAt, timeOrNow(m.CreatedAt))
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Message])
	if errors.Is(err, pgx.ErrNoRows) {
		rows, _ := q.db.Query(ctx, `SELECT `+messageRowColumns+` FROM messages
			WHERE workspace_id = $1 AND dedupe_key = $2`, m.WorkspaceID, m.DedupeKey)
		out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Message])
		return out, false, interpret(err, "existing message")
	}
	return out, err == nil, interpret(err, "insert message")
}

// GetMessage returns a message of the workspace.
func (q *Queries) GetMessage(ctx context.Context, workspaceID, id uuid.UUID) (Message, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+messageRowColumns+` FROM messages
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Message])
	return m, interpret(err, "get message")
}

// MessageByDedupeKey returns the message made for an effect, such as an
// enrollment's email at a step, which the conditions on opens and clicks
// ask about.
func (q *Queries) MessageByDedupeKey(ctx context.Context, workspaceID uuid.UUID, dedupeKey string) (Message, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+messageRowColumns+` FROM messages
		WHERE workspace_id = $1 AND dedupe_key = $2`, workspaceID, dedupeKey)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Message])
	return m, interpret(err, "message by dedupe key")
}

// MessageSendContext is what deciding whether and how to send a message
// reads.
type MessageSendContext struct {
	Message   Message
	Workspace Workspace
	// Lead is the message's lead; nil for a message to someone who is not
	// a lead (a double opt-in confirmation).
	Lead *Lead
	// Suppressed is the suppression reason of the lead's address, "" when
	// it may be emailed or there is no lead.
	Suppressed string
	// Enrollment is the message's enrollment, if it has one.
	Enrollment *Enrollment
}

// GetMessageSendContext reads a message of the workspace with what sending
// it needs, in one round trip. ErrNotFound: no such message.
func (q *Queries) GetMessageSendContext(ctx context.Context, workspaceID, id uuid.UUID) (MessageSendContext, error) {
	var out MessageSendContext
	b := &pgx.Batch{}
	b.Queue(`SELECT `+messageRowColumns+` FROM messages WHERE workspace_id = $1 AND id = $2`, workspaceID, id).
		Query(func(rows pgx.Rows) (err error) {
			out.Message, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Message])
			return interpret(err, "get message")
		})
	b.Queue(`SELECT `+workspaceColumns+` FROM workspaces WHERE id = $1`, workspaceID).
		Query(func(rows pgx.Rows) (err error) {
			out.Workspace, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Workspace])
			return interpret(err, "message's workspace")
		})
	b.Queue(`SELECT `+leadColumns+` FROM leads
		WHERE workspace_id = $1 AND id = (SELECT lead_id FROM messages WHERE workspace_id = $1 AND id = $2)`,
		workspaceID, id).
		Query(func(rows pgx.Rows) error {
			ls, err := pgx.CollectRows(rows, pgx.RowToStructByName[Lead])
			if len(ls) == 1 {
				out.Lead = &ls[0]
			}
			return interpret(err, "message's lead")
		})
	b.Queue(`SELECT COALESCE((SELECT '`+SuppressErased+`' FROM leads l
		JOIN messages m ON m.workspace_id = l.workspace_id AND m.lead_id = l.id
		WHERE m.workspace_id = $1 AND m.id = $2 AND `+erasedLeadSQL+`), (SELECT s.reason FROM suppressions s
		JOIN leads l ON l.workspace_id = s.workspace_id AND l.email_canonical = s.email_canonical
		JOIN messages m ON m.workspace_id = l.workspace_id AND m.lead_id = l.id
		WHERE m.workspace_id = $1 AND m.id = $2 AND l.email_canonical <> ''), '')`, workspaceID, id).
		QueryRow(func(row pgx.Row) error {
			return interpret(row.Scan(&out.Suppressed), "message's suppression")
		})
	b.Queue(`SELECT `+enrollmentRowColumns+` FROM enrollments
		WHERE workspace_id = $1 AND id = (SELECT enrollment_id FROM messages WHERE workspace_id = $1 AND id = $2)`,
		workspaceID, id).
		Query(func(rows pgx.Rows) error {
			es, err := pgx.CollectRows(rows, pgx.RowToStructByName[Enrollment])
			if len(es) == 1 {
				out.Enrollment = &es[0]
			}
			return interpret(err, "message's enrollment")
		})
	err := q.db.SendBatch(ctx, b).Close()
	return out, err
}

// ClaimMessageAttempt counts attempt number attempt+1 of a queued message
// and leases it to the caller from at. It succeeds for one caller only: one
// whose attempt number is stale (a task run twice, an orphaned task
// recovered late) or whose message is no longer queued gets ErrNotFound and
// must not send.
func (q *Queries) ClaimMessageAttempt(ctx context.Context, workspaceID, id uuid.UUID, attempt int, at time.Time) (Message, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE messages SET attempts = attempts + 1, enqueued_at = $4
		WHERE workspace_id = $1 AND id = $2 AND status = 'queued' AND attempts = $3
		RETURNING `+messageRowColumns,
		workspaceID, id, attempt, at)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Message])
	return m, interpret(err, "claim message attempt")
}

// MarkMessageSent records the SMTP server's acceptance of a message after the
// attempt that claimed it (attempts is the count that claim left) and, when
// leadID is set, the lead's email_sent engagement event (once), in one
// statement. ErrNotFound: the claim is no longer this attempt's.
func (q *Queries) MarkMessageSent(ctx context.Context, workspaceID, id uuid.UUID, attempts int, leadID *uuid.UUID, detail map[string]any, at time.Time) error {
	if detail == nil {
		detail = map[string]any{}
	}
	var n int
	err := q.db.QueryRow(ctx, `
		WITH sent AS (
			UPDATE messages SET status = 'sent', sent_at = $4, last_error = '', enqueued_at = NULL
			WHERE workspace_id = $1 AND id = $2 AND status = 'queued' AND attempts = $3
			RETURNING id
		), event AS (
			INSERT INTO engagement_events (id, workspace_id, lead_id, kind, source_id, occurred_at, detail)
			SELECT $5, $1, $6, 'email_sent', sent.id, $4, $7 FROM sent WHERE $6::uuid IS NOT NULL
			ON CONFLICT (lead_id, kind, source_id) DO NOTHING
		)
		SELECT count(*) FROM sent`,
		workspaceID, id, attempts, at, NewID(), leadID, detail).Scan(&n)
	if err == nil && n == 0 {
		return fmt.Errorf("mark message sent: %w", ErrNotFound)
	}
	return interpret(err, "mark message sent")
}

// MarkMessageFailed gives up on a queued message: the SMTP server refused it
// for good, or its attempts ran out.
func (q *Queries) MarkMessageFailed(ctx context.Context, workspaceID, id uuid.UUID, lastError string) (Message, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE messages SET status = 'failed', last_error = $3, enqueued_at = NULL
		WHERE workspace_id = $1 AND id = $2 AND status = 'queued'
		RETURNING `+messageRowColumns,
		workspaceID, id, lastError)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Message])
	return m, interpret(err, "mark message failed")
}

// MarkMessageSuppressed records that a queued message is not to be sent
// (suppressed address, no consent), with why in last_error.
func (q *Queries) MarkMessageSuppressed(ctx context.Context, workspaceID, id uuid.UUID, why string) (Message, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE messages SET status = 'suppressed', last_error = $3, enqueued_at = NULL
		WHERE workspace_id = $1 AND id = $2 AND status = 'queued'
		RETURNING `+messageRowColumns,
		workspaceID, id, why)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Message])
	return m, interpret(err, "mark message suppressed")
}

// DeferMessage records a temporary failure of the attempt that left attempts
// and when the next one is due: enqueued_at is set to that time, so the
// scheduler puts the message on the queue again only if that retry is lost
// (a lease after it).
func (q *Queries) DeferMessage(ctx context.Context, workspaceID, id uuid.UUID, attempts int, lastError string, retryAt time.Time) (Message, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE messages SET last_error = $4, enqueued_at = $5
		WHERE workspace_id = $1 AND id = $2 AND status = 'queued' AND attempts = $3
		RETURNING `+messageRowColumns,
		workspaceID, id, attempts, lastError, retryAt)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Message])
	return m, interpret(err, "defer message")
}

// QueuedMessage is a message the scheduler put on the queue.
type QueuedMessage struct {
	ID          uuid.UUID `db:"id"`
	WorkspaceID uuid.UUID `db:"workspace_id"`
	Attempts    int       `db:"attempts"`
}

// ClaimQueuedMessages takes up to limit queued messages, in every
// workspace, that are not on the queue (never put there, or put there
// before leaseCutoff and so presumed lost), oldest first, and marks them put
// there now. SKIP LOCKED lets several schedulers share the work. Its two
// index ranges hold only claimable rows (never claimed; lease or deferral
// run out), so messages on the queue or deferred during an SMTP outage are
// not read at every round.
func (q *Queries) ClaimQueuedMessages(ctx context.Context, now, leaseCutoff time.Time, limit int) ([]QueuedMessage, error) {
	rows, _ := q.db.Query(ctx, `
		WITH candidates AS (
			(SELECT id, created_at FROM messages
			 WHERE status = 'queued' AND enqueued_at IS NULL
			 ORDER BY created_at LIMIT $3)
			UNION ALL
			SELECT id, created_at FROM messages
			WHERE status = 'queued' AND enqueued_at < $2
		), due AS (
			-- By primary key only: a condition on status here lets the planner
			-- read a queued index again, past every deferred message. The
			-- update below checks the locked rows.
			SELECT m.id FROM messages m
			WHERE m.id = ANY (ARRAY(SELECT id FROM candidates))
			ORDER BY m.created_at
			LIMIT $3
			FOR UPDATE OF m SKIP LOCKED
		)
		UPDATE messages m SET enqueued_at = $1
		FROM due WHERE m.id = due.id
		  AND m.status = 'queued' AND (m.enqueued_at IS NULL OR m.enqueued_at < $2)
		RETURNING m.id, m.workspace_id, m.attempts`,
		now, leaseCutoff, limit)
	ms, err := pgx.CollectRows(rows, pgx.RowToStructByName[QueuedMessage])
	return ms, interpret(err, "claim queued messages")
}

// ExtendMessageLease moves the lease of a queued message's attempt (the one
// that left attempts) to at, while the attempt is still in progress.
// ErrNotFound: the message is no longer queued, or another attempt has it.
func (q *Queries) ExtendMessageLease(ctx context.Context, workspaceID, id uuid.UUID, attempts int, at time.Time) error {
	tag, err := q.db.Exec(ctx, `
		UPDATE messages SET enqueued_at = $4
		WHERE workspace_id = $1 AND id = $2 AND status = 'queued' AND attempts = $3`,
		workspaceID, id, attempts, at)
	if err != nil {
		return interpret(err, "extend message lease")
	}
	return oneRow(tag, "extend message lease")
}
