package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Registration statuses. A registered or attended registration holds one of
// the event's places; a waitlisted one waits for a place; a cancelled one
// gave its place (or its turn) away.
const (
	RegistrationRegistered = "registered"
	RegistrationWaitlisted = "waitlisted"
	RegistrationCancelled  = "cancelled"
	RegistrationAttended   = "attended"
)

// EngagementEventAttended is the engagement event of a lead who attended an
// event: once per registration.
const EngagementEventAttended = "event_attended"

// EventRegistration is a lead's place at an event: one per person per event.
type EventRegistration struct {
	ID          uuid.UUID `db:"id"`
	WorkspaceID uuid.UUID `db:"workspace_id"`
	EventID     uuid.UUID `db:"event_id"`
	LeadID      uuid.UUID `db:"lead_id"`
	ResponseID  uuid.UUID `db:"response_id"`
	Status      string    `db:"status"`
	CreatedAt   time.Time `db:"created_at"`
	// CancelledBy is who cancelled: RegistrationCancelledByPerson (the link
	// in their email) or the actor who did.
	CancelledAt *time.Time `db:"cancelled_at"`
	CancelledBy string     `db:"cancelled_by"`
	// PromotedAt is when a waitlisted registration was given a place.
	PromotedAt *time.Time `db:"promoted_at"`
	AttendedAt *time.Time `db:"attended_at"`
}

// RegistrationCancelledByPerson is the CancelledBy of a registration its
// person cancelled.
const RegistrationCancelledByPerson = "person"

// registrationColumns lists EventRegistration's columns in struct order.
const registrationColumns = `id, workspace_id, event_id, lead_id, response_id, status, created_at,
	cancelled_at, cancelled_by, promoted_at, attended_at`

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

// CountRegistered counts the people holding a place at an event: registered
// or attended, not waitlisted or cancelled.
func (q *Queries) CountRegistered(ctx context.Context, workspaceID, eventID uuid.UUID) (int, error) {
	var n int
	err := q.db.QueryRow(ctx, `SELECT count(*) FROM event_registrations
		WHERE workspace_id = $1 AND event_id = $2 AND status IN ('registered', 'attended')`, workspaceID, eventID).Scan(&n)
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
// registration stays, with the further on of the two statuses (attended,
// then registered, then waitlisted, then cancelled: the person had a seat,
// whichever record it was under, and a record that attended says they
// came), and the other's is dropped.
func (q *Queries) MoveRegistrations(ctx context.Context, workspaceID, fromLeadID, toLeadID uuid.UUID) (int64, error) {
	const rank = `array_position(ARRAY['cancelled', 'waitlisted', 'registered', 'attended'], %s.status)`
	if _, err := q.db.Exec(ctx, `
		UPDATE event_registrations k SET status = r.status, attended_at = r.attended_at,
			promoted_at = COALESCE(k.promoted_at, r.promoted_at),
			cancelled_at = r.cancelled_at, cancelled_by = r.cancelled_by
		FROM event_registrations r
		WHERE k.workspace_id = $1 AND k.lead_id = $3
		  AND r.workspace_id = $1 AND r.lead_id = $2 AND r.event_id = k.event_id
		  AND `+fmt.Sprintf(rank, "r")+` > `+fmt.Sprintf(rank, "k"),
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

// GetRegistration returns a registration of the workspace's event.
func (q *Queries) GetRegistration(ctx context.Context, workspaceID, eventID, id uuid.UUID) (EventRegistration, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+registrationColumns+` FROM event_registrations
		WHERE workspace_id = $1 AND event_id = $2 AND id = $3`, workspaceID, eventID, id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[EventRegistration])
	return r, interpret(err, "get registration")
}

// RegistrationByID returns a registration by its ID alone, in whichever
// workspace: for a signed link, whose signature is what makes that safe.
func (q *Queries) RegistrationByID(ctx context.Context, id uuid.UUID) (EventRegistration, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+registrationColumns+` FROM event_registrations WHERE id = $1`, id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[EventRegistration])
	return r, interpret(err, "registration by id")
}

// LockRegistration locks a registration of the workspace's event for a
// change of its status. Callers lock the event first (LockEvent): the event
// lock is what serialises everyone counting its places.
func (q *Queries) LockRegistration(ctx context.Context, workspaceID, eventID, id uuid.UUID) (EventRegistration, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+registrationColumns+` FROM event_registrations
		WHERE workspace_id = $1 AND event_id = $2 AND id = $3 FOR UPDATE`, workspaceID, eventID, id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[EventRegistration])
	return r, interpret(err, "lock registration")
}

// CancelRegistration marks a registration cancelled, by whom and when.
func (q *Queries) CancelRegistration(ctx context.Context, workspaceID, id uuid.UUID, by string, at time.Time) (EventRegistration, error) {
	rows, _ := q.db.Query(ctx, `UPDATE event_registrations SET status = 'cancelled', cancelled_at = $4, cancelled_by = $3
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+registrationColumns, workspaceID, id, by, at)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[EventRegistration])
	return r, interpret(err, "cancel registration")
}

// RenewRegistration gives a cancelled registration back to its person,
// who registered again through response: a place or the waitlist (status),
// at the back of the waitlist's queue as of at. Callers hold the event's
// lock; ErrNotFound when the registration is not cancelled.
func (q *Queries) RenewRegistration(ctx context.Context, workspaceID, id, responseID uuid.UUID, status string, at time.Time) (EventRegistration, error) {
	rows, _ := q.db.Query(ctx, `UPDATE event_registrations
		SET status = $4, response_id = $3, created_at = $5, cancelled_at = NULL, cancelled_by = '', promoted_at = NULL
		WHERE workspace_id = $1 AND id = $2 AND status = 'cancelled'
		RETURNING `+registrationColumns, workspaceID, id, responseID, status, at)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[EventRegistration])
	return r, interpret(err, "renew registration")
}

// PromoteFirstWaitlisted gives the first registration on an event's
// waitlist (the oldest) a place, and returns it; ErrNotFound when nobody
// waits. Callers hold the event's lock.
func (q *Queries) PromoteFirstWaitlisted(ctx context.Context, workspaceID, eventID uuid.UUID, at time.Time) (EventRegistration, error) {
	rows, _ := q.db.Query(ctx, `UPDATE event_registrations SET status = 'registered', promoted_at = $3
		WHERE id = (SELECT id FROM event_registrations
			WHERE workspace_id = $1 AND event_id = $2 AND status = 'waitlisted'
			ORDER BY created_at, id LIMIT 1)
		RETURNING `+registrationColumns, workspaceID, eventID, at)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[EventRegistration])
	return r, interpret(err, "promote waitlisted")
}

// MarkAttended records that a registration's person attended.
func (q *Queries) MarkAttended(ctx context.Context, workspaceID, id uuid.UUID, at time.Time) (EventRegistration, error) {
	rows, _ := q.db.Query(ctx, `UPDATE event_registrations SET status = 'attended', attended_at = $3
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+registrationColumns, workspaceID, id, at)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[EventRegistration])
	return r, interpret(err, "mark attended")
}

// RegistrationListItem is a registration with its lead's name and address,
// as an event's lists show it.
type RegistrationListItem struct {
	EventRegistration
	FirstName string `db:"first_name"`
	LastName  string `db:"last_name"`
	Email     string `db:"email"`
	Company   string `db:"company"`
}

// ListRegistrations pages through an event's registrations of one status
// ("" for all), in the order they came: the waitlist's order is its queue.
// after is the last ID of the previous page (uuid.Nil for the first).
func (q *Queries) ListRegistrations(ctx context.Context, workspaceID, eventID uuid.UUID, status string, after uuid.UUID, limit int) ([]RegistrationListItem, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT r.id, r.workspace_id, r.event_id, r.lead_id, r.response_id, r.status, r.created_at,
		       r.cancelled_at, r.cancelled_by, r.promoted_at, r.attended_at,
		       l.first_name, l.last_name, l.email, l.company
		FROM event_registrations r JOIN leads l ON l.workspace_id = r.workspace_id AND l.id = r.lead_id
		WHERE r.workspace_id = $1 AND r.event_id = $2 AND ($3 = '' OR r.status = $3)
		  AND ($4 = '00000000-0000-0000-0000-000000000000'::uuid OR (r.created_at, r.id) > (SELECT created_at, id FROM event_registrations WHERE workspace_id = $1 AND id = $4))
		ORDER BY r.created_at, r.id LIMIT $5`,
		workspaceID, eventID, status, after, max(limit, 1))
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[RegistrationListItem])
	return rs, interpret(err, "list registrations")
}
