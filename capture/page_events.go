package capture

import (
	"context"
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
	Event    store.Event
	Counts   store.EventCounts
	Sections []registrationSection
	Notice   string
	Error    string
}

// registrationSection is one status's registrations on the event page, in
// the order they came (the waitlist's order is its queue), up to
// pageAttendees, with the buttons that status has.
type registrationSection struct {
	ID, Status, Heading string
	Rows                []store.RegistrationListItem
	Total               int
	// Cancel labels the Cancel button ("" for none); Attend shows the
	// Attended button.
	Cancel string
	Attend bool
}

// eventNotices are what the event page says after a button's post; the
// redirect names one by its key, so no text from the request is shown.
var eventNotices = map[string]string{
	"cancelled":         "The registration is cancelled.",
	"promoted":          "The registration is cancelled; its place went to the first person on the waitlist, who is emailed.",
	"already_cancelled": "That registration was already cancelled: nothing changed.",
	"attended":          "The attendance is recorded.",
	"already_attended":  "That attendance was already recorded: nothing changed.",
	"not_cancellable":   "An attended registration cannot be cancelled.",
	"not_attendable":    "A cancelled registration cannot be marked attended.",
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
	if n := ec.QueryParam("notice"); strings.HasPrefix(n, "not_") {
		v.Error = eventNotices[n]
	} else {
		v.Notice = eventNotices[n]
	}
	if v.Counts, err = p.api.store.EventRegistrationCounts(ctx, pr.WorkspaceID, id); err != nil {
		return fmt.Errorf("event page: %w", err)
	}
	v.Sections = []registrationSection{
		{ID: "registered", Status: store.RegistrationRegistered, Heading: "Registered", Total: v.Counts.Registered, Cancel: "Cancel", Attend: true},
		{ID: "waitlist", Status: store.RegistrationWaitlisted, Heading: "Waitlist, in order", Total: v.Counts.Waitlisted, Cancel: "Remove", Attend: true},
		{ID: "attended", Status: store.RegistrationAttended, Heading: "Attended", Total: v.Counts.Attended},
		{ID: "cancelled", Status: store.RegistrationCancelled, Heading: "Cancelled", Total: v.Counts.Cancelled},
	}
	for i := range v.Sections {
		sec := &v.Sections[i]
		if sec.Rows, err = p.api.store.ListRegistrations(ctx, pr.WorkspaceID, id, sec.Status, uuid.Nil, pageAttendees); err != nil {
			return fmt.Errorf("event page: %w", err)
		}
	}
	return p.con.Render(ec, http.StatusOK, p.t.event, "Event "+e.Name, v)
}

// cancelRegistration is the event page's Cancel button.
func (p *Pages) cancelRegistration(ec echo.Context) error {
	return p.changeRegistration(ec, func(ctx context.Context, ws, eventID, id uuid.UUID, actor string) (string, error) {
		ch, err := p.api.CancelRegistration(ctx, ws, eventID, id, actor)
		switch {
		case err != nil:
			return "not_cancellable", err
		case !ch.Changed:
			return "already_cancelled", nil
		case len(ch.Promoted) > 0:
			return "promoted", nil
		}
		return "cancelled", nil
	})
}

// attendRegistration is the event page's Attended button.
func (p *Pages) attendRegistration(ec echo.Context) error {
	return p.changeRegistration(ec, func(ctx context.Context, ws, eventID, id uuid.UUID, actor string) (string, error) {
		ch, err := p.api.MarkAttended(ctx, ws, eventID, id, actor)
		switch {
		case err != nil:
			return "not_attendable", err
		case !ch.Changed:
			return "already_attended", nil
		}
		return "attended", nil
	})
}

// changeRegistration runs a button's change and redirects back to the event
// page with its notice (post/redirect/get). A change the registration's
// status refuses is a notice too; a registration not the event's is 404.
func (p *Pages) changeRegistration(ec echo.Context, change func(ctx context.Context, ws, eventID, id uuid.UUID, actor string) (string, error)) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	eventID, id, err := registrationPath(ec)
	if err != nil {
		return notFound(err)
	}
	notice, err := change(ec.Request().Context(), pr.WorkspaceID, eventID, id, pr.Actor())
	if _, refused := fieldErrors(err); err != nil && !refused {
		return notFound(err)
	}
	return ec.Redirect(http.StatusSeeOther, "/console/events/"+eventID.String()+"?notice="+notice+"#registrations")
}
