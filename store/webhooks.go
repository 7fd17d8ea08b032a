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
// deliveries due at now, of active webhooks, at most perWebhook in flight
// per webhook (counting those other claims hold), oldest due first, and
// leases them until leaseUntil: other processes skip them meanwhile (SKIP
// LOCKED, then the later next_attempt_at), and a process that dies mid-send
// leaves them to be retried when the lease ends. The cap keeps a receiver
// that never answers from taking every worker.
func (q *Queries) ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, limit, perWebhook int) ([]WebhookDeliveryToSend, error) {
	rows, _ := q.db.Query(ctx, `
		WITH candidates AS (
			SELECT c.id, c.next_attempt_at
			FROM webhooks w
			CROSS JOIN LATERAL (
				SELECT d.id, d.next_attempt_at FROM webhook_deliveries d
				WHERE d.webhook_id = w.id AND d.status = 'pending' AND d.next_attempt_at <= $1
				ORDER BY d.next_attempt_at
				LIMIT greatest($4 - (SELECT count(*) FROM webhook_deliveries f
					WHERE f.webhook_id = w.id AND f.leased_until > $1), 0)
			) c
			WHERE w.active
		), due AS (
			SELECT d.id FROM webhook_deliveries d JOIN candidates c ON c.id = d.id
			WHERE d.status = 'pending' AND d.next_attempt_at <= $1
			ORDER BY c.next_attempt_at LIMIT $3
			FOR UPDATE OF d SKIP LOCKED
		)
		UPDATE webhook_deliveries d SET enqueued_at = $1, next_attempt_at = $2, leased_until = $2
		FROM due, webhooks w
		WHERE d.id = due.id AND w.id = d.webhook_id
		RETURNING d.id, d.workspace_id, d.webhook_id, d.event, d.payload, d.attempts, d.enqueued_at,
			w.url, w.secret`, now, leaseUntil, max(limit, 1), max(perWebhook, 1))
	ds, err := pgx.CollectRows(rows, pgx.RowToStructByName[WebhookDeliveryToSend])
	return ds, interpret(err, "claim webhook deliveries")
}

// MarkWebhookDelivered records a claimed delivery's acceptance by its
// receiver, which answered status. A claim that is no longer the latest
// changes nothing.
func (q *Queries) MarkWebhookDelivered(ctx context.Context, id uuid.UUID, claimedAt, at time.Time, status int) error {
	_, err := q.db.Exec(ctx, `
		UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $3,
			last_error = '', last_attempt_at = $2, last_status = $4, leased_until = NULL
		WHERE id = $1 AND status = 'pending' AND enqueued_at = $2`, id, claimedAt, at, status)
	return interpret(err, "mark webhook delivered")
}

// MarkWebhookAttemptFailed records a claimed delivery's failed attempt, with
// the receiver's status (0 when it gave none): it is tried again at
// nextAttemptAt, or, when giveUp, marked failed for good. A claim that is no
// longer the latest changes nothing.
func (q *Queries) MarkWebhookAttemptFailed(ctx context.Context, id uuid.UUID, claimedAt time.Time, status int, lastError string, nextAttemptAt time.Time, giveUp bool) error {
	_, err := q.db.Exec(ctx, `
		UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $4, next_attempt_at = $5,
			status = CASE WHEN $6 THEN 'failed' ELSE 'pending' END,
			last_attempt_at = $2, last_status = nullif($3, 0), leased_until = NULL
		WHERE id = $1 AND status = 'pending' AND enqueued_at = $2`,
		id, claimedAt, status, lastError, nextAttemptAt, giveUp)
	return interpret(err, "mark webhook attempt failed")
}

// ReleaseWebhookDelivery gives back a claimed delivery whose attempt was cut
// short by a shutdown, not by its receiver: it is due again at at, and the
// attempt does not count. A claim that is no longer the latest changes
// nothing.
func (q *Queries) ReleaseWebhookDelivery(ctx context.Context, id uuid.UUID, claimedAt, at time.Time) error {
	_, err := q.db.Exec(ctx, `
		UPDATE webhook_deliveries SET next_attempt_at = $3, leased_until = NULL
		WHERE id = $1 AND status = 'pending' AND enqueued_at = $2`, id, claimedAt, at)
	return interpret(err, "release webhook delivery")
}

// webhookDeliveryColumns lists WebhookDelivery's columns.
const webhookDeliveryColumns = `id, workspace_id, webhook_id, event, dedupe_key, payload, status, attempts,
	next_attempt_at, enqueued_at, last_error, delivered_at, created_at, leased_until, last_attempt_at, last_status`

// ListWebhookDeliveries pages through a webhook's deliveries, newest first.
func (q *Queries) ListWebhookDeliveries(ctx context.Context, workspaceID, webhookID uuid.UUID, p Page) ([]WebhookDelivery, error) {
	w := newListQuery(workspaceID)
	w.add("webhook_id = ?", webhookID)
	rows, _ := q.db.Query(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries`+w.page(p), w.args...)
	ds, err := pgx.CollectRows(rows, pgx.RowToStructByName[WebhookDelivery])
	return ds, interpret(err, "list webhook deliveries")
}
