package nurture

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Message is how the API shows a store.Message.
type Message struct {
	ID           uuid.UUID  `json:"id"`
	LeadID       *uuid.UUID `json:"lead_id"`
	ResponseID   *uuid.UUID `json:"response_id,omitempty"`
	EnrollmentID *uuid.UUID `json:"enrollment_id,omitempty"`
	StepKey      string     `json:"step_key,omitempty"`
	TemplateID   *uuid.UUID `json:"template_id,omitempty"`
	Kind         string     `json:"kind"`
	ToEmail      string     `json:"to_email"`
	Subject      string     `json:"subject"`
	MessageID    string     `json:"message_id"`
	Status       string     `json:"status"`
	Attempts     int        `json:"attempts"`
	LastError    string     `json:"last_error,omitempty"`
	SentAt       *time.Time `json:"sent_at"`
	OpenedAt     *time.Time `json:"opened_at"`
	ClickedAt    *time.Time `json:"clicked_at"`
	CreatedAt    time.Time  `json:"created_at"`
}

func newMessage(r store.Message) Message {
	return Message{
		ID:           r.ID,
		LeadID:       r.LeadID,
		ResponseID:   r.ResponseID,
		EnrollmentID: r.EnrollmentID,
		StepKey:      r.StepKey,
		TemplateID:   r.TemplateID,
		Kind:         r.Kind,
		ToEmail:      r.ToEmail,
		Subject:      r.Subject,
		MessageID:    r.MessageID,
		Status:       r.Status,
		Attempts:     r.Attempts,
		LastError:    r.LastError,
		SentAt:       r.SentAt,
		OpenedAt:     r.OpenedAt,
		ClickedAt:    r.ClickedAt,
		CreatedAt:    r.CreatedAt,
	}
}

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
	return c.JSON(http.StatusOK, httpapi.ListOf(httpapi.Map(ms, newMessage), limit, func(m Message) uuid.UUID { return m.ID }))
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
	return c.JSON(http.StatusOK, newMessage(m))
}
