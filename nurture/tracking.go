package nurture

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/store"
)

// TrackingConfig is what the public routes need beyond the engine.
type TrackingConfig struct {
	// ProcessResponse puts a confirmed double opt-in response's processing
	// on the queue; cmd wires it to capture.EnqueueProcess. When it fails,
	// or is nil, the response sweeper picks the response up instead: the
	// confirmation is committed first.
	ProcessResponse func(ctx context.Context, responseID uuid.UUID) error
}

// TrackingRoutes registers the public routes the links in leadflow's emails
// point at. None needs a login: each token is signed for one message (or
// response) and one purpose, and a token that does not verify changes
// nothing. A GET never changes a subscription, since mail scanners fetch
// every link in a message; it only records opens and clicks.
//
//	GET  /t/o/:token  open pixel: a 1x1 GIF, whatever the token
//	GET  /t/c/:token  click: 302 to the message's stored link, if the token
//	                  was signed for that link and has not expired
//	GET  /u/:token    unsubscribe page, with a button
//	POST /u/:token    unsubscribe (RFC 8058 one-click, and the page's button)
//	GET  /c/:token    double opt-in confirmation page, with a button
//	POST /c/:token    confirm: the response goes on to make the lead
func TrackingRoutes(e *echo.Echo, eng *Engine, cfg TrackingConfig) {
	t := &tracking{eng: eng, cfg: cfg}
	e.GET("/t/o/:token", t.open, noStore)
	e.GET("/t/c/:token", t.click, noStore)
	e.GET("/u/:token", t.unsubscribePage, noStore)
	e.POST("/u/:token", t.unsubscribe, noStore)
	e.GET("/c/:token", t.confirmPage, noStore)
	e.POST("/c/:token", t.confirm, noStore)
}

type tracking struct {
	eng *Engine
	cfg TrackingConfig
}

// noStore keeps every answer out of caches: each is about one recipient.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set(echo.HeaderCacheControl, "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set(echo.HeaderXContentTypeOptions, "nosniff")
		return next(c)
	}
}

// pixel is a transparent 1x1 GIF.
var pixel = []byte{
	'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff,
	'!', 0xf9, 4, 1, 0, 0, 0, 0, ',', 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 'D', 1, 0, ';',
}

// open answers the pixel whatever happens, so a mail client never shows a
// broken image; only a verified token records anything.
func (t *tracking) open(c echo.Context) error {
	ctx := c.Request().Context()
	if tok, err := t.eng.cfg.Signer.Verify(c.Param("token"), TokenOpen); err == nil {
		if err := t.eng.RecordOpen(ctx, tok.ID); err != nil {
			t.eng.log.WarnContext(ctx, "record open failed", "message_id", tok.ID, "error", err)
		}
	}
	return c.Blob(http.StatusOK, "image/gif", pixel)
}

// click redirects to the link stored for the message, and only when the
// token was signed for that very link, never to a URL taken from the
// request: no open redirect. An expired link records nothing and redirects
// nowhere: it answers a page saying so.
//
// A click token signed before tokens expired (Legacy) was signed for no
// link, and the link stored with it may be one a lead typed into a form; it
// still leads to a link on this server (an old confirmation email's
// button), and to nothing else.
func (t *tracking) click(c echo.Context) error {
	ctx := c.Request().Context()
	tok, err := t.eng.cfg.Signer.Verify(c.Param("token"), TokenClick)
	switch {
	case errors.Is(err, ErrTokenExpired) && tok.Legacy:
		link, err := t.eng.cfg.Store.MessageLink(ctx, tok.ID, int(tok.N))
		if err == nil && strings.HasPrefix(link, t.eng.cfg.BaseURL+"/") {
			return c.Redirect(http.StatusFound, link)
		}
		return t.page(c, http.StatusGone, pageExpired, nil)
	case errors.Is(err, ErrTokenExpired):
		return t.page(c, http.StatusGone, pageExpired, nil)
	case err != nil:
		return t.page(c, http.StatusNotFound, pageNotFound, nil)
	}
	link, err := t.eng.RecordClick(ctx, tok.ID, int(tok.N), tok.Leads)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return t.page(c, http.StatusNotFound, pageNotFound, nil)
	case err != nil:
		t.eng.log.ErrorContext(ctx, "record click failed", "message_id", tok.ID, "error", err)
		return t.page(c, http.StatusInternalServerError, pageError, nil)
	}
	return c.Redirect(http.StatusFound, link)
}

// unsubscribePage asks before unsubscribing: a GET must not change anything.
func (t *tracking) unsubscribePage(c echo.Context) error {
	ctx := c.Request().Context()
	tok, err := t.eng.cfg.Signer.Verify(c.Param("token"), TokenUnsubscribe)
	if errors.Is(err, ErrTokenExpired) {
		return t.page(c, http.StatusGone, pageExpired, nil)
	}
	if err != nil {
		return t.page(c, http.StatusNotFound, pageNotFound, nil)
	}
	id := tok.ID
	info, err := t.eng.unsubscribeInfo(ctx, t.eng.cfg.Store.Queries, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return t.page(c, http.StatusNotFound, pageNotFound, nil)
	case err != nil:
		t.eng.log.ErrorContext(ctx, "unsubscribe page failed", "message_id", id, "error", err)
		return t.page(c, http.StatusInternalServerError, pageError, nil)
	}
	if info.Suppressed {
		return t.page(c, http.StatusOK, pageUnsubscribed, info)
	}
	return t.page(c, http.StatusOK, pageUnsubscribe, info)
}

// unsubscribe is RFC 8058's one-click POST (body List-Unsubscribe=One-Click,
// sent by mail clients without the person seeing a page) and the page's
// button alike; doing it again changes nothing.
func (t *tracking) unsubscribe(c echo.Context) error {
	ctx := c.Request().Context()
	tok, err := t.eng.cfg.Signer.Verify(c.Param("token"), TokenUnsubscribe)
	if errors.Is(err, ErrTokenExpired) {
		return t.page(c, http.StatusGone, pageExpired, nil)
	}
	if err != nil {
		return t.page(c, http.StatusNotFound, pageNotFound, nil)
	}
	id := tok.ID
	info, err := t.eng.Unsubscribe(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return t.page(c, http.StatusNotFound, pageNotFound, nil)
	case err != nil:
		t.eng.log.ErrorContext(ctx, "unsubscribe failed", "message_id", id, "error", err)
		return t.page(c, http.StatusInternalServerError, pageError, nil)
	}
	return t.page(c, http.StatusOK, pageUnsubscribed, info)
}

// RecordOpen records a message's first open and the lead's email_opened
// engagement. Later opens change nothing.
func (e *Engine) RecordOpen(ctx context.Context, messageID uuid.UUID) error {
	return e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		m, err := q.MarkMessageOpened(ctx, messageID, e.now())
		if errors.Is(err, store.ErrNotFound) {
			return nil // opened before, or no such message
		}
		if err != nil {
			return err
		}
		return e.recordEngagement(ctx, q, m, store.EngagementEmailOpened, m.ID, nil)
	})
}

// RecordClick records a click on a message's link number index and returns
// the link's URL: the message's clicked_at (and opened_at: a click implies an
// open) and the lead's email_clicked engagement, once per link. signed
// tells whether the click's token was made for the stored link; nil trusts
// the stored link. ErrNotFound means no such message or link, a stored link
// the token was not signed for, or one that is not a web URL.
func (e *Engine) RecordClick(ctx context.Context, messageID uuid.UUID, index int, signed func(link string) bool) (string, error) {
	var link string
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		m, err := q.MarkMessageClicked(ctx, messageID, index, e.now())
		if err != nil {
			return err
		}
		if signed != nil && !signed(m.Link) {
			// Rendering signs each tracked link into its click token; a
			// stored link the token does not name was never one the
			// template wrote.
			return fmt.Errorf("message %s link %d is not the signed one: %w", messageID, index, store.ErrNotFound)
		}
		if !webURL(m.Link) {
			// Only what rendering stored can be here; refusing anything but
			// a web URL keeps a bad template from turning into a
			// javascript: or data: redirect.
			return fmt.Errorf("message %s link %d is not a web URL: %w", messageID, index, store.ErrNotFound)
		}
		link = m.Link
		if err := e.recordEngagement(ctx, q, m, store.EngagementEmailOpened, m.ID, nil); err != nil {
			return err
		}
		// One event per link of a message: the source is the message and
		// the link's index.
		source := uuid.NewSHA1(m.ID, fmt.Appendf(nil, "link:%d", index))
		return e.recordEngagement(ctx, q, m, store.EngagementEmailClicked, source,
			map[string]any{"link_index": index, "url": m.Link})
	})
	if err != nil {
		return "", err
	}
	return link, nil
}

func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// recordEngagement records an engagement event from a message on the lead
// it went to, or the lead that one was merged into since. A message without
// a lead (a double opt-in confirmation) records nothing.
func (e *Engine) recordEngagement(ctx context.Context, q *store.Queries, m store.TrackedMessage, kind string, source uuid.UUID, detail map[string]any) error {
	if m.LeadID == nil {
		return nil
	}
	lead, err := q.LiveLead(ctx, m.WorkspaceID, *m.LeadID)
	if err != nil {
		return err
	}
	if detail == nil {
		detail = map[string]any{}
	}
	detail["message_id"] = m.ID
	if m.EnrollmentID != nil {
		detail["enrollment_id"] = *m.EnrollmentID
		detail["step_key"] = m.StepKey
	}
	_, err = q.InsertEngagementEvent(ctx, store.EngagementEvent{
		WorkspaceID: m.WorkspaceID,
		LeadID:      lead.ID,
		Kind:        kind,
		SourceID:    source,
		OccurredAt:  e.now(),
		Detail:      detail,
	})
	return err
}

// UnsubscribeInfo is what the unsubscribe pages show.
type UnsubscribeInfo struct {
	Email  string
	Sender string
	// Suppressed: the address gets no more marketing email.
	Suppressed bool
}

// Unsubscribe suppresses the address a message went to, and the lead's
// address if it has changed since (a person who unsubscribes wants no more
// email, whichever address it would go to); suppressing exits every active
// enrollment of the lead. It records the lead's unsubscribed engagement.
// Unsubscribing again changes nothing.
func (e *Engine) Unsubscribe(ctx context.Context, messageID uuid.UUID) (UnsubscribeInfo, error) {
	var info UnsubscribeInfo
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		m, err := q.TrackedMessageByID(ctx, messageID)
		if err != nil {
			return err
		}
		canonical, err := e.messageAddress(ctx, q, m)
		if err != nil {
			return err
		}
		addresses := []string{canonical}
		if m.LeadID != nil {
			lead, err := q.LiveLead(ctx, m.WorkspaceID, *m.LeadID)
			if err != nil {
				return err
			}
			if lead.EmailCanonical != "" && lead.EmailCanonical != canonical {
				addresses = append(addresses, lead.EmailCanonical)
			}
		}
		for _, a := range addresses {
			if err := e.Suppress(ctx, q, m.WorkspaceID, a, store.SuppressUnsubscribed, "unsubscribe_link:"+m.ID.String()); err != nil {
				return err
			}
		}
		if err := e.recordEngagement(ctx, q, m, store.EngagementUnsubscribed, m.ID, nil); err != nil {
			return err
		}
		info, err = e.unsubscribeInfo(ctx, q, messageID)
		return err
	})
	if err != nil {
		return UnsubscribeInfo{}, err
	}
	e.log.InfoContext(ctx, "unsubscribed", "message_id", messageID)
	return info, nil
}

// unsubscribeInfo describes a message's address and sender for the pages.
func (e *Engine) unsubscribeInfo(ctx context.Context, q *store.Queries, messageID uuid.UUID) (UnsubscribeInfo, error) {
	m, err := q.TrackedMessageByID(ctx, messageID)
	if err != nil {
		return UnsubscribeInfo{}, err
	}
	ws, err := q.GetWorkspace(ctx, m.WorkspaceID)
	if err != nil {
		return UnsubscribeInfo{}, err
	}
	canonical, err := e.messageAddress(ctx, q, m)
	if err != nil {
		return UnsubscribeInfo{}, err
	}
	suppressed, err := q.IsSuppressed(ctx, m.WorkspaceID, canonical)
	if err != nil {
		return UnsubscribeInfo{}, err
	}
	return UnsubscribeInfo{
		Email:      m.ToEmail,
		Sender:     cmp.Or(strings.TrimSpace(ws.SenderName), ws.Name),
		Suppressed: suppressed,
	}, nil
}

// The public pages.
const (
	pageNotFound = iota
	pageError
	pageUnsubscribe
	pageUnsubscribed
	pageConfirm
	pageConfirmed
	pageExpired
	pageConfirmExpired
)

var trackingPages = template.Must(template.New("pages").Parse(`
{{- define "top"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32em;margin:4em auto;padding:0 1em;color:#222}
button{font:inherit;padding:.5em 1.2em;border:0;border-radius:4px;background:#1f5fbf;color:#fff;cursor:pointer}</style>
</head><body><h1>{{.}}</h1>
{{- end}}
{{- define "bottom"}}</body></html>
{{end}}
{{- define "not_found"}}{{template "top" "Link not valid"}}
<p>This link is not valid. If you copied it from an email, check that you copied all of it.</p>
{{template "bottom"}}{{end}}
{{- define "expired"}}{{template "top" "Link expired"}}
<p>This link has expired. Links in emails work for a limited time; the email's other contents are still valid.</p>
{{template "bottom"}}{{end}}
{{- define "confirm_expired"}}{{template "top" "Confirmation link expired"}}
<p>This confirmation link has expired, so nothing was confirmed. To hear from us, fill in the form again and use the link in the new email.</p>
{{template "bottom"}}{{end}}
{{- define "error"}}{{template "top" "Something went wrong"}}
<p>We could not do this just now. Please try again in a few minutes.</p>
{{template "bottom"}}{{end}}
{{- define "unsubscribe"}}{{template "top" "Unsubscribe"}}
<p>Stop marketing email from <strong>{{.Sender}}</strong> to <strong>{{.Email}}</strong>?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>
{{template "bottom"}}{{end}}
{{- define "unsubscribed"}}{{template "top" "You are unsubscribed"}}
<p><strong>{{.Email}}</strong> will get no more marketing email from <strong>{{.Sender}}</strong>.</p>
{{template "bottom"}}{{end}}
{{- define "confirm"}}{{template "top" "Confirm your email address"}}
<p>Confirm that <strong>{{.Email}}</strong> may hear from <strong>{{.Sender}}</strong>.</p>
<form method="post"><button type="submit">Confirm</button></form>
{{template "bottom"}}{{end}}
{{- define "confirmed"}}{{template "top" "Thank you"}}
<p>{{if .Email}}<strong>{{.Email}}</strong> is confirmed{{else}}Your address is confirmed{{end}}{{if .Sender}}: you will hear from <strong>{{.Sender}}</strong>{{end}}.</p>
{{template "bottom"}}{{end}}
`))

// pageCSP lets the pages do nothing but show themselves and post their one
// form back; frame-ancestors stops another site framing a button to trick a
// click.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// page answers one of the public pages. Errors are answered here, not by
// the shared error handler, since that one logs the request path: the
// token.
func (t *tracking) page(c echo.Context, status, which int, data any) error {
	name := map[int]string{
		pageNotFound: "not_found", pageError: "error",
		pageUnsubscribe: "unsubscribe", pageUnsubscribed: "unsubscribed",
		pageConfirm: "confirm", pageConfirmed: "confirmed",
		pageExpired: "expired", pageConfirmExpired: "confirm_expired",
	}[which]
	var b strings.Builder
	if err := trackingPages.ExecuteTemplate(&b, name, data); err != nil {
		t.eng.log.ErrorContext(c.Request().Context(), "render page failed", "page", name, "error", err)
		return c.String(http.StatusInternalServerError, "internal error")
	}
	c.Response().Header().Set("Content-Security-Policy", pageCSP)
	return c.HTML(status, b.String())
}
