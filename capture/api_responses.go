package capture

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Response is how the API shows a store.Response.
type Response struct {
	ID uuid.UUID `json:"id"`
	// Channel is how the response came in; FormID is null for every
	// channel but web. RecordedBy and Answers are set for a response
	// recorded by hand.
	Channel       string              `json:"channel"`
	FormID        *uuid.UUID          `json:"form_id"`
	RecordedBy    string              `json:"recorded_by,omitempty"`
	Answers       []store.Answer      `json:"answers"`
	ReceivedAt    time.Time           `json:"received_at"`
	IP            *netip.Addr         `json:"ip"`
	UserAgent     string              `json:"user_agent"`
	Referrer      string              `json:"referrer"`
	Raw           map[string][]string `json:"raw"`
	Fields        json.RawMessage     `json:"fields"`
	Custom        map[string]string   `json:"custom"`
	UTM           map[string]string   `json:"utm"`
	LeadSource    string              `json:"lead_source"`
	Campaign      string              `json:"campaign"`
	Verdict       string              `json:"verdict"`
	VerdictReason string              `json:"verdict_reason"`
	Status        string              `json:"status"`
	Outcome       string              `json:"outcome"`
	LeadID        *uuid.UUID          `json:"lead_id"`
	ProcessedAt   *time.Time          `json:"processed_at"`
	// ConfirmedAt is when the person confirmed a double opt-in response.
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
	// Attempts counts the processing runs that failed; LastError is the
	// newest of their errors. A response that failed too often is marked
	// failed (FailedAt) and waits for a person to retry it.
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"`
	FailedAt  *time.Time `json:"failed_at,omitempty"`
}

func newResponse(r store.Response) Response {
	var form *uuid.UUID
	if r.FormID != uuid.Nil {
		form = &r.FormID
	}
	answers := r.Answers
	if answers == nil {
		answers = []store.Answer{}
	}
	return Response{
		ID:            r.ID,
		Channel:       r.Channel,
		FormID:        form,
		RecordedBy:    r.RecordedBy,
		Answers:       answers,
		ReceivedAt:    r.ReceivedAt,
		IP:            r.IP,
		UserAgent:     r.UserAgent,
		Referrer:      r.Referrer,
		Raw:           r.Raw,
		Fields:        r.Fields,
		Custom:        r.Custom,
		UTM:           r.UTM,
		LeadSource:    r.LeadSource,
		Campaign:      r.Campaign,
		Verdict:       r.Verdict,
		VerdictReason: r.VerdictReason,
		Status:        r.Status,
		Outcome:       r.Outcome,
		LeadID:        r.LeadID,
		ProcessedAt:   r.ProcessedAt,
		ConfirmedAt:   r.ConfirmedAt,
		Attempts:      r.Attempts,
		LastError:     r.LastError,
		FailedAt:      r.FailedAt,
	}
}

// ResponseFile is how the API shows a store.ResponseFile.
type ResponseFile struct {
	ID          uuid.UUID `json:"id"`
	ResponseID  uuid.UUID `json:"response_id"`
	Field       string    `json:"field"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	Size        int       `json:"size"`
}

func newResponseFile(r store.ResponseFile) ResponseFile {
	return ResponseFile{
		ID:          r.ID,
		ResponseID:  r.ResponseID,
		Field:       r.Field,
		Filename:    r.Filename,
		ContentType: r.ContentType,
		Size:        r.Size,
	}
}

// apiResponseView is a response with the files uploaded with it (their
// names and sizes, not their content).
type apiResponseView struct {
	Response
	Files []ResponseFile `json:"files"`
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
	if f.Channel, err = httpapi.QueryOneOf(c, "channel", store.Channels...); err != nil {
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
	return c.JSON(http.StatusOK, httpapi.ListOf(httpapi.Map(rs, newResponse), limit, func(r Response) uuid.UUID { return r.ID }))
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
	return c.JSON(http.StatusOK, apiResponseView{Response: newResponse(r), Files: httpapi.Map(files, newResponseFile)})
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
	r, err := a.release(c.Request().Context(), p.WorkspaceID, id, p.Actor())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newResponse(r))
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
	r, err := a.retry(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newResponse(r))
}

// release lets a response held as spam be processed and queues it: what the
// API and the console both release with.
func (a *API) release(ctx context.Context, workspaceID, id uuid.UUID, actor string) (store.Response, error) {
	r, err := a.releaser.Release(ctx, workspaceID, id, actor)
	if err != nil {
		return store.Response{}, err
	}
	if err := EnqueueProcess(ctx, a.enqueuer, r.ID); err != nil {
		a.log.Warn("release_enqueue_failed", "response_id", r.ID, "err", err)
	}
	return r, nil
}

// retry puts a failed response back into processing and queues it: what the
// API and the console both retry with.
func (a *API) retry(ctx context.Context, workspaceID, id uuid.UUID) (store.Response, error) {
	r, err := a.retrier.Retry(ctx, workspaceID, id)
	if err != nil {
		return store.Response{}, err
	}
	if err := a.tasks.DeleteTask(Queue, processTaskID(r.ID)); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		a.log.Warn("retry_task_delete_failed", "response_id", r.ID, "err", err)
	}
	if err := EnqueueProcess(ctx, a.enqueuer, r.ID); err != nil {
		a.log.Warn("retry_enqueue_failed", "response_id", r.ID, "err", err)
	}
	return r, nil
}
