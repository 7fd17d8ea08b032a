package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Engagement event kinds recorded by nurture's tracking.
const (
	EngagementEmailOpened  = "email_opened"
	EngagementEmailClicked = "email_clicked"
	EngagementUnsubscribed = "unsubscribed"
	EngagementBounced      = "bounced"
)

// Bounce kinds.
const (
	BounceHard      = "hard"
	BounceSoft      = "soft"
	BounceComplaint = "complaint"
)

// TrackedMessage is what tracking needs of a message: whose it is and, for a
// click, the link followed.
type TrackedMessage struct {
	ID           uuid.UUID  `db:"id"`
	WorkspaceID  uuid.UUID  `db:"workspace_id"`
	LeadID       *uuid.UUID `db:"lead_id"`
	ResponseID   *uuid.UUID `db:"response_id"`
	EnrollmentID *uuid.UUID `db:"enrollment_id"`
	StepKey      string     `db:"step_key"`
	Kind         string     `db:"kind"`
	ToEmail      string     `db:"to_email"`
	// Link is the original URL of the clicked link; empty for an open.
	Link string `db:"link"`
}

// MarkMessageOpened records a message's first open. Tracking links carry only
// a signed message ID, so this is looked up by ID alone. ErrNotFound means
// there is no such message or it was opened before: nothing to record.
func (q *Queries) MarkMessageOpened(ctx context.Context, id uuid.UUID, at time.Time) (TrackedMessage, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE messages SET opened_at = $2
		WHERE id = $1 AND opened_at IS NULL
		RETURNING id, workspace_id, lead_id, response_id, enrollment_id, step_key, kind, to_email, '' AS link`,
		id, at)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[TrackedMessage])
	return m, interpret(err, "mark message opened")
}

// MarkMessageClicked records a click on a message's link number index (from
// 0) and returns that link's stored URL; a click implies an open, so a
// message never opened is marked opened too. The first click's time is
// kept. ErrNotFound means no such message, or no such link in it.
func (q *Queries) MarkMessageClicked(ctx context.Context, id uuid.UUID, index int, at time.Time) (TrackedMessage, error) {
	if index < 0 || index >= math.MaxInt32 {
		// Array subscripts are integers; no message has that many links.
		return TrackedMessage{}, fmt.Errorf("mark message clicked: link %d: %w", index, ErrNotFound)
	}
	rows, _ := q.db.Query(ctx, `
		UPDATE messages SET clicked_at = COALESCE(clicked_at, $3), opened_at = COALESCE(opened_at, $3)
		WHERE id = $1 AND $2::integer < cardinality(links)
		RETURNING id, workspace_id, lead_id, response_id, enrollment_id, step_key, kind, to_email, links[$2::integer + 1] AS link`,
		id, int32(index), at)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[TrackedMessage])
	return m, interpret(err, "mark message clicked")
}

// TrackedMessageByID returns a message for its unsubscribe link, which
// carries only the signed message ID.
func (q *Queries) TrackedMessageByID(ctx context.Context, id uuid.UUID) (TrackedMessage, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT id, workspace_id, lead_id, response_id, enrollment_id, step_key, kind, to_email, '' AS link
		FROM messages WHERE id = $1`, id)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[TrackedMessage])
	return m, interpret(err, "tracked message by id")
}

// BouncedMessage finds the workspace's message a bounce report names, by its
// ID or by its RFC 5322 Message-ID (without angle brackets).
func (q *Queries) BouncedMessage(ctx context.Context, workspaceID uuid.UUID, id uuid.UUID, headerID string) (TrackedMessage, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT id, workspace_id, lead_id, response_id, enrollment_id, step_key, kind, to_email, '' AS link
		FROM messages
		WHERE workspace_id = $1 AND (id = $2 OR (message_id = $3 AND $3 <> ''))
		LIMIT 1`, workspaceID, id, headerID)
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[TrackedMessage])
	return m, interpret(err, "bounced message")
}

// LiveLead returns the lead that lead id is now: itself, or the lead it was
// merged into (following merges of merges), so engagement with an email sent
// before a merge lands on the surviving lead.
func (q *Queries) LiveLead(ctx context.Context, workspaceID, id uuid.UUID) (Lead, error) {
	rows, _ := q.db.Query(ctx, `
		WITH RECURSIVE chain (id, merged_into, depth) AS (
			SELECT id, merged_into, 0 FROM leads WHERE workspace_id = $1 AND id = $2
			UNION ALL
			SELECT l.id, l.merged_into, c.depth + 1 FROM chain c JOIN leads l ON l.id = c.merged_into
			WHERE c.depth < 32
		)
		SELECT `+leadColumns+` FROM leads
		WHERE workspace_id = $1 AND id = (SELECT id FROM chain WHERE merged_into IS NULL LIMIT 1)`,
		workspaceID, id)
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
	return l, interpret(err, "live lead")
}

// ResponseToConfirm reads a response for its double opt-in confirmation
// page, which knows only the response ID its signed link carries.
func (q *Queries) ResponseToConfirm(ctx context.Context, id uuid.UUID) (Response, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+responseColumns+` FROM responses WHERE id = $1`, id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Response])
	return r, interpret(err, "response to confirm")
}

// MarkResponseConfirmed records a double opt-in response's confirmation and
// makes it pending, ready to be processed into a lead.
func (q *Queries) MarkResponseConfirmed(ctx context.Context, workspaceID, id uuid.UUID, at time.Time) (Response, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE responses SET confirmed_at = $3, status = 'pending'
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+responseColumns,
		workspaceID, id, at)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Response])
	return r, interpret(err, "mark response confirmed")
}

// Bounce is a delivery failure or complaint reported for an address.
type Bounce struct {
	ID             uuid.UUID  `db:"id"`
	WorkspaceID    uuid.UUID  `db:"workspace_id"`
	EmailCanonical string     `db:"email_canonical"`
	MessageID      *uuid.UUID `db:"message_id"`
	Kind           string     `db:"kind"`
	Detail         string     `db:"detail"`
	CreatedAt      time.Time  `db:"created_at"`
}

// InsertBounce records a bounce; a zero ID is filled in.
func (q *Queries) InsertBounce(ctx context.Context, b Bounce) (Bounce, error) {
	if b.ID == uuid.Nil {
		b.ID = NewID()
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO bounces (id, workspace_id, email_canonical, message_id, kind, detail, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		RETURNING id, workspace_id, email_canonical, message_id, kind, detail, created_at`,
		b.ID, b.WorkspaceID, b.EmailCanonical, b.MessageID, b.Kind, b.Detail, timeOrNow(b.CreatedAt))
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Bounce])
	return out, interpret(err, "insert bounce")
}

// CountBounces counts an address's bounces of one kind since a time, for the
// soft-bounce threshold (on the bounces_email index).
func (q *Queries) CountBounces(ctx context.Context, workspaceID uuid.UUID, emailCanonical, kind string, since time.Time) (int, error) {
	var n int
	err := q.db.QueryRow(ctx, `
		SELECT count(*) FROM bounces
		WHERE workspace_id = $1 AND email_canonical = $2 AND kind = $3 AND created_at >= $4`,
		workspaceID, emailCanonical, kind, since).Scan(&n)
	return n, interpret(err, "count bounces")
}
