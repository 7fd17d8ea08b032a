package capture

import (
	"errors"
	"net/http"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// apiResponseView is a response with the files uploaded with it (their
// names and sizes, not their content).
type apiResponseView struct {
	store.Response
	Files []store.ResponseFile `json:"files"`
}

func (a *API) listResponses(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	f := store.ResponseFilter{Page: page}
	if f.LeadID, err = httpapi.QueryID(c, "lead_id"); err != nil {
		return err
	}
	if f.FormID, err = httpapi.QueryID(c, "form_id"); err != nil {
		return err
	}
	if f.Verdict, err = httpapi.QueryOneOf(c, "verdict", store.VerdictOK, store.VerdictSpam, store.VerdictReleased); err != nil {
		return err
	}
	if f.Status, err = httpapi.QueryOneOf(c, "status", store.ResponsePending, store.ResponseProcessed, store.ResponseHeld,
		store.ResponseAwaitingConfirmation, store.ResponseFailed); err != nil {
		return err
	}
	rs, err := a.store.ListResponses(c.Request().Context(), p.WorkspaceID, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(rs, limit, func(r store.Response) uuid.UUID { return r.ID }))
}

func (a *API) getResponse(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	r, err := a.store.GetResponse(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	files, err := a.store.ResponseFileInfos(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiResponseView{Response: r, Files: files})
}

// releaseResponse lets a response held as spam be processed. The release is
// committed before its processing is queued; if Redis is down the sweeper
// queues it later, so the answer is a success either way.
func (a *API) releaseResponse(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	r, err := a.releaser.Release(ctx, p.WorkspaceID, id, p.Actor())
	if err != nil {
		return err
	}
	if err := EnqueueProcess(ctx, a.enqueuer, r.ID); err != nil {
		a.log.Warn("release_enqueue_failed", "response_id", r.ID, "err", err)
	}
	return c.JSON(http.StatusOK, r)
}

// retryResponse runs a failed response's processing again. The change is
// committed first; the task that failed is removed from Asynq's archive so its
// ID is free, then the processing is queued. If Redis is down the sweeper
// queues it later, so the answer is a success either way.
func (a *API) retryResponse(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	r, err := a.retrier.Retry(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	if err := a.tasks.DeleteTask(Queue, processTaskID(r.ID)); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		a.log.Warn("retry_task_delete_failed", "response_id", r.ID, "err", err)
	}
	if err := EnqueueProcess(ctx, a.enqueuer, r.ID); err != nil {
		a.log.Warn("retry_enqueue_failed", "response_id", r.ID, "err", err)
	}
	return c.JSON(http.StatusOK, r)
}
