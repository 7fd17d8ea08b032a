package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Registration statuses.
const (
	RegistrationRegistered = "registered"
	RegistrationWaitlisted = "waitlisted"
)

// EventRegistration is a lead's place at an event: one per person per event.
type EventRegistration struct {
	ID          uuid.UUID `db:"id"`
	WorkspaceID uuid.UUID `db:"workspace_id"`
	EventID     uuid.UUID `db:"event_id"`
	LeadID      uuid.UUID `db:"lead_id"`
	ResponseID  uuid.UUID `db:"response_id"`
	Status      string    `db:"status"`
	CreatedAt   time.Time `db:"created_at"`
}

// registrationColumns lists EventRegistration's columns in struct order.
const registrationColumns = `id, workspace_id, event_id, lead_id, response_id, status, created_at`

// LockEvent locks an event of the workspace, so that registrations counting
// its places run one at a time.
func (q *Queries) LockEvent(ctx context.Context, workspaceID, id uuid.UUID) (Event, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+eventColumnList+` FROM events
		WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, workspaceID, id)
	e, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Event])
	return e, interpret(err, "lock event")
}

// LeadRegistration returns a lead's registration for an event.
func (q *Queries) LeadRegistration(ctx context.Context, workspaceID, eventID, leadID uuid.UUID) (EventRegistration, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+registrationColumns+` FROM event_registrations
		WHERE workspace_id = $1 AND event_id = $2 AND lead_id = $3`, workspaceID, eventID, leadID)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[EventRegistration])
	return r, interpret(err, "lead registration")
}

// CountRegistered counts the people holding a place (not waitlisted) at an
// event.
func (q *Queries) CountRegistered(ctx context.Context, workspaceID, eventID uuid.UUID) (int, error) {
	var n int
	err := q.db.QueryRow(ctx, `SELECT count(*) FROM event_registrations
		WHERE workspace_id = $1 AND event_id = $2 AND status = 'registered'`, workspaceID, eventID).Scan(&n)
	return n, interpret(err, "count registered")
}

// InsertRegistration registers a lead for an event; a zero ID is filled in.
// A lead already registered for the event is ErrConflict.
func (q *Queries) InsertRegistration(ctx context.Context, r EventRegistration) (EventRegistration, error) {
	if r.ID == uuid.Nil {
		r.ID = NewID()
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO event_registrations (id, workspace_id, event_id, lead_id, response_id, status, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		RETURNING `+registrationColumns,
		r.ID, r.WorkspaceID, r.EventID, r.LeadID, r.ResponseID, r.Status, timeOrNow(r.CreatedAt))
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[EventRegistration])
	return out, interpret(err, "insert registration")
}

// MoveRegistrations carries one lead's event registrations over to another
// in a merge. Where both were registered for the same event, the survivor's
// registration stays, holding a place if either of them held one (the person
// had a seat, whichever record it was under), and the other's is dropped.
func (q *Queries) MoveRegistrations(ctx context.Context, workspaceID, fromLeadID, toLeadID uuid.UUID) (int64, error) {
	if _, err := q.db.Exec(ctx, `
		UPDATE event_registrations k SET status = 'registered'
		FROM event_registrations r
		WHERE k.workspace_id = $1 AND k.lead_id = $3 AND k.status = 'waitlisted'
		  AND r.workspace_id = $1 AND r.lead_id = $2 AND r.event_id = k.event_id AND r.status = 'registered'`,
		workspaceID, fromLeadID, toLeadID); err != nil {
		return 0, interpret(err, "keep place of merged registration")
	}
	if _, err := q.db.Exec(ctx, `
		DELETE FROM event_registrations r
		WHERE r.workspace_id = $1 AND r.lead_id = $2
		  AND EXISTS (SELECT 1 FROM event_registrations k WHERE k.lead_id = $3 AND k.event_id = r.event_id)`,
		workspaceID, fromLeadID, toLeadID); err != nil {
		return 0, interpret(err, "drop duplicate registrations")
	}
	tag, err := q.db.Exec(ctx, `UPDATE event_registrations SET lead_id = $3 WHERE workspace_id = $1 AND lead_id = $2`,
		workspaceID, fromLeadID, toLeadID)
	return tag.RowsAffected(), interpret(err, "move registrations")
}
