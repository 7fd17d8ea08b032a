package nurture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/uuid"

	"leadflow/store"
)

// WorkerActor signs what the engine does on its own in audit trails.
const WorkerActor = "worker:nurture"

// errNoSteps: a sequence without steps has nothing to enrol anyone in.
var errNoSteps = errors.New("sequence has no steps")

// EnrollFromResponse follows up a processed response inside its processing
// transaction (it satisfies capture's Enroller with RequestConfirmation):
// the lead is enrolled in every active sequence the response's form
// triggers, due at once, unless already active there; a new lead moves to
// nurturing; and an event registration gets its confirmation email. Nothing
// is put on the queue here, since the transaction is not committed yet: the
// scheduler finds the due enrollments and the queued confirmation within a
// SchedulerInterval of the commit.
func (e *Engine) EnrollFromResponse(ctx context.Context, q *store.Queries, resp store.Response, leadID uuid.UUID, registration *store.EventRegistration) error {
	now := e.now()
	seqs, err := q.ActiveSequencesForForm(ctx, resp.WorkspaceID, resp.FormID)
	if err != nil {
		return fmt.Errorf("sequences of form: %w", err)
	}
	for _, seq := range seqs {
		_, err := e.enroll(ctx, q, seq, leadID, WorkerActor, "response:"+resp.ID.String(), &resp.ID, now)
		switch {
		case errors.Is(err, store.ErrConflict), errors.Is(err, errNoSteps):
			// Already on its way through this sequence; or nothing to do.
		case err != nil:
			return fmt.Errorf("enroll in sequence %s: %w", seq.ID, err)
		}
	}
	if registration != nil {
		if err := e.queueEventConfirmation(ctx, q, *registration, leadID, resp.IP, now); err != nil {
			return fmt.Errorf("event confirmation: %w", err)
		}
	}
	return nil
}

// EnrollManual enrolls a lead in a sequence at its first step, due at once.
// A sequence or lead not in the workspace is ErrNotFound; a lead already
// active in the sequence is ErrConflict; a sequence that is not active, or
// has no steps, and a lead merged into another are a *ValidationError.
func (e *Engine) EnrollManual(ctx context.Context, workspaceID, sequenceID, leadID uuid.UUID, actor string) (store.Enrollment, error) {
	var enr store.Enrollment
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		seq, err := q.GetSequence(ctx, workspaceID, sequenceID)
		if err != nil {
			return err
		}
		if seq.Status != store.SequenceActive {
			return &ValidationError{Fields: map[string]string{
				"sequence": fmt.Sprintf("is %s: only an active sequence takes enrollments", seq.Status),
			}}
		}
		lead, err := q.GetLead(ctx, workspaceID, leadID)
		if err != nil {
			return err
		}
		if lead.MergedInto != nil {
			return &ValidationError{Fields: map[string]string{
				"lead_id": fmt.Sprintf("was merged into lead %s: enroll that one", *lead.MergedInto),
			}}
		}
		enr, err = e.enroll(ctx, q, seq, lead.ID, actor, actor, nil, e.now())
		if errors.Is(err, errNoSteps) {
			return &ValidationError{Fields: map[string]string{"sequence": "has no steps"}}
		}
		return err
	})
	if err != nil {
		return store.Enrollment{}, fmt.Errorf("enroll lead: %w", err)
	}
	e.log.InfoContext(ctx, "lead enrolled", "workspace_id", workspaceID, "sequence_id", sequenceID,
		"lead_id", leadID, "enrollment_id", enr.ID, "actor", actor)
	return enr, nil
}

// enroll makes the enrollment, records it as its first step's history and
// moves a new lead to nurturing, with an audit entry signed by actor.
func (e *Engine) enroll(ctx context.Context, q *store.Queries, seq store.Sequence, leadID uuid.UUID, actor, by string, responseID *uuid.UUID, now time.Time) (store.Enrollment, error) {
	steps, err := decodeSteps(seq.Steps)
	if err != nil {
		return store.Enrollment{}, err
	}
	if len(steps) == 0 {
		return store.Enrollment{}, errNoSteps
	}
	enr, err := q.InsertEnrollment(ctx, store.Enrollment{
		WorkspaceID: seq.WorkspaceID,
		SequenceID:  seq.ID,
		LeadID:      leadID,
		StepKey:     steps[0].Key,
		NextRunAt:   &now,
		EnrolledBy:  by,
		CreatedAt:   now,
	})
	if err != nil {
		return store.Enrollment{}, err
	}
	if err := q.InsertEnrollmentSteps(ctx, store.EnrollmentStep{
		EnrollmentID: enr.ID, StepKey: steps[0].Key, Outcome: store.StepOutcomeEnrolled, At: now,
		Detail: map[string]any{"by": by, "sequence_version": seq.Version},
	}); err != nil {
		return store.Enrollment{}, err
	}
	moved, err := q.MarkLeadNurturing(ctx, seq.WorkspaceID, leadID, now)
	if err != nil {
		return store.Enrollment{}, err
	}
	if moved {
		if err := q.InsertAuditEntries(ctx, seq.WorkspaceID, store.AuditEntry{
			LeadID: leadID, At: now, Actor: actor, Action: store.AuditStatusChanged,
			Field: "status", OldValue: store.LeadNew, NewValue: store.LeadNurturing,
			ResponseID: responseID,
			Detail:     map[string]any{"sequence_id": seq.ID, "enrollment_id": enr.ID},
		}); err != nil {
			return store.Enrollment{}, err
		}
	}
	return enr, nil
}

// decodeSteps reads a sequence's stored steps.
func decodeSteps(raw json.RawMessage) ([]Step, error) {
	var steps []Step
	if len(raw) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(raw, &steps); err != nil {
		return nil, fmt.Errorf("decode steps: %w", err)
	}
	return steps, nil
}

// queueEventConfirmation creates the transactional email confirming an
// event registration (or its place on the waitlist), once per
// registration, unless it is past the confirmation limits (ConfirmLimit)
// for the lead's address or ip, the client the registration came from.
func (e *Engine) queueEventConfirmation(ctx context.Context, q *store.Queries, reg store.EventRegistration, leadID uuid.UUID, ip *netip.Addr, now time.Time) error {
	lead, err := q.GetLead(ctx, reg.WorkspaceID, leadID)
	if err != nil {
		return err
	}
	if lead.Email == "" {
		return nil // nowhere to send it
	}
	allowed, err := e.confirmAllowed(ctx, reg.WorkspaceID, reg.ResponseID, lead.EmailCanonical, ip)
	if err != nil {
		return err
	}
	if !allowed {
		e.log.WarnContext(ctx, "confirmation email over its limit, not sent", "response_id", reg.ResponseID,
			"registration_id", reg.ID)
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
	_, _, err = e.createMessage(ctx, q, draft{
		Lead:       lead,
		Workspace:  ws,
		Template:   eventConfirmationTemplate(reg.Status, ev.StartsAt != nil),
		Extra:      e.eventFields(lead, ws, ev, reg),
		Kind:       store.MessageTransactional,
		DedupeKey:  EventConfirmationKey(reg),
		ResponseID: &responseID,
	}, now)
	return err
}

// eventFields are the merge fields of a registration's emails: the event,
// its start in the lead's time zone, and the signed link that cancels the
// registration.
func (e *Engine) eventFields(lead store.Lead, ws store.Workspace, ev store.Event, reg store.EventRegistration) map[string]string {
	extra := map[string]string{"event_name": ev.Name, "registration_status": reg.Status,
		"cancel_url": CancelURL(e.cfg.BaseURL, e.cfg.Signer, reg.ID)}
	if ev.StartsAt != nil {
		loc := location(lead.Timezone, ws.Timezone)
		extra["event_starts_at"] = ev.StartsAt.In(loc).Format("Monday 2 January 2006, 15:04 MST")
	}
	return extra
}

// eventConfirmationTemplate is the built-in confirmation of a registration.
func eventConfirmationTemplate(status string, hasStart bool) store.Template {
	when, whenHTML := "", ""
	if hasStart {
		when = "\nIt starts {{event_starts_at}}.\n"
		whenHTML = "<p>It starts {{event_starts_at}}.</p>\n"
	}
	t := store.Template{Name: "event registration confirmation"}
	if status == store.RegistrationWaitlisted {
		t.Subject = "You are on the waitlist: {{event_name}}"
		t.TextBody = "Hello {{first_name|there}},\n\n{{event_name}} is full, so you are on its waitlist. " +
			"We will write to you if a place opens up.\n" + when + cancelText("leave the waitlist") + "\n{{sender_name}}\n"
		t.HTMLBody = "<p>Hello {{first_name|there}},</p>\n<p><strong>{{event_name}}</strong> is full, so you are " +
			"on its waitlist. We will write to you if a place opens up.</p>\n" + whenHTML +
			cancelHTML("Leave the waitlist") + "<p>{{sender_name}}</p>\n"
		return t
	}
	t.Subject = "You are registered: {{event_name}}"
	t.TextBody = "Hello {{first_name|there}},\n\nYou are registered for {{event_name}}.\n" + when +
		cancelText("cancel your registration") + "\n{{sender_name}}\n"
	t.HTMLBody = "<p>Hello {{first_name|there}},</p>\n<p>You are registered for <strong>{{event_name}}</strong>.</p>\n" +
		whenHTML + cancelHTML("Cancel your registration") + "<p>{{sender_name}}</p>\n"
	return t
}

// promotionTemplate is the built-in email of a person whose waitlisted
// registration was given a place.
func promotionTemplate(hasStart bool) store.Template {
	when, whenHTML := "", ""
	if hasStart {
		when = "\nIt starts {{event_starts_at}}.\n"
		whenHTML = "<p>It starts {{event_starts_at}}.</p>\n"
	}
	return store.Template{
		Name:    "event waitlist promotion",
		Subject: "A place opened up: you are registered for {{event_name}}",
		TextBody: "Hello {{first_name|there}},\n\nA place opened up at {{event_name}}, and it is yours: " +
			"you are registered.\n" + when + cancelText("give the place up") + "\n{{sender_name}}\n",
		HTMLBody: "<p>Hello {{first_name|there}},</p>\n<p>A place opened up at <strong>{{event_name}}</strong>, " +
			"and it is yours: you are registered.</p>\n" + whenHTML + cancelHTML("Give the place up") +
			"<p>{{sender_name}}</p>\n",
	}
}

// cancelText and cancelHTML offer a registration email's cancel link.
func cancelText(what string) string {
	return "\nIf you cannot come, " + what + " here: {{cancel_url}}\n"
}

func cancelHTML(label string) string {
	return "<p>Cannot come? <a href=\"{{cancel_url}}\">" + label + "</a>.</p>\n"
}

// draft is a message to create for a lead.
type draft struct {
	Lead         store.Lead
	Workspace    store.Workspace
	Template     store.Template
	Extra        map[string]string
	Kind         string
	DedupeKey    string
	EnrollmentID *uuid.UUID
	StepKey      string
	ResponseID   *uuid.UUID
	// EnqueuedAt is set when the caller puts the message on the queue
	// right after its commit, so the scheduler leaves it to that.
	EnqueuedAt *time.Time
}

// createMessage renders and stores a queued message, once per dedupe key:
// its ID is made first, since its tracking links and Message-ID carry it.
func (e *Engine) createMessage(ctx context.Context, q *store.Queries, d draft, now time.Time) (store.Message, bool, error) {
	id := store.NewID()
	r, err := Render(d.Template, MergeData{Lead: d.Lead, Workspace: d.Workspace, Extra: d.Extra},
		Links{BaseURL: e.cfg.BaseURL, Signer: e.cfg.Signer, MessageID: id})
	if err != nil {
		return store.Message{}, false, &renderError{err}
	}
	leadID := d.Lead.ID
	m := store.Message{
		ID:           id,
		WorkspaceID:  d.Lead.WorkspaceID,
		LeadID:       &leadID,
		ResponseID:   d.ResponseID,
		EnrollmentID: d.EnrollmentID,
		StepKey:      d.StepKey,
		DedupeKey:    d.DedupeKey,
		Kind:         d.Kind,
		ToEmail:      d.Lead.Email,
		Subject:      r.Subject,
		HTMLBody:     r.HTML,
		TextBody:     r.Text,
		Links:        r.Links,
		MessageID:    id.String() + "@" + e.msgHost,
		EnqueuedAt:   d.EnqueuedAt,
		CreatedAt:    now,
	}
	if d.Template.ID != uuid.Nil {
		tid := d.Template.ID
		m.TemplateID = &tid
	}
	return q.InsertMessage(ctx, m)
}

// renderError: a template that does not render. It is the template's
// fault, not the moment's, so trying again would not help.
type renderError struct{ err error }

func (e *renderError) Error() string { return "render: " + e.err.Error() }
func (e *renderError) Unwrap() error { return e.err }

// EventConfirmationKey is the dedupe key of a registration's confirmation:
// one email per registration and the response that made it, so a person
// who cancelled and registered again is confirmed again, and a retried
// response is not.
func EventConfirmationKey(reg store.EventRegistration) string {
	return "event:" + reg.ID.String() + ":" + reg.ResponseID.String()
}
