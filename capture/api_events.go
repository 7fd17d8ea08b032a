package capture

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// apiEvent is an event as the API reads it. StartsAt is a string so that a
// malformed time is reported against its field.
type apiEvent struct {
	Name     string  `json:"name"`
	StartsAt *string `json:"starts_at"`
	Capacity *int    `json:"capacity"`
}

// Event is how the API shows a store.Event.
type Event struct {
	ID        uuid.UUID  `json:"id"`
	Name      string     `json:"name"`
	StartsAt  *time.Time `json:"starts_at"`
	Capacity  *int       `json:"capacity"`
	CreatedAt time.Time  `json:"created_at"`
}

func newEvent(r store.Event) Event {
	return Event{
		ID:        r.ID,
		Name:      r.Name,
		StartsAt:  r.StartsAt,
		Capacity:  r.Capacity,
		CreatedAt: r.CreatedAt,
	}
}

// EventCounts is how the API shows a store.EventCounts.
type EventCounts struct {
	Registered int `json:"registered"`
	Waitlisted int `json:"waitlisted"`
	Cancelled  int `json:"cancelled"`
	Attended   int `json:"attended"`
}

func newEventCounts(r store.EventCounts) EventCounts {
	return EventCounts{
		Registered: r.Registered,
		Waitlisted: r.Waitlisted,
		Cancelled:  r.Cancelled,
		Attended:   r.Attended,
	}
}

// Registration is how the API shows an event registration.
type Registration struct {
	ID         uuid.UUID `json:"id"`
	EventID    uuid.UUID `json:"event_id"`
	LeadID     uuid.UUID `json:"lead_id"`
	ResponseID uuid.UUID `json:"response_id"`
	// Status is registered, waitlisted, cancelled or attended.
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	CancelledAt *time.Time `json:"cancelled_at"`
	// CancelledBy is "person" (the link in their email) or the API key or
	// console user who cancelled.
	CancelledBy string     `json:"cancelled_by,omitempty"`
	PromotedAt  *time.Time `json:"promoted_at"`
	AttendedAt  *time.Time `json:"attended_at"`
	// The lead's name and address, in lists.
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Email     string `json:"email,omitempty"`
	Company   string `json:"company,omitempty"`
}

func newRegistration(r store.EventRegistration) Registration {
	return Registration{
		ID:          r.ID,
		EventID:     r.EventID,
		LeadID:      r.LeadID,
		ResponseID:  r.ResponseID,
		Status:      r.Status,
		CreatedAt:   r.CreatedAt,
		CancelledAt: r.CancelledAt,
		CancelledBy: r.CancelledBy,
		PromotedAt:  r.PromotedAt,
		AttendedAt:  r.AttendedAt,
	}
}

func newRegistrationItem(r store.RegistrationListItem) Registration {
	out := newRegistration(r.EventRegistration)
	out.FirstName, out.LastName, out.Email, out.Company = r.FirstName, r.LastName, r.Email, r.Company
	return out
}

// RegistrationChangeView is how the API answers a cancellation or an
// attendance: the registration afterwards, whether this call changed it
// (false: it already was cancelled, or attended), and who got a place.
type RegistrationChangeView struct {
	Registration Registration   `json:"registration"`
	Changed      bool           `json:"changed"`
	Promoted     []Registration `json:"promoted"`
}

func newRegistrationChange(ch RegistrationChange) RegistrationChangeView {
	v := RegistrationChangeView{Registration: newRegistration(ch.Registration), Changed: ch.Changed, Promoted: []Registration{}}
	for _, p := range ch.Promoted {
		v.Promoted = append(v.Promoted, newRegistration(p))
	}
	return v
}

// registrationStatuses are the statuses a list of registrations filters by.
var registrationStatuses = []string{store.RegistrationRegistered, store.RegistrationWaitlisted,
	store.RegistrationCancelled, store.RegistrationAttended}

// listRegistrations pages through an event's registrations in the order
// they came (a waitlist's order is its queue), optionally of one status.
func (a *API) listRegistrations(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	status, err := httpapi.QueryOneOf(c, "status", registrationStatuses...)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := a.store.GetEvent(ctx, p.WorkspaceID, id); err != nil {
		return err
	}
	rs, err := a.store.ListRegistrations(ctx, p.WorkspaceID, id, status, page.Before, page.Limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(httpapi.Map(rs, newRegistrationItem), limit, func(r Registration) uuid.UUID { return r.ID }))
}

// registrationPath reads an event's and a registration's IDs from the path.
func registrationPath(c echo.Context) (eventID, id uuid.UUID, err error) {
	if eventID, err = httpapi.PathID(c); err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	id, err = store.ParseID(c.Param("rid"))
	return eventID, id, err
}

// cancelRegistration cancels a registration on marketing's behalf; a
// registration already cancelled answers 200 with changed false.
func (a *API) cancelRegistration(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	eventID, id, err := registrationPath(c)
	if err != nil {
		return err
	}
	ch, err := a.CancelRegistration(c.Request().Context(), p.WorkspaceID, eventID, id, p.Actor())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newRegistrationChange(ch))
}

// attendRegistration records that a registration's person attended.
func (a *API) attendRegistration(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	eventID, id, err := registrationPath(c)
	if err != nil {
		return err
	}
	ch, err := a.MarkAttended(c.Request().Context(), p.WorkspaceID, eventID, id, p.Actor())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newRegistrationChange(ch))
}

// apiEventView is an event with its registration counts.
type apiEventView struct {
	Event
	EventCounts
}

func (a *API) createEvent(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	var b apiEvent
	if err := httpapi.Decode(c, apiMaxBody, &b); err != nil {
		return err
	}
	e, err := a.addEvent(c.Request().Context(), p.WorkspaceID, b)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, apiEventView{Event: newEvent(e)})
}

func (a *API) listEvents(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	es, err := a.store.ListEvents(c.Request().Context(), p.WorkspaceID, page)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(httpapi.Map(es, newEvent), limit, func(e Event) uuid.UUID { return e.ID }))
}

func (a *API) getEvent(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	e, err := a.store.GetEvent(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	counts, err := a.store.EventRegistrationCounts(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiEventView{Event: newEvent(e), EventCounts: newEventCounts(counts)})
}

// addEvent checks b and stores it as a new event of the workspace: what the
// API and the console both create events with.
func (a *API) addEvent(ctx context.Context, workspaceID uuid.UUID, b apiEvent) (store.Event, error) {
	e := store.Event{WorkspaceID: workspaceID, Name: strings.TrimSpace(b.Name), Capacity: b.Capacity}
	bad := map[string]string{}
	switch {
	case e.Name == "":
		bad["name"] = "is required"
	case len(e.Name) > apiMaxTextLen:
		bad["name"] = fmt.Sprintf("must be at most %d characters", apiMaxTextLen)
	}
	if b.StartsAt != nil && *b.StartsAt != "" {
		t, err := time.Parse(time.RFC3339, *b.StartsAt)
		if err != nil {
			bad["starts_at"] = "must be an RFC 3339 time such as 2030-05-01T18:00:00Z"
		}
		e.StartsAt = &t
	}
	if b.Capacity != nil && *b.Capacity <= 0 {
		bad["capacity"] = "must be more than 0, or null for no limit"
	}
	if len(bad) > 0 {
		return store.Event{}, &ValidationError{Fields: bad}
	}
	return a.store.InsertEvent(ctx, e)
}
