package nurture

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/store"
)

// ConfirmActor is how double opt-in signs what it does.
const ConfirmActor = "double_opt_in"

// responseContact is what a confirmation needs of a response's fields.
type responseContact struct {
	Email          string `json:"email"`
	EmailCanonical string `json:"email_canonical"`
	FirstName      string `json:"first_name"`
	LastName       string `json:"last_name"`
	Company        string `json:"company"`
}

func contactOf(resp store.Response) responseContact {
	var c responseContact
	_ = json.Unmarshal(resp.Fields, &c) // capture wrote them; blank if unreadable
	c.Email = strings.TrimSpace(c.Email)
	c.EmailCanonical = strings.TrimSpace(c.EmailCanonical)
	return c
}

// confirmationTemplate is the built-in double opt-in email.
var confirmationTemplate = store.Template{
	Name:    "double opt-in confirmation",
	Subject: "Please confirm your email address",
	TextBody: "Hello {{first_name|there}},\n\n" +
		"Please confirm that you want to hear from {{sender_name|us}}: open this link and press Confirm.\n\n" +
		"{{confirm_url}}\n\n" +
		"If you did not ask for this, ignore this email: nothing happens until you confirm.\n",
	HTMLBody: "<p>Hello {{first_name|there}},</p>\n" +
		"<p>Please confirm that you want to hear from {{sender_name|us}}.</p>\n" +
		"<p><a href=\"{{confirm_url}}\">Confirm your email address</a></p>\n" +
		"<p>If you did not ask for this, ignore this email: nothing happens until you confirm.</p>\n",
}

// RequestConfirmation queues the double opt-in email for a response waiting
// for its confirmation, in the caller's transaction (capture's processing),
// once per response: it goes to the response's address, which is not a
// lead's, with a signed link to the confirmation page. The scheduler sends
// it like any queued message. A response without an email address cannot
// be confirmed and gets nothing, and neither does one past the
// confirmation limits (ConfirmLimit): it stays awaiting its confirmation.
func (e *Engine) RequestConfirmation(ctx context.Context, q *store.Queries, resp store.Response) error {
	person := contactOf(resp)
	if person.Email == "" {
		e.log.WarnContext(ctx, "double opt-in response has no email address", "response_id", resp.ID)
		return nil
	}
	canonical := cmp.Or(person.EmailCanonical, strings.ToLower(person.Email))
	allowed, err := e.confirmAllowed(ctx, resp.WorkspaceID, resp.ID, canonical, resp.IP)
	if err != nil {
		return err
	}
	if !allowed {
		e.log.WarnContext(ctx, "confirmation email over its limit, not sent", "response_id", resp.ID)
		return nil
	}
	ws, err := q.GetWorkspace(ctx, resp.WorkspaceID)
	if err != nil {
		return err
	}
	id := store.NewID()
	r, err := Render(confirmationTemplate, MergeData{
		// Not a lead: only what the response said, for the greeting.
		Lead: store.Lead{
			WorkspaceID: resp.WorkspaceID, FirstName: person.FirstName, LastName: person.LastName,
			Email: person.Email, Company: person.Company,
		},
		Workspace: ws,
		Extra:     map[string]string{"confirm_url": ConfirmURL(e.cfg.BaseURL, e.cfg.Signer, resp.ID)},
	}, Links{BaseURL: e.cfg.BaseURL, Signer: e.cfg.Signer, MessageID: id})
	if err != nil {
		return &renderError{err}
	}
	responseID := resp.ID
	_, created, err := q.InsertMessage(ctx, store.Message{
		ID:          id,
		WorkspaceID: resp.WorkspaceID,
		ResponseID:  &responseID,
		DedupeKey:   "confirm:" + resp.ID.String(),
		Kind:        store.MessageTransactional,
		ToEmail:     person.Email,
		Subject:     r.Subject,
		HTMLBody:    r.HTML,
		TextBody:    r.Text,
		Links:       r.Links,
		MessageID:   id.String() + "@" + e.msgHost,
		CreatedAt:   e.now(),
	})
	if err != nil {
		return err
	}
	if created {
		e.log.DebugContext(ctx, "confirmation queued", "response_id", resp.ID, "message_id", id)
	}
	return nil
}

// ConfirmInfo is what the confirmation pages show.
type ConfirmInfo struct {
	Email  string
	Sender string
	// Confirmed: the response was confirmed, by this call or before.
	Confirmed bool
}

// Confirm records the confirmation of a double opt-in response: it becomes
// pending, to be processed into a lead. It reports whether this call
// changed anything; confirming again does not. ErrNotFound: no such
// response.
func (e *Engine) Confirm(ctx context.Context, responseID uuid.UUID) (ConfirmInfo, bool, error) {
	var (
		info    ConfirmInfo
		changed bool
	)
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		// The token carries only the response ID; its signature is what
		// makes the lookup by ID alone safe.
		resp, err := q.LockResponseToProcess(ctx, responseID)
		if err != nil {
			return err
		}
		if resp.Status == store.ResponseAwaitingConfirmation {
			if resp, err = q.MarkResponseConfirmed(ctx, resp.WorkspaceID, resp.ID, e.now()); err != nil {
				return err
			}
			changed = true
		}
		info, err = e.confirmInfo(ctx, q, resp)
		return err
	})
	if err != nil {
		return ConfirmInfo{}, false, err
	}
	if changed {
		e.log.InfoContext(ctx, "response confirmed", "response_id", responseID)
	}
	return info, changed, nil
}

// confirmInfo describes a response for the confirmation pages.
func (e *Engine) confirmInfo(ctx context.Context, q *store.Queries, resp store.Response) (ConfirmInfo, error) {
	ws, err := q.GetWorkspace(ctx, resp.WorkspaceID)
	if err != nil {
		return ConfirmInfo{}, err
	}
	return ConfirmInfo{
		Email:     contactOf(resp).Email,
		Sender:    cmp.Or(strings.TrimSpace(ws.SenderName), ws.Name),
		Confirmed: resp.ConfirmedAt != nil,
	}, nil
}

// confirmPage shows the confirmation button: mail scanners fetch every link
// in a message, so a GET confirms nothing.
func (t *tracking) confirmPage(c echo.Context) error {
	ctx := c.Request().Context()
	id, ok, err := t.confirmToken(c)
	if !ok {
		return err
	}
	info, err := t.eng.confirmState(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return t.page(c, http.StatusNotFound, pageNotFound, nil)
	case err != nil:
		t.eng.log.ErrorContext(ctx, "confirmation page failed", "response_id", id, "error", err)
		return t.page(c, http.StatusInternalServerError, pageError, nil)
	}
	if info.Confirmed {
		return t.page(c, http.StatusOK, pageConfirmed, info)
	}
	return t.page(c, http.StatusOK, pageConfirm, info)
}

// confirm confirms, then puts the response's processing on the queue. The
// confirmation is committed first: if the queue is away, the sweeper finds
// the pending response.
func (t *tracking) confirm(c echo.Context) error {
	ctx := c.Request().Context()
	id, ok, err := t.confirmToken(c)
	if !ok {
		return err
	}
	info, changed, err := t.eng.Confirm(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return t.page(c, http.StatusNotFound, pageNotFound, nil)
	case err != nil:
		t.eng.log.ErrorContext(ctx, "confirmation failed", "response_id", id, "error", err)
		return t.page(c, http.StatusInternalServerError, pageError, nil)
	}
	if changed && t.cfg.ProcessResponse != nil {
		if err := t.cfg.ProcessResponse(ctx, id); err != nil {
			t.eng.log.WarnContext(ctx, "enqueue confirmed response failed; the sweeper will pick it up",
				"response_id", id, "error", err)
		}
	}
	return t.page(c, http.StatusOK, pageConfirmed, info)
}

// confirmToken checks the request's confirmation token and returns the
// response it confirms; when not ok, it has answered the request. An
// expired link says so and confirms nothing: the person posts the form
// again. A link signed before links expired (Legacy) is held to the same
// lifetime, counted from the response's arrival.
func (t *tracking) confirmToken(c echo.Context) (uuid.UUID, bool, error) {
	ctx := c.Request().Context()
	tok, err := t.eng.cfg.Signer.Verify(c.Param("token"), TokenConfirm)
	switch {
	case err == nil:
		return tok.ID, true, nil
	case errors.Is(err, ErrTokenExpired) && tok.Legacy:
		resp, err := t.eng.cfg.Store.ResponseToConfirm(ctx, tok.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return uuid.Nil, false, t.page(c, http.StatusNotFound, pageNotFound, nil)
		case err != nil:
			t.eng.log.ErrorContext(ctx, "confirmation page failed", "response_id", tok.ID, "error", err)
			return uuid.Nil, false, t.page(c, http.StatusInternalServerError, pageError, nil)
		case t.eng.now().Before(resp.ReceivedAt.Add(t.eng.cfg.Signer.LinkTTL())):
			return tok.ID, true, nil
		}
		return uuid.Nil, false, t.page(c, http.StatusGone, pageConfirmExpired, nil)
	case errors.Is(err, ErrTokenExpired):
		return uuid.Nil, false, t.page(c, http.StatusGone, pageConfirmExpired, nil)
	}
	return uuid.Nil, false, t.page(c, http.StatusNotFound, pageNotFound, nil)
}

// confirmState reads a response for the confirmation page without changing
// it.
func (e *Engine) confirmState(ctx context.Context, responseID uuid.UUID) (ConfirmInfo, error) {
	resp, err := e.cfg.Store.ResponseToConfirm(ctx, responseID)
	if err != nil {
		return ConfirmInfo{}, err
	}
	return e.confirmInfo(ctx, e.cfg.Store.Queries, resp)
}
