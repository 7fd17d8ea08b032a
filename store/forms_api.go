package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Defaults a form gets when a field is left at its zero value, matching the
// schema's column defaults.
const (
	DefaultFormRegion       = "US"
	DefaultFormMaxBodyBytes = 64 << 10
	// A submission keeps this many custom fields of at most this many
	// characters each.
	DefaultFormMaxCustomFields     = 50
	DefaultFormMaxCustomValueChars = 2000
)

// NewFormKey returns a random public form key: 128 bits, URL-safe, so keys
// cannot be guessed or enumerated.
func NewFormKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// InsertForm stores a new form. A zero ID, key, region or body limit is
// filled in, so callers such as the dev command can pass a sparse Form.
func (q *Queries) InsertForm(ctx context.Context, f Form) (Form, error) {
	if f.ID == uuid.Nil {
		f.ID = NewID()
	}
	if f.Key == "" {
		f.Key = NewFormKey()
	}
	if f.DefaultRegion == "" {
		f.DefaultRegion = DefaultFormRegion
	}
	if f.MaxBodyBytes == 0 {
		f.MaxBodyBytes = DefaultFormMaxBodyBytes
	}
	if f.MaxCustomFields == 0 {
		f.MaxCustomFields = DefaultFormMaxCustomFields
	}
	if f.MaxCustomValueChars == 0 {
		f.MaxCustomValueChars = DefaultFormMaxCustomValueChars
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO forms (id, workspace_id, key, name, kind, allowed_origins, allowed_return_urls,
			thank_you_url, honeypot_field, rate_limit_per_minute, default_region, event_id, campaign,
			max_body_bytes, max_file_bytes, field_mapping, consent_text, double_opt_in,
			required_fields, max_custom_fields, max_custom_value_chars)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
			$19, $20, $21)
		RETURNING `+formColumns,
		f.ID, f.WorkspaceID, f.Key, f.Name, f.Kind, orEmptyStrings(f.AllowedOrigins), orEmptyStrings(f.AllowedReturnURLs),
		f.ThankYouURL, f.HoneypotField, f.RateLimitPerMinute, f.DefaultRegion, f.EventID, f.Campaign,
		f.MaxBodyBytes, f.MaxFileBytes, orEmptyMap(f.FieldMapping), f.ConsentText, f.DoubleOptIn,
		orEmptyStrings(f.RequiredFields), f.MaxCustomFields, f.MaxCustomValueChars)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Form])
	return out, interpret(err, "insert form")
}

// UpdateForm overwrites every configurable field of a form in its workspace.
func (q *Queries) UpdateForm(ctx context.Context, f Form) (Form, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE forms SET key = $3, name = $4, kind = $5, allowed_origins = $6,
			allowed_return_urls = $7, thank_you_url = $8, honeypot_field = $9,
			rate_limit_per_minute = $10, default_region = $11, event_id = $12, campaign = $13,
			max_body_bytes = $14, max_file_bytes = $15, field_mapping = $16, consent_text = $17,
			double_opt_in = $18, required_fields = $19, max_custom_fields = $20,
			max_custom_value_chars = $21, updated_at = now()
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+formColumns,
		f.WorkspaceID, f.ID, f.Key, f.Name, f.Kind, orEmptyStrings(f.AllowedOrigins), orEmptyStrings(f.AllowedReturnURLs),
		f.ThankYouURL, f.HoneypotField, f.RateLimitPerMinute, f.DefaultRegion, f.EventID, f.Campaign,
		f.MaxBodyBytes, f.MaxFileBytes, orEmptyMap(f.FieldMapping), f.ConsentText, f.DoubleOptIn,
		orEmptyStrings(f.RequiredFields), f.MaxCustomFields, f.MaxCustomValueChars)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Form])
	return out, interpret(err, "update form")
}

// GetForm returns a form of the workspace.
func (q *Queries) GetForm(ctx context.Context, workspaceID, id uuid.UUID) (Form, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+formColumns+` FROM forms WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id)
	f, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Form])
	return f, interpret(err, "get form")
}

// ListForms pages through the workspace's forms, newest first.
func (q *Queries) ListForms(ctx context.Context, workspaceID uuid.UUID, p Page) ([]Form, error) {
	w := newListQuery(workspaceID)
	rows, _ := q.db.Query(ctx, `SELECT `+formColumns+` FROM forms`+w.page(p), w.args...)
	fs, err := pgx.CollectRows(rows, pgx.RowToStructByName[Form])
	return fs, interpret(err, "list forms")
}

// eventColumnList lists Event's columns in struct order.
const eventColumnList = `id, workspace_id, name, starts_at, capacity, created_at`

// InsertEvent stores a new event; a zero ID is filled in.
func (q *Queries) InsertEvent(ctx context.Context, e Event) (Event, error) {
	if e.ID == uuid.Nil {
		e.ID = NewID()
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO events (id, workspace_id, name, starts_at, capacity)
		VALUES ($1, $2, $3, $4, $5)
		RETURNING `+eventColumnList,
		e.ID, e.WorkspaceID, e.Name, e.StartsAt, e.Capacity)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Event])
	return out, interpret(err, "insert event")
}

// GetEvent returns an event of the workspace.
func (q *Queries) GetEvent(ctx context.Context, workspaceID, id uuid.UUID) (Event, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+eventColumnList+` FROM events WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id)
	e, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Event])
	return e, interpret(err, "get event")
}

// ListEvents pages through the workspace's events, newest first.
func (q *Queries) ListEvents(ctx context.Context, workspaceID uuid.UUID, p Page) ([]Event, error) {
	w := newListQuery(workspaceID)
	rows, _ := q.db.Query(ctx, `SELECT `+eventColumnList+` FROM events`+w.page(p), w.args...)
	es, err := pgx.CollectRows(rows, pgx.RowToStructByName[Event])
	return es, interpret(err, "list events")
}

// EventCounts is how many of an event's registrations have each status.
type EventCounts struct {
	Registered int `db:"registered"`
	Waitlisted int `db:"waitlisted"`
	Cancelled  int `db:"cancelled"`
	Attended   int `db:"attended"`
}

// EventRegistrationCounts counts an event's registrations by status, for the
// admin view of an event.
func (q *Queries) EventRegistrationCounts(ctx context.Context, workspaceID, eventID uuid.UUID) (EventCounts, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT count(*) FILTER (WHERE status = 'registered')::int AS registered,
		       count(*) FILTER (WHERE status = 'waitlisted')::int AS waitlisted,
		       count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
		       count(*) FILTER (WHERE status = 'attended')::int AS attended
		FROM event_registrations WHERE workspace_id = $1 AND event_id = $2`,
		workspaceID, eventID)
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[EventCounts])
	return c, interpret(err, "event registration counts")
}

// listQuery builds the WHERE clause of a list query: always the workspace, then
// whatever filters the caller adds, then the keyset page.
type listQuery struct {
	conds []string
	args  []any
}

func newListQuery(workspaceID uuid.UUID) *listQuery {
	w := &listQuery{}
	w.add("workspace_id = ?", workspaceID)
	return w
}

// add appends a condition whose ? placeholders take args in order.
func (w *listQuery) add(cond string, args ...any) {
	for _, a := range args {
		w.args = append(w.args, a)
		cond = strings.Replace(cond, "?", fmt.Sprintf("$%d", len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

// page finishes the query: the conditions, the cursor, newest first.
func (w *listQuery) page(p Page) string {
	if p.Before != uuid.Nil {
		w.add("id < ?", p.Before)
	}
	w.args = append(w.args, max(p.Limit, 1))
	return fmt.Sprintf(" WHERE %s ORDER BY id DESC LIMIT $%d", strings.Join(w.conds, " AND "), len(w.args))
}

// likePattern makes a LIKE pattern matching s anywhere, with LIKE's own
// wildcards in s taken literally.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// orEmptyStrings keeps a nil slice from being stored as NULL in a NOT NULL array.
func orEmptyStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// orEmptyMap keeps a nil map from being stored as JSON null.
func orEmptyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
