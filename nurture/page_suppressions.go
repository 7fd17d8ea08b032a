package nurture

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// maxLookupBounces bounds the bounces shown for one address.
const maxLookupBounces = 50

// suppressionForm is the "add a suppression" form as posted.
type suppressionForm struct {
	Email, Type, Detail string
	Errors              map[string]string
}

// removalForm is a row's "remove" form as posted: the address and why.
type removalForm struct {
	Email, Reason string
	Errors        map[string]string
}

type suppressionsView struct {
	Suppressions []store.Suppression
	// After is the page's cursor, Next the next page's.
	After, Next string
	// Lookup is the address looked up, with its suppression, bounces and
	// the suppressions of it taken back.
	Lookup     string
	Suppressed *store.Suppression
	Bounces    []store.Bounce
	Removals   []store.SuppressionRemoval
	Add        suppressionForm
	// Remove is the remove form posted with errors, shown again on its row.
	Remove removalForm
	Notice string
}

// RemoveFor is the remove form to show on the row of email: the one posted
// with errors, or an empty one.
func (v suppressionsView) RemoveFor(email string) removalForm {
	if v.Remove.Email == email {
		return v.Remove
	}
	return removalForm{Email: email}
}

// RemoveURL is where a row's remove form posts: back to this page of the
// list, should the form come back with an error.
func (v suppressionsView) RemoveURL() string {
	if v.After == "" {
		return "/console/suppressions/remove"
	}
	return "/console/suppressions/remove?" + url.Values{"after": {v.After}}.Encode()
}

// NextURL links to the next page of the list.
func (v suppressionsView) NextURL() string {
	return "/console/suppressions?" + url.Values{"after": {v.Next}}.Encode()
}

func (p *Pages) listSuppressions(c echo.Context) error {
	v := suppressionsView{Add: suppressionForm{Type: store.BounceHard}}
	if email := c.QueryParam("added"); email != "" {
		v.Notice = email + " is suppressed: no sequence emails it again."
	}
	if email := c.QueryParam("removed"); email != "" {
		v.Notice = email + " is no longer suppressed: sequences may email it again."
	}
	return p.renderSuppressions(c, http.StatusOK, v)
}

func (p *Pages) renderSuppressions(c echo.Context, status int, v suppressionsView) error {
	pr, err := principal(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v.After = c.QueryParam("after")
	ss, err := p.api.store.ListSuppressions(ctx, pr.WorkspaceID, v.After, store.DefaultPageLimit+1)
	if err != nil {
		return fmt.Errorf("suppressions page: %w", err)
	}
	if len(ss) > store.DefaultPageLimit {
		ss = ss[:store.DefaultPageLimit]
		v.Next = ss[len(ss)-1].EmailCanonical
	}
	v.Suppressions = ss
	if v.Lookup = strings.TrimSpace(c.QueryParam("email")); v.Lookup != "" {
		canonical, err := p.eng.canonicalEmail(v.Lookup)
		if err != nil {
			canonical = strings.ToLower(v.Lookup)
		}
		s, err := p.api.store.GetSuppression(ctx, pr.WorkspaceID, canonical)
		switch {
		case err == nil:
			v.Suppressed = &s
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("suppressions page: %w", err)
		}
		if v.Bounces, err = p.api.store.BouncesForEmail(ctx, pr.WorkspaceID, canonical, maxLookupBounces); err != nil {
			return fmt.Errorf("suppressions page: %w", err)
		}
		if v.Removals, err = p.api.store.SuppressionRemovals(ctx, pr.WorkspaceID, canonical, maxLookupBounces); err != nil {
			return fmt.Errorf("suppressions page: %w", err)
		}
	}
	return p.con.Render(c, status, p.pages.suppressions, "Bounces and suppressions", v)
}

// addSuppression records a hard bounce or a complaint for an address, as
// the API's POST /bounces does: the address is suppressed and its leads
// leave their sequences.
func (p *Pages) addSuppression(c echo.Context) error {
	pr, err := principal(c)
	if err != nil {
		return err
	}
	f := suppressionForm{Email: strings.TrimSpace(c.FormValue("email")), Type: c.FormValue("type"), Detail: c.FormValue("detail")}
	if f.Type != store.BounceHard && f.Type != store.BounceComplaint {
		f.Errors = map[string]string{"type": "choose a hard bounce or a complaint"}
		return p.renderSuppressions(c, http.StatusUnprocessableEntity, suppressionsView{Add: f})
	}
	if f.Email == "" {
		// The API takes a message ID instead; the form asks for the address.
		f.Errors = map[string]string{"email": "is required"}
		return p.renderSuppressions(c, http.StatusUnprocessableEntity, suppressionsView{Add: f})
	}
	if _, err := p.eng.RecordBounce(c.Request().Context(), pr.WorkspaceID, BounceReport{Email: f.Email, Type: f.Type, Detail: f.Detail}, pr.Actor()); err != nil {
		if f.Errors = fieldErrors(err); f.Errors == nil {
			return fmt.Errorf("add suppression: %w", err)
		}
		return p.renderSuppressions(c, http.StatusUnprocessableEntity, suppressionsView{Add: f})
	}
	return c.Redirect(http.StatusSeeOther, "/console/suppressions?"+url.Values{"added": {f.Email}, "email": {f.Email}}.Encode())
}

// removeSuppression takes a listed address off the list, as the API's
// DELETE /suppressions/{email} does: a reason is required, and the removal
// is recorded with who made it.
func (p *Pages) removeSuppression(c echo.Context) error {
	pr, err := principal(c)
	if err != nil {
		return err
	}
	f := removalForm{Email: strings.TrimSpace(c.FormValue("email")), Reason: c.FormValue("reason")}
	_, err = p.eng.RemoveSuppression(c.Request().Context(), pr.WorkspaceID, f.Email, f.Reason, pr.Actor())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return p.con.RenderError(c, http.StatusNotFound, f.Email+" is not suppressed: nothing was removed.")
	case err != nil:
		if f.Errors = fieldErrors(err); f.Errors == nil {
			return fmt.Errorf("remove suppression: %w", err)
		}
		return p.renderSuppressions(c, http.StatusUnprocessableEntity, suppressionsView{Remove: f})
	}
	return c.Redirect(http.StatusSeeOther, "/console/suppressions?"+url.Values{"removed": {f.Email}, "email": {f.Email}}.Encode())
}

// failedView is the failed enrollments and messages, each list paged on
// its own cursor.
type failedView struct {
	Enrollments []store.FailedEnrollment
	Messages    []store.Message
	NextE       string
	NextM       string
	Notice      string
	Error       string
}

// NextEnrollmentsURL and NextMessagesURL page one list and keep the other.
func (v failedView) NextEnrollmentsURL() string {
	return "/console/nurture/failed?" + url.Values{"ecursor": {v.NextE}}.Encode()
}

func (v failedView) NextMessagesURL() string {
	return "/console/nurture/failed?" + url.Values{"mcursor": {v.NextM}}.Encode()
}

func (p *Pages) listFailed(c echo.Context) error {
	v := failedView{}
	switch {
	case c.QueryParam("retried") != "":
		v.Notice = "Put back to work: it runs again now."
	case c.QueryParam("not_failed") != "":
		v.Error = "That one is not failed any more: nothing was retried."
	}
	return p.renderFailed(c, http.StatusOK, v)
}

func (p *Pages) renderFailed(c echo.Context, status int, v failedView) error {
	pr, err := principal(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ep, show, err := httpapi.ParsePage("", c.QueryParam("ecursor"))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	mp, _, err := httpapi.ParsePage("", c.QueryParam("mcursor"))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	es, err := p.api.store.ListFailedEnrollments(ctx, pr.WorkspaceID, ep)
	if err != nil {
		return fmt.Errorf("failed page: %w", err)
	}
	ms, err := p.api.store.ListFailedMessages(ctx, pr.WorkspaceID, mp)
	if err != nil {
		return fmt.Errorf("failed page: %w", err)
	}
	el := httpapi.ListOf(es, show, func(e store.FailedEnrollment) uuid.UUID { return e.ID })
	ml := httpapi.ListOf(ms, show, func(m store.Message) uuid.UUID { return m.ID })
	v.Enrollments, v.Messages = el.Items, ml.Items
	if el.NextCursor != nil {
		v.NextE = *el.NextCursor
	}
	if ml.NextCursor != nil {
		v.NextM = *ml.NextCursor
	}
	return p.con.Render(c, status, p.pages.failed, "Failed sends", v)
}

func (p *Pages) retryEnrollment(c echo.Context) error {
	pr, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	_, err = p.api.retrier.RetryEnrollment(c.Request().Context(), pr.WorkspaceID, id)
	return p.retried(c, err)
}

func (p *Pages) retryMessage(c echo.Context) error {
	pr, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	_, err = p.api.retrier.RetryMessage(c.Request().Context(), pr.WorkspaceID, id)
	return p.retried(c, err)
}

// retried answers a retry: work that is no longer failed (retried by
// someone else meanwhile) is said so, not an error page.
func (p *Pages) retried(c echo.Context, err error) error {
	switch {
	case errors.Is(err, store.ErrConflict):
		return c.Redirect(http.StatusSeeOther, "/console/nurture/failed?not_failed=1")
	case err != nil:
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/console/nurture/failed?retried=1")
}
