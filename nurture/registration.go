package nurture

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/store"
)

// CancelURL is the link in a registration's emails that cancels it: a page
// that asks (GET), and the cancellation (POST).
func CancelURL(baseURL string, s *Signer, registrationID uuid.UUID) string {
	return baseURL + "/r/" + s.Sign(TokenCancel, registrationID, 0)
}

// QueuePromotion queues, in the caller's transaction (capture's
// cancellation), the email telling a person that a place opened up and
// their waitlisted registration now holds it: once per registration, so a
// cancellation retried, or a registration promoted again after going back
// to the waitlist, never sends it twice. It satisfies capture's
// RegistrationMailer. The confirmation limits do not apply: a form post
// cannot cause this email, only a cancellation can. A lead without an
// address gets nothing.
func (e *Engine) QueuePromotion(ctx context.Context, q *store.Queries, reg store.EventRegistration) error {
	lead, err := q.GetLead(ctx, reg.WorkspaceID, reg.LeadID)
	if err != nil {
		return err
	}
	if lead.Email == "" {
		return nil
	}
	ev, err := q.GetEvent(ctx, reg.WorkspaceID, reg.EventID)
	if err != nil {
		return err
	}
	ws, err := q.GetWorkspace(ctx, reg.WorkspaceID)
	if err != nil {
		return err
	}
	responseID := reg.ResponseID
	m, created, err := e.createMessage(ctx, q, draft{
		Lead:       lead,
		Workspace:  ws,
		Template:   promotionTemplate(ev.StartsAt != nil),
		Extra:      e.eventFields(lead, ws, ev, reg),
		Kind:       store.MessageTransactional,
		DedupeKey:  "event_promoted:" + reg.ID.String(),
		ResponseID: &responseID,
	}, e.now())
	if err == nil && created {
		e.log.DebugContext(ctx, "promotion email queued", "registration_id", reg.ID, "message_id", m.ID)
	}
	return err
}

// RegistrationLinkConfig is what the cancel link's pages need of capture's
// registrations; cmd wires capture's API.
type RegistrationLinkConfig struct {
	// Registration returns the registration a link names, with its event.
	Registration func(ctx context.Context, id uuid.UUID) (store.EventRegistration, store.Event, error)
	// Cancel cancels it on its person's behalf and reports whether this
	// call did (false: it already was cancelled). An attended registration
	// cannot be: an error carrying field errors.
	Cancel func(ctx context.Context, id uuid.UUID) (changed bool, err error)
}

// RegistrationLinkRoutes registers the page behind a registration email's
// cancel link. A GET only shows the page and its button, since mail
// scanners fetch every link in a message; the button's POST cancels. A link
// that does not verify, or has expired, changes nothing and says so.
//
//	GET  /r/:token  the registration and a Cancel button
//	POST /r/:token  cancel it (the freed place goes to the waitlist)
func RegistrationLinkRoutes(e *echo.Echo, eng *Engine, cfg RegistrationLinkConfig) {
	p := &registrationPages{eng: eng, cfg: cfg}
	e.GET("/r/:token", p.show, noStore)
	e.POST("/r/:token", p.cancel, noStore)
}

type registrationPages struct {
	eng *Engine
	cfg RegistrationLinkConfig
}

// registrationPage is what the pages show.
type registrationPage struct {
	Event  string
	Status string
}

// verify checks the link's token; ok false means a page was answered.
func (p *registrationPages) verify(c echo.Context) (uuid.UUID, bool, error) {
	tok, err := p.eng.cfg.Signer.Verify(c.Param("token"), TokenCancel)
	switch {
	case errors.Is(err, ErrTokenExpired):
		return uuid.Nil, false, p.page(c, http.StatusGone, "cancel_expired", nil)
	case err != nil:
		return uuid.Nil, false, p.page(c, http.StatusNotFound, "not_found", nil)
	}
	return tok.ID, true, nil
}

func (p *registrationPages) show(c echo.Context) error {
	id, ok, err := p.verify(c)
	if !ok {
		return err
	}
	ctx := c.Request().Context()
	reg, ev, err := p.cfg.Registration(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return p.page(c, http.StatusNotFound, "not_found", nil)
	case err != nil:
		p.eng.log.ErrorContext(ctx, "read registration failed", "registration_id", id, "error", err)
		return p.page(c, http.StatusInternalServerError, "error", nil)
	}
	v := registrationPage{Event: ev.Name, Status: reg.Status}
	switch reg.Status {
	case store.RegistrationCancelled:
		return p.page(c, http.StatusOK, "already_cancelled", v)
	case store.RegistrationAttended:
		return p.page(c, http.StatusOK, "attended", v)
	}
	return p.page(c, http.StatusOK, "cancel", v)
}

func (p *registrationPages) cancel(c echo.Context) error {
	id, ok, err := p.verify(c)
	if !ok {
		return err
	}
	ctx := c.Request().Context()
	changed, err := p.cfg.Cancel(ctx, id)
	var fe interface{ FieldErrors() map[string]string }
	switch {
	case errors.Is(err, store.ErrNotFound):
		return p.page(c, http.StatusNotFound, "not_found", nil)
	case errors.As(err, &fe):
		return p.page(c, http.StatusConflict, "attended", nil)
	case err != nil:
		p.eng.log.ErrorContext(ctx, "cancel registration failed", "registration_id", id, "error", err)
		return p.page(c, http.StatusInternalServerError, "error", nil)
	}
	_, ev, err := p.cfg.Registration(ctx, id)
	if err != nil {
		p.eng.log.WarnContext(ctx, "read cancelled registration failed", "registration_id", id, "error", err)
	}
	v := registrationPage{Event: ev.Name, Status: store.RegistrationCancelled}
	if !changed {
		return p.page(c, http.StatusOK, "already_cancelled", v)
	}
	return p.page(c, http.StatusOK, "cancelled", v)
}

var registrationPagesHTML = template.Must(template.Must(trackingPages.Clone()).Parse(`
{{- define "cancel_expired"}}{{template "top" "Cancellation link expired"}}
<p>This link has expired, so nothing was cancelled. To cancel your registration, reply to the email it came in.</p>
{{template "bottom"}}{{end}}
{{- define "cancel"}}{{template "top" "Cancel your registration"}}
<p>{{if eq .Status "waitlisted"}}Leave the waitlist of{{else}}Give up your place at{{end}} <strong>{{.Event}}</strong>?{{if ne .Status "waitlisted"}} It goes to the next person on the waitlist.{{end}}</p>
<form method="post"><button type="submit" id="cancel">Cancel my registration</button></form>
{{template "bottom"}}{{end}}
{{- define "cancelled"}}{{template "top" "Your registration is cancelled"}}
<p>Your registration{{with .Event}} for <strong>{{.}}</strong>{{end}} is cancelled. Thank you for letting us know.</p>
{{template "bottom"}}{{end}}
{{- define "already_cancelled"}}{{template "top" "Already cancelled"}}
<p>Your registration{{with .Event}} for <strong>{{.}}</strong>{{end}} was already cancelled: nothing changed.</p>
{{template "bottom"}}{{end}}
{{- define "attended"}}{{template "top" "You attended"}}
<p>Your attendance{{with .Event}} at <strong>{{.}}</strong>{{end}} is recorded, so there is nothing to cancel.</p>
{{template "bottom"}}{{end}}
`))

// page answers one of the pages, as the tracking pages are answered: here,
// not by the shared error handler, which would log the path (the token).
func (p *registrationPages) page(c echo.Context, status int, name string, data any) error {
	var b strings.Builder
	if err := registrationPagesHTML.ExecuteTemplate(&b, name, data); err != nil {
		p.eng.log.ErrorContext(c.Request().Context(), "render page failed", "page", name, "error", err)
		return c.String(http.StatusInternalServerError, "internal error")
	}
	c.Response().Header().Set("Content-Security-Policy", pageCSP)
	return c.HTML(status, b.String())
}
