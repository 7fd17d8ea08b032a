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
}

func newEventCounts(r store.EventCounts) EventCounts {
	return EventCounts{
		Registered: r.Registered,
		Waitlisted: r.Waitlisted,
	}
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
