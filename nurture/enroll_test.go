package nurture

import (
	"errors"
	"mime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/capture"
	"leadflow/store"
)

func TestEnrollManual(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	tpl := b.newTemplate(t, "Hello", "<p>Hello</p>", "Hello")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	paused := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	if _, err := b.store.SetSequenceStatus(b.ctx, b.ws.ID, paused.ID, store.SequencePaused); err != nil {
		t.Fatal(err)
	}
	lead := b.newLead(t, "manual@example.org", nil)
	other, err := b.store.EnsureWorkspace(b.ctx, "elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := b.store.InsertLead(b.ctx, store.Lead{WorkspaceID: other.ID, Email: "x@example.org",
		EmailCanonical: "x@example.org", Status: store.LeadNew})
	if err != nil {
		t.Fatal(err)
	}

	enr, err := b.eng.EnrollManual(b.ctx, b.ws.ID, seq.ID, lead.ID, "api_key:test")
	if err != nil {
		t.Fatalf("EnrollManual: %v", err)
	}
	if enr.State != store.EnrollmentActive || enr.StepKey != "s1" || enr.NextRunAt == nil || enr.EnrolledBy != "api_key:test" {
		t.Errorf("enrollment %+v", enr)
	}
	got, err := b.store.GetLead(b.ctx, b.ws.ID, lead.ID)
	if err != nil || got.Status != store.LeadNurturing {
		t.Errorf("lead status %s (%v), want nurturing", got.Status, err)
	}
	audit, _ := b.store.LeadAudit(b.ctx, b.ws.ID, lead.ID)
	if !slices.ContainsFunc(audit, func(a store.AuditEntry) bool {
		return a.Action == store.AuditStatusChanged && a.Actor == "api_key:test" && a.NewValue == store.LeadNurturing
	}) {
		t.Errorf("audit trail lacks the move to nurturing: %+v", audit)
	}

	for _, c := range []struct {
		name     string
		seq      uuid.UUID
		lead     uuid.UUID
		sentinel error
		field    string
	}{
		{"already active", seq.ID, lead.ID, store.ErrConflict, ""},
		{"unknown sequence", store.NewID(), lead.ID, store.ErrNotFound, ""},
		{"lead of another workspace", seq.ID, stranger.ID, store.ErrNotFound, ""},
		{"paused sequence", paused.ID, lead.ID, nil, "sequence"},
	} {
		_, err := b.eng.EnrollManual(b.ctx, b.ws.ID, c.seq, c.lead, "api_key:test")
		var verr *ValidationError
		switch {
		case c.sentinel != nil && !errors.Is(err, c.sentinel):
			t.Errorf("%s: %v, want %v", c.name, err, c.sentinel)
		case c.field != "" && (!errors.As(err, &verr) || verr.Fields[c.field] == ""):
			t.Errorf("%s: %v, want a validation error on %s", c.name, err, c.field)
		}
	}

	// Once the enrollment has ended, the lead may be enrolled again.
	if err := b.eng.RunStep(b.ctx, StepPayload{WorkspaceID: b.ws.ID, EnrollmentID: enr.ID, StepKey: "s1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.EnrollManual(b.ctx, b.ws.ID, seq.ID, lead.ID, "api_key:test"); err != nil {
		t.Errorf("enrolling again after completion: %v", err)
	}
}

// An event registration form's response gets its confirmation at once: a
// transactional email naming the event, without unsubscribe headers, made
// once whatever the retries.
func TestEventRegistrationConfirmation(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	eventID := store.NewID()
	starts := time.Date(2030, 6, 3, 14, 0, 0, 0, time.UTC)
	if _, err := b.store.Pool.Exec(b.ctx, `INSERT INTO events (id, workspace_id, name, starts_at) VALUES ($1, $2, 'Launch day', $3)`,
		eventID, b.ws.ID, starts); err != nil {
		t.Fatal(err)
	}
	form := b.newForm(t, &eventID)
	b.startWorker(t)
	resp := b.postResponse(t, form, capture.Fields{FirstName: "Katherine", Email: "kj@example.org", EmailCanonical: "kj@example.org"})
	out, err := b.processor(t).Process(b.ctx, resp)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	if out.Registration != store.RegistrationRegistered {
		t.Fatalf("registration %q", out.Registration)
	}
	got := b.smtp.WaitFor(t, 1, 15*time.Second)[0]
	subject, _ := new(mime.WordDecoder).DecodeHeader(got.Header.Get("Subject"))
	if subject != "You are registered: Launch day" {
		t.Errorf("subject %q", subject)
	}
	for _, s := range []string{"Hello Katherine", "Launch day", "Monday 3 June 2030, 14:00 UTC"} {
		if !strings.Contains(got.Text, s) {
			t.Errorf("text lacks %q:\n%s", s, got.Text)
		}
	}
	if h := got.Header.Get("List-Unsubscribe-Post"); h != "" {
		t.Errorf("a transactional email has List-Unsubscribe-Post %q", h)
	}
	reg, err := b.store.LeadRegistration(b.ctx, b.ws.ID, eventID, out.LeadID)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := b.store.MessageByDedupeKey(b.ctx, b.ws.ID, EventConfirmationKey(reg))
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Kind, ToEmail string
		LeadID        uuid.UUID
		ResponseID    uuid.UUID
	}
	if diff := cmp.Diff(summary{store.MessageTransactional, "kj@example.org", out.LeadID, resp},
		summary{msg.Kind, msg.ToEmail, *msg.LeadID, *msg.ResponseID}); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	// Asking again, as a retried processing would, makes no second email.
	if err := b.store.InTx(b.ctx, func(q *store.Queries) error {
		r, err := q.GetResponse(b.ctx, b.ws.ID, resp)
		if err != nil {
			return err
		}
		return b.eng.EnrollFromResponse(b.ctx, q, r, out.LeadID, &reg)
	}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.store.Pool.QueryRow(b.ctx, `SELECT count(*) FROM messages WHERE workspace_id = $1`, b.ws.ID).Scan(&n); err != nil || n != 1 {
		t.Errorf("messages: %d (%v), want 1", n, err)
	}
}

// Transactional email still reaches an unsubscribed address (the person
// asked for it), but not one that bounced.
func TestTransactionalEmailAndSuppression(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	b.startWorker(t)
	for _, c := range []struct {
		email, reason string
		sent          bool
	}{{"unsub@example.org", store.SuppressUnsubscribed, true}, {"bounced@example.org", store.SuppressBounced, false}} {
		lead := b.newLead(t, c.email, nil)
		eventID := store.NewID()
		if _, err := b.store.Pool.Exec(b.ctx, `INSERT INTO events (id, workspace_id, name) VALUES ($1, $2, 'Meetup')`, eventID, b.ws.ID); err != nil {
			t.Fatal(err)
		}
		resp := b.postResponse(t, b.newForm(t, &eventID), capture.Fields{Email: c.email, EmailCanonical: c.email})
		err := b.store.InTx(b.ctx, func(q *store.Queries) error {
			if err := b.eng.Suppress(b.ctx, q, b.ws.ID, c.email, c.reason, "test"); err != nil {
				return err
			}
			reg, err := q.InsertRegistration(b.ctx, store.EventRegistration{WorkspaceID: b.ws.ID, EventID: eventID,
				LeadID: lead.ID, ResponseID: resp, Status: store.RegistrationWaitlisted})
			if err != nil {
				return err
			}
			r, err := q.GetResponse(b.ctx, b.ws.ID, resp)
			if err != nil {
				return err
			}
			return b.eng.EnrollFromResponse(b.ctx, q, r, lead.ID, &reg)
		})
		if err != nil {
			t.Fatal(err)
		}
		want := store.MessageSuppressed
		if c.sent {
			want = store.MessageSent
		}
		eventually(t, 15*time.Second, func() bool {
			ms := b.messages(t, c.email)
			return len(ms) == 1 && ms[0].Status == want
		}, "%s's confirmation %s", c.email, want)
		if n := len(b.smtp.To(c.email)); n != map[bool]int{true: 1}[c.sent] {
			t.Errorf("%s got %d emails", c.email, n)
		}
	}
	if got := b.smtp.To("unsub@example.org"); len(got) == 1 && !strings.Contains(got[0].Text, "waitlist") {
		t.Errorf("waitlisted confirmation:\n%s", got[0].Text)
	}
}
