package nurture

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// listFailedMessages lists the workspace's failed messages (?status=failed,
// the only status listed here), newest first, with their attempts and last
// error.
func (a *API) listFailedMessages(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	if s := c.QueryParam("status"); s != store.MessageFailed {
		return &ValidationError{Fields: map[string]string{"status": "must be failed"}}
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	ms, err := a.store.ListFailedMessages(c.Request().Context(), p.WorkspaceID, page)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(ms, limit, func(m store.Message) uuid.UUID { return m.ID }))
}

// retryMessage puts a failed message back on the queue.
func (a *API) retryMessage(c echo.Context) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	m, err := a.retrier.RetryMessage(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}
