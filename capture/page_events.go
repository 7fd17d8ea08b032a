package capture

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// pageAttendees bounds each list (registered, waitlist) of an event page.
const pageAttendees = 200

// eventForm is the new-event form as typed.
type eventForm struct {
	Name, StartsAt, Capacity string
	Errors                   map[string]string
}

type eventsView struct {
	Events     []store.Event
	NextCursor string
	New        eventForm
	Error      string
}

func (p *Pages) eventsPage(ec echo.Context) error {
	return p.renderEvents(ec, http.StatusOK, eventForm{})
}

func (p *Pages) renderEvents(ec echo.Context, status int, f eventForm) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(ec)
	if err != nil {
		return err
	}
	es, err := p.api.store.ListEvents(ec.Request().Context(), pr.WorkspaceID, page)
	if err != nil {
		return fmt.Errorf("events page: %w", err)
	}
	v := eventsView{New: f}
	v.Events, v.NextCursor = pageOf(es, limit, func(e store.Event) uuid.UUID { return e.ID })
	if len(f.Errors) > 0 {
		v.Error = "The event was not created: see the fields marked below."
	}
	return p.con.Render(ec, status, p.t.events, "Events", v)
}

// pageTimeLayout is how an <input type="datetime-local"> posts a time; the
// console reads it as UTC, and says so beside the field.
const pageTimeLayout = "2006-01-02T15:04"

func (p *Pages) createEvent(ec echo.Context) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	f := eventForm{Name: ec.FormValue("name"), StartsAt: strings.TrimSpace(ec.FormValue("starts_at")),
		Capacity: strings.TrimSpace(ec.FormValue("capacity")), Errors: map[string]string{}}
	b := apiEvent{Name: f.Name}
	if f.StartsAt != "" {
		t, err := time.ParseInLocation(pageTimeLayout, f.StartsAt, time.UTC)
		if err != nil {
			f.Errors["starts_at"] = "Choose a date and time."
		} else {
			s := t.Format(time.RFC3339)
			b.StartsAt = &s
		}
	}
	if f.Capacity != "" {
		n, err := strconv.Atoi(f.Capacity)
		if err != nil {
			f.Errors["capacity"] = "must be a whole number, or blank for no limit"
		}
		b.Capacity = &n
	}
	if len(f.Errors) > 0 {
		return p.renderEvents(ec, http.StatusUnprocessableEntity, f)
	}
	e, err := p.api.addEvent(ec.Request().Context(), pr.WorkspaceID, b)
	if errs, ok := fieldErrors(err); ok {
		f.Errors = errs
		return p.renderEvents(ec, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return fmt.Errorf("create event: %w", err)
	}
	return ec.Redirect(http.StatusSeeOther, "/console/events/"+e.ID.String())
}

type eventView struct {
	Event                store.Event
	Counts               store.EventCounts
	Registered, Waitlist []store.EventAttendee
}

func (p *Pages) eventPage(ec echo.Context) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(ec)
	if err != nil {
		return notFound(err)
	}
	ctx := ec.Request().Context()
	e, err := p.api.store.GetEvent(ctx, pr.WorkspaceID, id)
	if err != nil {
		return notFound(err)
	}
	v := eventView{Event: e}
	if v.Counts, err = p.api.store.EventRegistrationCounts(ctx, pr.WorkspaceID, id); err != nil {
		return fmt.Errorf("event page: %w", err)
	}
	if v.Registered, err = p.api.store.EventAttendees(ctx, pr.WorkspaceID, id, store.RegistrationRegistered, pageAttendees); err != nil {
		return fmt.Errorf("event page: %w", err)
	}
	if v.Waitlist, err = p.api.store.EventAttendees(ctx, pr.WorkspaceID, id, store.RegistrationWaitlisted, pageAttendees); err != nil {
		return fmt.Errorf("event page: %w", err)
	}
	return p.con.Render(ec, http.StatusOK, p.t.event, "Event "+e.Name, v)
}
