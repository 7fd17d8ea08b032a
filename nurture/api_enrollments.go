package nurture

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// The states of a step in a lead's enrollment listing.
const (
	StepStateDone    = "done"
	StepStateCurrent = "current"
	StepStatePending = "pending"
	StepStateSkipped = "skipped"
	// StepStateFailed: the enrollment failed at this step (see
	// POST /enrollments/{id}/retry).
	StepStateFailed = "failed"
)

// Enrollment is how the API shows a store.Enrollment.
type Enrollment struct {
	ID         uuid.UUID  `json:"id"`
	SequenceID uuid.UUID  `json:"sequence_id"`
	LeadID     uuid.UUID  `json:"lead_id"`
	State      string     `json:"state"`
	StepKey    string     `json:"step_key"`
	NextRunAt  *time.Time `json:"next_run_at"`
	ExitReason string     `json:"exit_reason,omitempty"`
	EnrolledBy string     `json:"enrolled_by"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

func newEnrollment(r store.Enrollment) Enrollment {
	return Enrollment{
		ID:         r.ID,
		SequenceID: r.SequenceID,
		LeadID:     r.LeadID,
		State:      r.State,
		StepKey:    r.StepKey,
		NextRunAt:  r.NextRunAt,
		ExitReason: r.ExitReason,
		EnrolledBy: r.EnrolledBy,
		CreatedAt:  r.CreatedAt,
		UpdatedAt:  r.UpdatedAt,
	}
}

// FailedEnrollment is how the API shows a store.FailedEnrollment.
type FailedEnrollment struct {
	Enrollment
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

func newFailedEnrollment(r store.FailedEnrollment) FailedEnrollment {
	return FailedEnrollment{
		Enrollment: newEnrollment(r.Enrollment),
		Attempts:   r.Attempts,
		LastError:  r.LastError,
	}
}

// EnrollmentMessage is how the API shows a store.EnrollmentMessage.
type EnrollmentMessage struct {
	ID        uuid.UUID  `json:"id"`
	Status    string     `json:"status"`
	SentAt    *time.Time `json:"sent_at"`
	OpenedAt  *time.Time `json:"opened_at"`
	ClickedAt *time.Time `json:"clicked_at"`
}

func newEnrollmentMessage(r store.EnrollmentMessage) EnrollmentMessage {
	return EnrollmentMessage{
		ID:        r.ID,
		Status:    r.Status,
		SentAt:    r.SentAt,
		OpenedAt:  r.OpenedAt,
		ClickedAt: r.ClickedAt,
	}
}

// enrollLead enrolls a lead of the workspace in a sequence by hand.
func (a *API) enrollLead(c echo.Context) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	_, members, err := httpapi.ReadObject(c, apiMaxBody)
	if err != nil {
		return err
	}
	var body struct{ LeadID string }
	if err := httpapi.Bind(members, map[string]any{"lead_id": &body.LeadID}); err != nil {
		return err
	}
	e, err := a.enroll(c.Request().Context(), p, id, body.LeadID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newEnrollment(e))
}

// enroll enrolls the lead leadID (as sent) of p's workspace in a sequence
// by hand, as p; the API and the console's sequence page enroll through it.
func (a *API) enroll(ctx context.Context, p httpapi.Principal, sequenceID uuid.UUID, leadID string) (store.Enrollment, error) {
	bad := map[string]string{}
	id := apiID("lead_id", leadID, bad)
	if len(bad) > 0 {
		return store.Enrollment{}, &ValidationError{Fields: bad}
	}
	if _, err := a.store.GetSequence(ctx, p.WorkspaceID, sequenceID); err != nil {
		return store.Enrollment{}, err
	}
	// Checked here so that a lead of another workspace is a field at fault
	// rather than a missing sequence.
	if _, err := a.store.GetLead(ctx, p.WorkspaceID, id); errors.Is(err, store.ErrNotFound) {
		return store.Enrollment{}, &ValidationError{Fields: map[string]string{"lead_id": "no such lead"}}
	} else if err != nil {
		return store.Enrollment{}, err
	}
	e, err := a.enroller.EnrollManual(ctx, p.WorkspaceID, sequenceID, id, p.Actor())
	if errors.Is(err, store.ErrConflict) {
		return store.Enrollment{}, errors.Join(err, &ValidationError{Fields: map[string]string{"lead_id": "the lead is already active in this sequence"}})
	}
	return e, err
}

// apiEnrollmentView is one of a lead's enrollments with every step of its
// sequence and what became of it.
type apiEnrollmentView struct {
	Enrollment
	SequenceName string              `json:"sequence_name"`
	Steps        []apiEnrollmentStep `json:"steps"`
}

// apiEnrollmentStep is a step of a lead's enrollment: its state, its last
// recorded outcome, and the email sent at it. A step removed from the
// sequence after the lead passed it is listed after the others, Removed.
type apiEnrollmentStep struct {
	Key     string             `json:"key"`
	Type    string             `json:"type,omitempty"`
	State   string             `json:"state"`
	Outcome string             `json:"outcome,omitempty"`
	At      *time.Time         `json:"at,omitempty"`
	Message *EnrollmentMessage `json:"message,omitempty"`
	Removed bool               `json:"removed,omitempty"`
}

// leadEnrollments lists a lead's enrollments, newest first, each with the
// state of every step of its sequence.
func (a *API) leadEnrollments(c echo.Context) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := a.store.GetLead(ctx, p.WorkspaceID, id); err != nil {
		return err
	}
	es, err := a.store.LeadEnrollments(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	history, err := a.store.EnrollmentStepHistory(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	msgs, err := a.store.EnrollmentMessages(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	byEnrollment := map[uuid.UUID][]store.EnrollmentStep{}
	for _, h := range history {
		byEnrollment[h.EnrollmentID] = append(byEnrollment[h.EnrollmentID], h)
	}
	msgByStep := map[uuid.UUID]map[string]store.EnrollmentMessage{}
	for _, m := range msgs {
		if msgByStep[m.EnrollmentID] == nil {
			msgByStep[m.EnrollmentID] = map[string]store.EnrollmentMessage{}
		}
		msgByStep[m.EnrollmentID][m.StepKey] = m
	}
	out := make([]apiEnrollmentView, 0, len(es))
	for _, e := range es {
		steps, err := apiDecodeSteps(e.SequenceSteps)
		if err != nil {
			return err
		}
		out = append(out, apiEnrollmentView{
			Enrollment:   newEnrollment(e.Enrollment),
			SequenceName: e.SequenceName,
			Steps:        enrollmentSteps(e.Enrollment, steps, byEnrollment[e.ID], msgByStep[e.ID]),
		})
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

// enrollmentSteps tells, for each step of the sequence, what it is for this
// enrollment: done (it ran), current (the enrollment waits at it), pending
// (still ahead) or skipped (a branch or the end of the enrollment went past
// it, or it had nothing to send).
func enrollmentSteps(e store.Enrollment, steps []Step, history []store.EnrollmentStep, msgs map[string]store.EnrollmentMessage) []apiEnrollmentStep {
	last := map[string]store.EnrollmentStep{}
	ran := map[string]bool{}
	var order []string
	for _, h := range history {
		if _, seen := last[h.StepKey]; !seen {
			order = append(order, h.StepKey)
		}
		last[h.StepKey] = h
		switch h.Outcome {
		case store.StepOutcomeEnrolled, store.StepOutcomeHeld:
			// Arriving at a step, or waiting for its window, is not running it.
		default:
			ran[h.StepKey] = true
		}
	}
	current := -1
	if e.State == store.EnrollmentActive {
		for i, s := range steps {
			if s.Key == e.StepKey {
				current = i
			}
		}
	}
	out := make([]apiEnrollmentStep, 0, len(steps))
	inSequence := map[string]bool{}
	for i, s := range steps {
		inSequence[s.Key] = true
		v := apiEnrollmentStep{Key: s.Key, Type: s.Type}
		switch {
		case e.State == store.EnrollmentFailed && s.Key == e.StepKey:
			v.State = StepStateFailed
		case i == current:
			v.State = StepStateCurrent
		case last[s.Key].Outcome == store.StepOutcomeEmailSkipped:
			v.State = StepStateSkipped
		case ran[s.Key]:
			v.State = StepStateDone
		case current >= 0 && i > current:
			v.State = StepStatePending
		default:
			v.State = StepStateSkipped
		}
		describeStep(&v, last, msgs)
		out = append(out, v)
	}
	for _, k := range order {
		if inSequence[k] {
			continue
		}
		v := apiEnrollmentStep{Key: k, State: StepStateDone, Removed: true}
		if last[k].Outcome == store.StepOutcomeEmailSkipped {
			v.State = StepStateSkipped
		}
		describeStep(&v, last, msgs)
		out = append(out, v)
	}
	return out
}

// describeStep adds a step's last outcome and its message.
func describeStep(v *apiEnrollmentStep, last map[string]store.EnrollmentStep, msgs map[string]store.EnrollmentMessage) {
	if h, ok := last[v.Key]; ok {
		v.Outcome = h.Outcome
		at := h.At
		v.At = &at
	}
	if m, ok := msgs[v.Key]; ok {
		v.Message = httpapi.MapPtr(&m, newEnrollmentMessage)
	}
}

// listFailedEnrollments lists the workspace's failed enrollments (?state=
// failed, the only state listed here), newest first, each with its step's
// attempts and last error.
func (a *API) listFailedEnrollments(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	if s := c.QueryParam("state"); s != store.EnrollmentFailed {
		return &ValidationError{Fields: map[string]string{"state": "must be failed"}}
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	es, err := a.store.ListFailedEnrollments(c.Request().Context(), p.WorkspaceID, page)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(httpapi.Map(es, newFailedEnrollment), limit, func(e FailedEnrollment) uuid.UUID { return e.ID }))
}

// retryEnrollment runs a failed enrollment's step again.
func (a *API) retryEnrollment(c echo.Context) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	e, err := a.retrier.RetryEnrollment(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newFailedEnrollment(e))
}
