package nurture

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"leadflow/store"
)

// TypeStep runs an enrollment's due step, and the steps that follow it at
// once, up to the next wait.
const TypeStep = "nurture:step"

// Exit reasons of the engine's own, besides the exit criteria and the
// suppression reasons.
const (
	// ExitMerged: the lead was merged into another, which carries on.
	ExitMerged = "merged"
	// ExitStepMissing: the step the enrollment waited at is no longer in
	// its sequence (validation refuses such edits; this is the fallback).
	ExitStepMissing = "step_missing"
)

// StepPayload is the nurture:step task's payload: the enrollment and the
// step it was due at. A task whose step is no longer the enrollment's (it
// ran already) does nothing.
type StepPayload struct {
	WorkspaceID  uuid.UUID `json:"workspace_id"`
	EnrollmentID uuid.UUID `json:"enrollment_id"`
	StepKey      string    `json:"step_key"`
}

// NewStepTask builds the nurture:step task. Its ID names the enrollment and
// the step, so the step put on the queue twice is one task.
func NewStepTask(workspaceID, enrollmentID uuid.UUID, stepKey string) *asynq.Task {
	payload, _ := json.Marshal(StepPayload{WorkspaceID: workspaceID, EnrollmentID: enrollmentID, StepKey: stepKey})
	return asynq.NewTask(TypeStep, payload,
		asynq.TaskID(stepTaskID(enrollmentID, stepKey)),
		asynq.Queue(Queue),
		asynq.MaxRetry(10),
		asynq.Timeout(time.Minute))
}

func stepTaskID(enrollmentID uuid.UUID, stepKey string) string {
	return TypeStep + ":" + enrollmentID.String() + ":" + stepKey
}

func (e *Engine) handleStep(ctx context.Context, t *asynq.Task) error {
	var p StepPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.EnrollmentID == uuid.Nil {
		return fmt.Errorf("decode %s payload: %v: %w", TypeStep, err, asynq.SkipRetry)
	}
	if err := e.RunStep(ctx, p); err != nil {
		if e.countStepFailure(ctx, p, err) {
			return nil
		}
		return e.retryOrLeave(ctx, err)
	}
	return nil
}

// countStepFailure counts a failed run of an enrollment's step: the step is
// due again after RetryDelay, and after MaxAttempts failures in a row the
// enrollment is failed at that step, with its last error, until someone
// retries it. The scheduler then owns the retry and the handler reports
// success. A failure that cannot be written (PostgreSQL away), or a run
// ended by its context, is left to Asynq's retries.
func (e *Engine) countStepFailure(ctx context.Context, p StepPayload, failure error) bool {
	if errors.Is(failure, context.Canceled) || errors.Is(failure, context.DeadlineExceeded) || ctx.Err() != nil {
		return false
	}
	why := oneLineError(failure)
	now := e.now()
	// A step fails for reasons of its own (its sequence, its data), not a
	// relay's that pass: it is tried again at a steady pace.
	enr, err := e.cfg.Store.FailEnrollmentStep(ctx, p.WorkspaceID, p.EnrollmentID, p.StepKey, why, e.cfg.MaxAttempts,
		now.Add(e.cfg.RetryDelay(1)), now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return true // the step is no longer the enrollment's
	case err != nil:
		e.log.WarnContext(ctx, "step failure not recorded; the task will be retried", "enrollment_id", p.EnrollmentID, "error", err)
		return false
	case enr.State == store.EnrollmentFailed:
		e.log.WarnContext(ctx, "enrollment step given up", "enrollment_id", enr.ID, "step_key", p.StepKey,
			"attempts", enr.Attempts, "error", why)
	default:
		e.log.InfoContext(ctx, "enrollment step failed; will retry", "enrollment_id", enr.ID, "step_key", p.StepKey,
			"attempts", enr.Attempts, "error", why)
	}
	return true
}

// RetryEnrollment makes a failed enrollment of the workspace active again
// at the step that failed, due now: it is tried MaxAttempts more times.
// ErrConflict: it has not failed.
func (e *Engine) RetryEnrollment(ctx context.Context, workspaceID, id uuid.UUID) (store.FailedEnrollment, error) {
	enr, err := e.cfg.Store.RetryFailedEnrollment(ctx, workspaceID, id, e.now())
	if err != nil {
		return enr, err
	}
	e.log.InfoContext(ctx, "failed enrollment retried", "enrollment_id", enr.ID, "step_key", enr.StepKey)
	return enr, nil
}

// RunStep runs an enrollment's due step in one transaction, holding the
// enrollment's row: exit criteria first, then the step and every step that
// follows at once (a condition, then an email...) up to a wait, a send
// window that is shut, or the end. Messages made are put on the queue after
// the commit. Running a step that is no longer the enrollment's, or of an
// enrollment that is not active, does nothing; so does a paused sequence,
// whose enrollments stay where they are until it resumes.
func (e *Engine) RunStep(ctx context.Context, p StepPayload) error {
	var made []store.Message
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		r := &stepRun{e: e, q: q, now: e.now()}
		err := r.run(ctx, p)
		made = r.made
		return err
	})
	if err != nil {
		return fmt.Errorf("run step %s of enrollment %s: %w", p.StepKey, p.EnrollmentID, err)
	}
	for _, m := range made {
		if err := e.enqueueSend(ctx, m.WorkspaceID, m.ID, 0); err != nil {
			// The message was created with a lease; the scheduler sends it
			// when the lease runs out.
			e.log.WarnContext(ctx, "enqueue send failed", "message_id", m.ID, "error", err)
		}
	}
	return nil
}

// stepRun is one run of an enrollment's steps.
type stepRun struct {
	e    *Engine
	q    *store.Queries
	now  time.Time
	made []store.Message

	enr     store.Enrollment
	seq     store.Sequence
	lead    store.Lead
	ws      *store.Workspace
	steps   []Step
	history []store.EnrollmentStep
}

func (r *stepRun) run(ctx context.Context, p StepPayload) error {
	c, err := r.q.LockEnrollmentStepContext(ctx, p.WorkspaceID, p.EnrollmentID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	enr := c.Enrollment
	if enr.State != store.EnrollmentActive || enr.StepKey != p.StepKey {
		return nil // done already: a duplicate or late task
	}
	r.enr, r.seq, r.lead = enr, c.Sequence, c.Lead
	due := r.now
	if enr.NextRunAt != nil {
		due = *enr.NextRunAt
	}
	if r.seq.Status != store.SequenceActive {
		// Let go of the queue's lease: the scheduler passes over paused
		// sequences, and takes this up as soon as it resumes.
		return r.q.SaveEnrollmentRun(ctx, enr.WorkspaceID, enr.ID, store.EnrollmentRun{
			State: store.EnrollmentActive, StepKey: enr.StepKey, NextRunAt: due, At: enr.UpdatedAt,
		})
	}
	if r.steps, err = decodeSteps(r.seq.Steps); err != nil {
		return err
	}
	if reason := r.exitReason(c.Suppressed); reason != "" {
		return r.end(ctx, store.EnrollmentExited, reason, enr.StepKey, map[string]any{"reason": reason})
	}
	return r.advance(ctx, enr.StepKey, due)
}

// exitReason is why the lead must leave the sequence now, if it must: its
// address is suppressed (always: it may not be emailed), it was merged, or
// it became what one of the sequence's exit criteria names.
func (r *stepRun) exitReason(suppressed string) string {
	if suppressed != "" {
		return suppressed
	}
	if r.lead.MergedInto != nil {
		return ExitMerged
	}
	crit := r.seq.ExitCriteria
	switch r.lead.Status {
	case store.LeadMarketingQualified, store.LeadSalesAccepted:
		if slices.Contains(crit, ExitQualified) {
			return ExitQualified
		}
	case store.LeadConverted:
		if slices.Contains(crit, ExitConverted) {
			return ExitConverted
		}
	}
	return ""
}

// advance runs steps from key, the first entered at entered, until one has
// to wait. A later step counts as entered when the one before it was done.
func (r *stepRun) advance(ctx context.Context, key string, entered time.Time) error {
	if entered.After(r.now) {
		entered = r.now
	}
	// Branches only go forward, so a run visits each step at most once;
	// the bound guards against a sequence stored without validation.
	for range len(r.steps) + 1 {
		i := slices.IndexFunc(r.steps, func(s Step) bool { return s.Key == key })
		if i < 0 {
			return r.end(ctx, store.EnrollmentExited, ExitStepMissing, key, map[string]any{"reason": ExitStepMissing})
		}
		s := r.steps[i]
		next := r.keyAfter(i)
		switch s.Type {
		case StepWait:
			until := entered.Add(time.Duration(s.Duration))
			r.record(s.Key, store.StepOutcomeWaiting, map[string]any{"until": until})
			if next == "" {
				return r.end(ctx, store.EnrollmentCompleted, "", s.Key, nil)
			}
			if until.After(r.now) {
				return r.schedule(ctx, next, until)
			}
			// Due already (a worker late, or a wait of nothing): go on as
			// if it had ended on time.
			key, entered = next, until

		case StepEmail:
			w := decodeSendWindow(r.seq.SendWindow)
			loc := location(r.lead.Timezone, r.seq.Timezone)
			if open := NextSendTime(w, loc, r.now); open.After(r.now) {
				r.record(s.Key, store.StepOutcomeHeld, map[string]any{"until": open})
				return r.schedule(ctx, s.Key, open)
			}
			if err := r.email(ctx, s); err != nil {
				return err
			}
			if next == "" {
				return r.end(ctx, store.EnrollmentCompleted, "", s.Key, nil)
			}
			key, entered = next, r.now

		case StepCondition:
			ok, err := r.holds(ctx, i, s.If)
			if err != nil {
				return err
			}
			to := s.Else
			if ok {
				to = s.Then
			}
			to = strings.TrimSpace(to)
			if to == "" || to == GotoNext {
				to = next
			}
			r.record(s.Key, store.StepOutcomeCondition, map[string]any{"result": ok, "goto": cmp.Or(to, GotoExit)})
			if to == "" || to == GotoExit {
				return r.end(ctx, store.EnrollmentCompleted, "", s.Key, nil)
			}
			key = to

		case StepExit:
			return r.end(ctx, store.EnrollmentCompleted, "", s.Key, nil)

		default:
			return fmt.Errorf("step %s: unknown type %q", s.Key, s.Type)
		}
	}
	return fmt.Errorf("steps of sequence %s loop", r.seq.ID)
}

// keyAfter is the key of the step after index i, "" after the last.
func (r *stepRun) keyAfter(i int) string {
	if i+1 < len(r.steps) {
		return r.steps[i+1].Key
	}
	return ""
}

// email makes the step's message, once per enrollment and step. A step
// without a usable template, or a lead without an address, is skipped and
// says why.
func (r *stepRun) email(ctx context.Context, s Step) error {
	skip := func(why string) error {
		r.record(s.Key, store.StepOutcomeEmailSkipped, map[string]any{"reason": why})
		return nil
	}
	if r.lead.Email == "" {
		return skip("lead has no email address")
	}
	if s.TemplateID == nil {
		return skip("step has no template")
	}
	tmpl, err := r.q.GetTemplate(ctx, r.enr.WorkspaceID, *s.TemplateID)
	if errors.Is(err, store.ErrNotFound) {
		return skip("template not found")
	}
	if err != nil {
		return err
	}
	if r.ws == nil {
		ws, err := r.q.GetWorkspace(ctx, r.enr.WorkspaceID)
		if err != nil {
			return err
		}
		r.ws = &ws
	}
	enrID, now := r.enr.ID, r.now
	m, created, err := r.e.createMessage(ctx, r.q, draft{
		Lead:         r.lead,
		Workspace:    *r.ws,
		Template:     tmpl,
		Kind:         store.MessageMarketing,
		DedupeKey:    stepDedupeKey(r.enr.ID, s.Key),
		EnrollmentID: &enrID,
		StepKey:      s.Key,
		EnqueuedAt:   &now,
	}, r.now)
	var rerr *renderError
	if errors.As(err, &rerr) {
		r.e.log.ErrorContext(ctx, "template does not render", "template_id", tmpl.ID, "error", err)
		return skip("template does not render")
	}
	if err != nil {
		return err
	}
	if created {
		r.made = append(r.made, m)
	}
	r.record(s.Key, store.StepOutcomeEmailQueued, map[string]any{"message_id": m.ID})
	return nil
}

// stepDedupeKey makes an enrollment's email at a step unique.
func stepDedupeKey(enrollmentID uuid.UUID, stepKey string) string {
	return "enrollment:" + enrollmentID.String() + ":" + stepKey
}

// holds evaluates the condition of the step at index i.
func (r *stepRun) holds(ctx context.Context, i int, c *Condition) (bool, error) {
	if c == nil {
		return false, nil
	}
	switch {
	case c.Opened != "" || c.Clicked != "":
		ref := cmp.Or(c.Opened, c.Clicked)
		if ref == conditionPrevious {
			ref = ""
			for j := i - 1; j >= 0; j-- {
				if r.steps[j].Type == StepEmail {
					ref = r.steps[j].Key
					break
				}
			}
			if ref == "" {
				return false, nil
			}
		}
		m, err := r.q.MessageByDedupeKey(ctx, r.enr.WorkspaceID, stepDedupeKey(r.enr.ID, ref))
		if errors.Is(err, store.ErrNotFound) {
			return false, nil // that email was never made (skipped)
		}
		if err != nil {
			return false, err
		}
		if c.Opened != "" {
			return m.OpenedAt != nil, nil
		}
		return m.ClickedAt != nil, nil
	case c.ScoreAtLeast != nil:
		return r.lead.Score >= *c.ScoreAtLeast, nil
	case c.Field != "":
		want := ""
		if c.Equals != nil {
			want = *c.Equals
		}
		return strings.EqualFold(strings.TrimSpace(leadField(r.lead, c.Field)), strings.TrimSpace(want)), nil
	}
	return false, nil
}

// leadField is a lead field a condition may compare.
func leadField(l store.Lead, name string) string {
	switch name {
	case "country":
		return l.Country
	case "title":
		return l.Title
	case "company":
		return l.Company
	case "lead_source":
		return l.LeadSource
	case "primary_interest":
		return l.PrimaryInterest
	case "status":
		return l.Status
	case "grade":
		return l.Grade
	case "state":
		return l.State
	case "city":
		return l.City
	}
	if key, ok := strings.CutPrefix(name, "custom."); ok {
		return l.Custom[key]
	}
	return ""
}

func (r *stepRun) record(key, outcome string, detail map[string]any) {
	r.history = append(r.history, store.EnrollmentStep{
		EnrollmentID: r.enr.ID, StepKey: key, Outcome: outcome, Detail: detail, At: r.now,
	})
}

// schedule leaves the enrollment at key, due at at.
func (r *stepRun) schedule(ctx context.Context, key string, at time.Time) error {
	return r.q.SaveEnrollmentRun(ctx, r.enr.WorkspaceID, r.enr.ID, store.EnrollmentRun{
		State: store.EnrollmentActive, StepKey: key, NextRunAt: at, At: r.now, Steps: r.history,
	})
}

// end completes or exits the enrollment.
func (r *stepRun) end(ctx context.Context, state, reason, key string, detail map[string]any) error {
	outcome := store.StepOutcomeCompleted
	if state == store.EnrollmentExited {
		outcome = store.StepOutcomeExited
	}
	r.record(key, outcome, detail)
	if err := r.q.SaveEnrollmentRun(ctx, r.enr.WorkspaceID, r.enr.ID, store.EnrollmentRun{
		State: state, ExitReason: reason, At: r.now, Steps: r.history,
	}); err != nil {
		return err
	}
	r.e.log.DebugContext(ctx, "enrollment ended", "enrollment_id", r.enr.ID, "state", state, "reason", reason)
	return nil
}
