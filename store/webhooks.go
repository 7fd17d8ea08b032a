package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// webhookColumns lists Webhook's columns in struct order; webhookListColumns
// blanks the secret, which is read back only to sign deliveries.
const (
	webhookColumns     = `id, workspace_id, url, events, secret, active, created_at`
	webhookListColumns = `id, workspace_id, url, events, '' AS secret, active, created_at`
)

// InsertWebhook stores a new webhook with its secret; a zero ID is filled in.
func (q *Queries) InsertWebhook(ctx context.Context, w Webhook) (Webhook, error) {
	if w.ID == uuid.Nil {
		w.ID = NewID()
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO webhooks (id, workspace_id, url, events, secret, active)
		VALUES ($1, $2, $3, $4, $5, true)
		RETURNING `+webhookColumns,
		w.ID, w.WorkspaceID, w.URL, orEmptyStrings(w.Events), w.Secret)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Webhook])
	return out, interpret(err, "insert webhook")
}

// GetWebhook returns a webhook of the workspace, without its secret.
func (q *Queries) GetWebhook(ctx context.Context, workspaceID, id uuid.UUID) (Webhook, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+webhookListColumns+` FROM webhooks WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id)
	w, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Webhook])
	return w, interpret(err, "get webhook")
}

// ListWebhooks pages through the workspace's webhooks, newest first, without
// their secrets.
func (q *Queries) ListWebhooks(ctx context.Context, workspaceID uuid.UUID, p Page) ([]Webhook, error) {
	w := newListQuery(workspaceID)
	rows, _ := q.db.Query(ctx, `SELECT `+webhookListColumns+` FROM webhooks`+w.page(p), w.args...)
	ws, err := pgx.CollectRows(rows, pgx.RowToStructByName[Webhook])
	return ws, interpret(err, "list webhooks")
}

// DeleteWebhook removes a webhook of the workspace and its deliveries.
func (q *Queries) DeleteWebhook(ctx context.Context, workspaceID, id uuid.UUID) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM webhooks WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("delete webhook: %w", ErrNotFound)
	}
	return interpret(err, "delete webhook")
}

// WebhookDeliveryToSend is a claimed delivery with where to send it and the
// secret to sign it with.
type WebhookDeliveryToSend struct {
	ID          uuid.UUID       `db:"id"`
	WorkspaceID uuid.UUID       `db:"workspace_id"`
	WebhookID   uuid.UUID       `db:"webhook_id"`
	Event       string          `db:"event"`
	Payload     json.RawMessage `db:"payload"`
	// Attempts made before this one.
	Attempts int `db:"attempts"`
	// ClaimedAt identifies this claim: an outcome is recorded only while
	// the claim is the latest.
	ClaimedAt time.Time `db:"enqueued_at"`
	URL       string    `db:"url"`
	Secret    string    `db:"secret"`
}

// ClaimWebhookDeliveries takes, across workspaces, up to limit pending
// deliveries due at now, of active webhooks, and leases them until
// leaseUntil: other processes skip them meanwhile (SKIP LOCKED, then the
// later next_attempt_at), and a process that dies mid-send leaves them to be
// retried when the lease ends.
func (q *Queries) ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]WebhookDeliveryToSend, error) {
	rows, _ := q.db.Query(ctx, `
		WITH due AS (
			SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id AND w.active
			WHERE d.status = 'pending' AND d.next_attempt_at <= $1
			ORDER BY d.next_attempt_at LIMIT $3
			FOR UPDATE OF d SKIP LOCKED
		)
		UPDATE webhook_deliveries d SET enqueued_at = $1, next_attempt_at = $2
		FROM due, webhooks w
		WHERE d.id = due.id AND w.id = d.webhook_id
		RETURNING d.id, d.workspace_id, d.webhook_id, d.event, d.payload, d.attempts, d.enqueued_at,
			w.url, w.secret`, now, leaseUntil, max(limit, 1))
	ds, err := pgx.CollectRows(rows, pgx.RowToStructByName[WebhookDeliveryToSend])
	return ds, interpret(err, "claim webhook deliveries")
}

// MarkWebhookDelivered records a claimed delivery's acceptance by its
// receiver. A claim that is no longer the latest changes nothing.
func (q *Queries) MarkWebhookDelivered(ctx context.Context, id uuid.UUID, claimedAt, at time.Time) error {
	_, err := q.db.Exec(ctx, `
		UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $3,
			last_error = ''
		WHERE id = $1 AND status = 'pending' AND enqueued_at = $2`, id, claimedAt, at)
	return interpret(err, "mark webhook delivered")
}

// MarkWebhookAttemptFailed records a claimed delivery's failed attempt: it is
// tried again at nextAttemptAt, or, when giveUp, marked failed for good. A
// claim that is no longer the latest changes nothing.
func (q *Queries) MarkWebhookAttemptFailed(ctx context.Context, id uuid.UUID, claimedAt time.Time, lastError string, nextAttemptAt time.Time, giveUp bool) error {
	_, err := q.db.Exec(ctx, `
		UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4,
			status = CASE WHEN $5 THEN 'failed' ELSE 'pending' END
		WHERE id = $1 AND status = 'pending' AND enqueued_at = $2`,
		id, claimedAt, lastError, nextAttemptAt, giveUp)
	return interpret(err, "mark webhook attempt failed")
}
