package capture

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"leadflow/store"
)

// RegistrationMailer queues the email a registration's change sends; nurture
// satisfies it. It runs in the caller's transaction, so the email exists
// exactly when the change commits, and once per registration however often
// the change is retried.
type RegistrationMailer interface {
	// QueuePromotion queues the email telling a person that a place opened
	// up and their waitlisted registration now holds it.
	QueuePromotion(ctx context.Context, q *store.Queries, reg store.EventRegistration) error
}

// Audit actions on a lead's trail for its event registrations.
const (
	AuditRegistrationCancelled = "registration_cancelled"
	AuditRegistrationPromoted  = "registration_promoted"
	AuditRegistrationAttended  = "registration_attended"
)

// PromotionActor signs a promotion off the waitlist in audit trails: the
// cancellation that freed the place did it, whoever made that.
const PromotionActor = "waitlist"

// RegistrationChange is what a cancellation or attendance did.
type RegistrationChange struct {
	Registration store.EventRegistration
	Event        store.Event
	// Changed: this call made the change; false when the registration was
	// already cancelled (or attended), which changes nothing.
	Changed bool
	// Promoted are the waitlisted registrations the freed place went to
	// (one, unless the event had places free already).
	Promoted []store.EventRegistration
}

// errNotCancellable and errNotAttendable say why a registration cannot
// change the way asked.
func errNotCancellable() error {
	return &ValidationError{Fields: map[string]string{"status": "is attended: an attended registration cannot be cancelled"}}
}

func errNotAttendable() error {
	return &ValidationError{Fields: map[string]string{"status": "is cancelled: a cancelled registration cannot be marked attended"}}
}

// CancelRegistration cancels a registration of the workspace's event on
// marketing's behalf (actor signs it); see cancel.
func (a *API) CancelRegistration(ctx context.Context, workspaceID, eventID, id uuid.UUID, actor string) (RegistrationChange, error) {
	return a.cancel(ctx, workspaceID, eventID, id, actor)
}

// CancelRegistrationFromLink cancels the registration a signed cancel link
// names, on its person's behalf. The link's signature is what makes the
// lookup by ID alone safe.
func (a *API) CancelRegistrationFromLink(ctx context.Context, id uuid.UUID) (RegistrationChange, error) {
	reg, err := a.store.RegistrationByID(ctx, id)
	if err != nil {
		return RegistrationChange{}, err
	}
	return a.cancel(ctx, reg.WorkspaceID, reg.EventID, id, store.RegistrationCancelledByPerson)
}

// LinkedRegistration returns the registration a signed cancel link names,
// with its event, for the page that asks before cancelling.
func (a *API) LinkedRegistration(ctx context.Context, id uuid.UUID) (store.EventRegistration, store.Event, error) {
	reg, err := a.store.RegistrationByID(ctx, id)
	if err != nil {
		return store.EventRegistration{}, store.Event{}, err
	}
	ev, err := a.store.GetEvent(ctx, reg.WorkspaceID, reg.EventID)
	return reg, ev, err
}

// cancel cancels a registration and, if that freed a place, gives it to the
// first person on the waitlist and queues their email, all in one
// transaction under the event's row lock: the lock every registration
// counting the event's places takes, so two cancellations at once promote
// two different people and the event never holds more than its capacity.
// Cancelling a cancelled registration changes nothing (Changed false); an
// attended one cannot be cancelled.
func (a *API) cancel(ctx context.Context, workspaceID, eventID, id uuid.UUID, actor string) (RegistrationChange, error) {
	var ch RegistrationChange
	err := a.store.InTx(ctx, func(q *store.Queries) error {
		ch = RegistrationChange{}
		ev, err := q.LockEvent(ctx, workspaceID, eventID)
		if err != nil {
			return err
		}
		ch.Event = ev
		reg, err := q.LockRegistration(ctx, workspaceID, eventID, id)
		if err != nil {
			return err
		}
		switch reg.Status {
		case store.RegistrationCancelled:
			ch.Registration = reg
			return nil
		case store.RegistrationAttended:
			return errNotCancellable()
		}
		now := time.Now()
		if ch.Registration, err = q.CancelRegistration(ctx, workspaceID, id, actor, now); err != nil {
			return err
		}
		ch.Changed = true
		entries := []store.AuditEntry{{
			LeadID: reg.LeadID, Actor: auditActor(actor), Action: AuditRegistrationCancelled, At: now,
			Detail: map[string]any{"event_id": eventID, "registration_id": id, "was": reg.Status},
		}}
		if ch.Promoted, err = a.fillPlaces(ctx, q, ev, now); err != nil {
			return err
		}
		for _, p := range ch.Promoted {
			entries = append(entries, store.AuditEntry{
				LeadID: p.LeadID, Actor: PromotionActor, Action: AuditRegistrationPromoted, At: now,
				Detail: map[string]any{"event_id": eventID, "registration_id": p.ID, "freed_by": id},
			})
		}
		return q.InsertAuditEntries(ctx, workspaceID, entries...)
	})
	if err != nil {
		return RegistrationChange{}, err
	}
	if ch.Changed {
		a.log.InfoContext(ctx, "registration cancelled", "registration_id", id, "event_id", eventID,
			"promoted", len(ch.Promoted))
	}
	return ch, nil
}

// fillPlaces gives the event's free places to its waitlist, first come
// first served, and queues each promoted person's email. The caller holds
// the event's lock.
func (a *API) fillPlaces(ctx context.Context, q *store.Queries, ev store.Event, now time.Time) ([]store.EventRegistration, error) {
	if ev.Capacity == nil {
		return nil, nil // nobody waits for an event without a limit
	}
	held, err := q.CountRegistered(ctx, ev.WorkspaceID, ev.ID)
	if err != nil {
		return nil, err
	}
	var promoted []store.EventRegistration
	for ; held < *ev.Capacity; held++ {
		p, err := q.PromoteFirstWaitlisted(ctx, ev.WorkspaceID, ev.ID, now)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := a.mailer.QueuePromotion(ctx, q, p); err != nil {
			return nil, fmt.Errorf("queue promotion email: %w", err)
		}
		promoted = append(promoted, p)
	}
	return promoted, nil
}

// MarkAttended records that a registration's person attended the
// workspace's event, on marketing's behalf; see RecordAttendance.
func (a *API) MarkAttended(ctx context.Context, workspaceID, eventID, id uuid.UUID, actor string) (RegistrationChange, error) {
	var ch RegistrationChange
	err := a.store.InTx(ctx, func(q *store.Queries) error {
		ev, err := q.LockEvent(ctx, workspaceID, eventID)
		if err != nil {
			return err
		}
		reg, err := q.LockRegistration(ctx, workspaceID, eventID, id)
		if err != nil {
			return err
		}
		ch, err = RecordAttendance(ctx, q, ev, reg, actor, time.Now())
		return err
	})
	return ch, err
}

// RecordAttendance records, in the caller's transaction, that a
// registration's person attended: the registration becomes attended (it
// keeps its place) and the lead gets its event_attended engagement event,
// which scoring reads. It is what the console, the API and an attendee
// import all call; the caller holds the event's lock (LockEvent) and the
// registration's (LockRegistration). Recording it again changes nothing; a
// cancelled registration cannot be attended. A waitlisted person who came
// anyway attended: they are counted, past the capacity if need be, since
// they were there.
func RecordAttendance(ctx context.Context, q *store.Queries, ev store.Event, reg store.EventRegistration, actor string, at time.Time) (RegistrationChange, error) {
	ch := RegistrationChange{Event: ev, Registration: reg}
	switch reg.Status {
	case store.RegistrationAttended:
		return ch, nil
	case store.RegistrationCancelled:
		return RegistrationChange{}, errNotAttendable()
	}
	var err error
	if ch.Registration, err = q.MarkAttended(ctx, reg.WorkspaceID, reg.ID, at); err != nil {
		return RegistrationChange{}, err
	}
	ch.Changed = true
	if _, err := q.InsertEngagementEvent(ctx, store.EngagementEvent{
		WorkspaceID: reg.WorkspaceID,
		LeadID:      reg.LeadID,
		Kind:        store.EngagementEventAttended,
		SourceID:    reg.ID, // once per registration
		OccurredAt:  at,
		Detail:      map[string]any{"event_id": ev.ID, "registration_id": reg.ID},
	}); err != nil {
		return RegistrationChange{}, err
	}
	return ch, q.InsertAuditEntries(ctx, reg.WorkspaceID, store.AuditEntry{
		LeadID: reg.LeadID, Actor: auditActor(actor), Action: AuditRegistrationAttended, At: at,
		Detail: map[string]any{"event_id": ev.ID, "registration_id": reg.ID, "was": reg.Status},
	})
}

// auditActor names who changed a registration in the lead's audit trail.
func auditActor(actor string) string {
	if actor == store.RegistrationCancelledByPerson {
		return "registrant"
	}
	return actor
}
