package nurture

import (
	"errors"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/capture"
	"leadflow/store"
)

// A form response on a trigger form enrols its lead, who gets the first
// email within seconds: from the workspace's sender, merge fields filled,
// tracked links, the postal address, a stable Message-ID and the RFC 8058
// unsubscribe headers.
func TestFormResponseSendsFirstEmail(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	form := b.newForm(t, nil)
	tpl := b.newTemplate(t, "Welcome to Acme, {{first_name}}",
		`<p>Hello {{first_name}} at {{company}},</p><p><a href="https://acme.example/guide">Read the guide</a></p>`,
		"Hello {{first_name}} at {{company}}, read https://acme.example/guide")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, func(s *store.Sequence) {
		s.TriggerFormIDs = []uuid.UUID{form.ID}
	})
	b.startWorker(t)

	resp := b.postResponse(t, form, capture.Fields{FirstName: "Grace", LastName: "Hopper",
		Email: "grace@navy.example", EmailCanonical: "grace@navy.example", Company: "US Navy", Consent: true})
	out, err := b.processor(t).Process(b.ctx, resp)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	got := b.smtp.WaitFor(t, 1, 15*time.Second)[0]

	var stored store.Message
	eventually(t, 10*time.Second, func() bool {
		ms := b.messages(t, "grace@navy.example")
		if len(ms) == 1 && ms[0].Status == store.MessageSent {
			stored = ms[0]
			return true
		}
		return false
	}, "the message marked sent")

	from, err := mail.ParseAddress(got.Header.Get("From"))
	if err != nil {
		t.Fatalf("From: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(got.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject: %v", err)
	}
	links := Links{BaseURL: testBaseURL, Signer: b.signer, MessageID: stored.ID}
	type envelope struct {
		EnvelopeFrom, From, FromName, Subject, MessageID, ListUnsubscribe, ListUnsubscribePost, ContentType string
		To                                                                                                  []string
	}
	want := envelope{
		EnvelopeFrom: "news@acme.example", From: "news@acme.example", FromName: "Acme Marketing",
		Subject: "Welcome to Acme, Grace", MessageID: "<" + stored.ID.String() + "@lf.example>",
		ListUnsubscribe: "<" + links.Unsubscribe() + ">", ListUnsubscribePost: "List-Unsubscribe=One-Click",
		ContentType: "multipart/alternative", To: []string{"grace@navy.example"},
	}
	gotEnv := envelope{
		EnvelopeFrom: got.From, From: from.Address, FromName: from.Name, Subject: subject,
		MessageID: got.Header.Get("Message-Id"), ListUnsubscribe: got.Header.Get("List-Unsubscribe"),
		ListUnsubscribePost: got.Header.Get("List-Unsubscribe-Post"), ContentType: got.ContentType, To: got.To,
	}
	if diff := cmp.Diff(want, gotEnv); diff != "" {
		t.Errorf("envelope and headers (-want +got):\n%s", diff)
	}
	if stored.MessageID != stored.ID.String()+"@lf.example" {
		t.Errorf("stored Message-ID %q", stored.MessageID)
	}
	for _, part := range []struct{ name, body string }{{"text", got.Text}, {"html", got.HTML}} {
		for _, s := range []string{"Hello Grace at US Navy", b.ws.PostalAddress, links.Click(0, "https://acme.example/guide")} {
			if !strings.Contains(part.body, s) {
				t.Errorf("%s part lacks %q:\n%s", part.name, s, part.body)
			}
		}
		if strings.Contains(part.body, "https://acme.example/guide") {
			t.Errorf("%s part has the untracked link:\n%s", part.name, part.body)
		}
	}
	if diff := cmp.Diff([]string{"https://acme.example/guide"}, stored.Links); diff != "" {
		t.Errorf("stored links (-want +got):\n%s", diff)
	}
	if stored.Attempts != 1 || stored.SentAt == nil || stored.Kind != store.MessageMarketing {
		t.Errorf("stored message: attempts %d, sent_at %v, kind %s", stored.Attempts, stored.SentAt, stored.Kind)
	}

	// The lead moved to nurturing, with who did it in its audit trail, and
	// has its email_sent engagement; the one-step sequence is done.
	lead, err := b.store.GetLead(b.ctx, b.ws.ID, out.LeadID)
	if err != nil {
		t.Fatal(err)
	}
	if lead.Status != store.LeadNurturing {
		t.Errorf("lead status %s, want nurturing", lead.Status)
	}
	audit, err := b.store.LeadAudit(b.ctx, b.ws.ID, lead.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(audit, func(a store.AuditEntry) bool {
		return a.Action == store.AuditStatusChanged && a.Actor == WorkerActor && a.OldValue == "new" && a.NewValue == "nurturing"
	}) {
		t.Errorf("no status_changed audit entry by %s: %+v", WorkerActor, audit)
	}
	if n := b.countEngagement(t, lead.ID, store.EngagementEmailSent); n != 1 {
		t.Errorf("email_sent events: %d, want 1", n)
	}
	enrs := b.leadEnrollments(t, lead.ID)
	if len(enrs) != 1 || enrs[0].SequenceID != seq.ID {
		t.Fatalf("enrollments %+v, want one in %s", enrs, seq.ID)
	}
	b.waitEnrollment(t, enrs[0].ID, 10*time.Second, "completed", func(e store.Enrollment) bool {
		return e.State == store.EnrollmentCompleted
	})

	// Processing the same response again enrols nobody twice.
	if _, err := b.processor(t).Process(b.ctx, resp); err != nil {
		t.Fatal(err)
	}
	if n := len(b.leadEnrollments(t, lead.ID)); n != 1 {
		t.Errorf("enrollments after reprocessing: %d, want 1", n)
	}
}

// A recipient the server refuses for good (5xx) fails once, is suppressed
// as bounced, and leaves every sequence it was in.
func TestPermanentFailureSuppressesAndExits(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	tpl := b.newTemplate(t, "Hi", "<p>Hi</p>", "Hi")
	first := b.newSequence(t, []Step{emailStep("s1", tpl), waitStep("s2", time.Hour), emailStep("s3", tpl)}, nil)
	other := b.newSequence(t, []Step{waitStep("w", time.Hour), emailStep("e", tpl)}, nil)
	lead := b.newLead(t, "gone@example.org", nil)
	b.smtp.FailRcpt("gone@example.org", 550)
	e1 := b.enroll(t, first, lead)
	e2 := b.enroll(t, other, lead)
	b.startWorker(t)

	var msg store.Message
	eventually(t, 15*time.Second, func() bool {
		ms := b.messages(t, "gone@example.org")
		if len(ms) == 1 && ms[0].Status == store.MessageFailed {
			msg = ms[0]
			return true
		}
		return false
	}, "the message failed")
	if msg.Attempts != 1 || !strings.Contains(msg.LastError, "550") {
		t.Errorf("failed message: attempts %d, last_error %q", msg.Attempts, msg.LastError)
	}
	sup, err := b.store.GetSuppression(b.ctx, b.ws.ID, "gone@example.org")
	if err != nil || sup.Reason != store.SuppressBounced {
		t.Errorf("suppression: %+v, %v; want bounced", sup, err)
	}
	for _, id := range []uuid.UUID{e1.ID, e2.ID} {
		e := b.enrollment(t, id)
		if e.State != store.EnrollmentExited || e.ExitReason != store.SuppressBounced {
			t.Errorf("enrollment %s: %s (%s), want exited (bounced)", id, e.State, e.ExitReason)
		}
	}
	if n := b.countEngagement(t, lead.ID, store.EngagementBounced); n != 1 {
		t.Errorf("bounced events: %d, want 1", n)
	}
	if n := len(b.smtp.Messages()); n != 0 {
		t.Errorf("the server accepted %d messages", n)
	}
}

// A temporary refusal (4xx) is retried until the server takes the message:
// one delivery, three attempts.
func TestTemporaryFailureRetriedThenSent(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	tpl := b.newTemplate(t, "Hi", "<p>Hi</p>", "Hi")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	lead := b.newLead(t, "busy@example.org", nil)
	b.smtp.FailData(2, 451)
	b.enroll(t, seq, lead)
	b.startWorker(t)

	b.smtp.WaitFor(t, 1, 15*time.Second)
	var msg store.Message
	eventually(t, 10*time.Second, func() bool {
		msg = b.messages(t, "busy@example.org")[0]
		return msg.Status == store.MessageSent
	}, "the message marked sent")
	if msg.Attempts != 3 || msg.LastError != "" {
		t.Errorf("attempts %d, last_error %q; want 3 and none", msg.Attempts, msg.LastError)
	}
	if n := len(b.smtp.To("busy@example.org")); n != 1 {
		t.Errorf("deliveries: %d, want 1", n)
	}
	if _, err := b.store.GetSuppression(b.ctx, b.ws.ID, "busy@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a temporary failure suppressed the address: %v", err)
	}
}

// Temporary failures past MaxAttempts fail the message without suppressing
// the address.
func TestTemporaryFailuresGiveUp(t *testing.T) {
	t.Parallel()
	b := setupEngine(t, func(c *Config) { c.MaxAttempts = 2 })
	tpl := b.newTemplate(t, "Hi", "<p>Hi</p>", "Hi")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	lead := b.newLead(t, "full@example.org", nil)
	b.smtp.FailRcpt("full@example.org", 452)
	b.enroll(t, seq, lead)
	b.startWorker(t)

	var msg store.Message
	eventually(t, 15*time.Second, func() bool {
		ms := b.messages(t, "full@example.org")
		if len(ms) == 1 && ms[0].Status == store.MessageFailed {
			msg = ms[0]
			return true
		}
		return false
	}, "the message given up")
	if msg.Attempts != 2 || !strings.Contains(msg.LastError, "452") {
		t.Errorf("attempts %d, last_error %q", msg.Attempts, msg.LastError)
	}
	if _, err := b.store.GetSuppression(b.ctx, b.ws.ID, "full@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("giving up suppressed the address: %v", err)
	}
}

// An address suppressed by one sequence's unsubscribe gets nothing from any
// other: a message queued before is withheld, and a later enrolment exits
// at once.
func TestSuppressedAddressNeverEmailed(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	tpl := b.newTemplate(t, "Hi", "<p>Hi</p>", "Hi")
	newsletter := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	webinar := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	later := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	lead := b.newLead(t, "Leaver@Example.org", func(l *store.Lead) { l.EmailCanonical = "leaver@example.org" })

	// The webinar's email is made, then the lead unsubscribes (from
	// another sequence's email) before it goes.
	enr := b.enroll(t, webinar, lead)
	if err := b.eng.RunStep(b.ctx, StepPayload{WorkspaceID: b.ws.ID, EnrollmentID: enr.ID, StepKey: "s1"}); err != nil {
		t.Fatal(err)
	}
	queued := b.messages(t, "Leaver@Example.org")
	if len(queued) != 1 || queued[0].Status != store.MessageQueued {
		t.Fatalf("messages before unsubscribing: %+v", queued)
	}
	nl := b.enroll(t, newsletter, lead)
	if err := b.store.InTx(b.ctx, func(q *store.Queries) error {
		return b.eng.Suppress(b.ctx, q, b.ws.ID, "leaver@example.org", store.SuppressUnsubscribed, "test")
	}); err != nil {
		t.Fatal(err)
	}
	if e := b.enrollment(t, nl.ID); e.State != store.EnrollmentExited || e.ExitReason != store.SuppressUnsubscribed {
		t.Errorf("newsletter enrollment: %s (%s), want exited (unsubscribed)", e.State, e.ExitReason)
	}
	b.startWorker(t)
	eventually(t, 10*time.Second, func() bool {
		return b.messages(t, "Leaver@Example.org")[0].Status == store.MessageSuppressed
	}, "the queued message suppressed")

	// Enrolled again elsewhere, the lead leaves at the first step.
	enr2 := b.enroll(t, later, lead)
	e := b.waitEnrollment(t, enr2.ID, 10*time.Second, "exited", func(e store.Enrollment) bool {
		return e.State != store.EnrollmentActive
	})
	if e.State != store.EnrollmentExited || e.ExitReason != store.SuppressUnsubscribed {
		t.Errorf("later enrollment: %s (%s), want exited (unsubscribed)", e.State, e.ExitReason)
	}
	if n := len(b.messages(t, "Leaver@Example.org")); n != 1 {
		t.Errorf("messages: %d, want only the withheld one", n)
	}
	if n := len(b.smtp.Messages()); n != 0 {
		t.Errorf("the server got %d messages", n)
	}
}

// When the workspace requires consent, a lead without it gets no marketing
// email; one with it does.
func TestConsentRequired(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	b.settings(t, func(s *store.WorkspaceSettings) { s.RequireConsent = true })
	tpl := b.newTemplate(t, "Hi", "<p>Hi</p>", "Hi")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	silent := b.newLead(t, "silent@example.org", func(l *store.Lead) { l.Consent, l.ConsentAt = false, nil })
	agreed := b.newLead(t, "agreed@example.org", nil)
	b.enroll(t, seq, silent)
	b.enroll(t, seq, agreed)
	b.startWorker(t)

	b.smtp.WaitFor(t, 1, 15*time.Second)
	eventually(t, 10*time.Second, func() bool {
		ms := b.messages(t, "silent@example.org")
		return len(ms) == 1 && ms[0].Status == store.MessageSuppressed
	}, "the message to the lead without consent withheld")
	if got := b.messages(t, "silent@example.org")[0].LastError; got != "no recorded consent" {
		t.Errorf("why: %q", got)
	}
	if n := len(b.smtp.To("silent@example.org")); n != 0 {
		t.Errorf("the lead without consent got %d emails", n)
	}
	if n := len(b.smtp.To("agreed@example.org")); n != 1 {
		t.Errorf("the consenting lead got %d emails, want 1", n)
	}
}

// A send task for an attempt that is over, or for a message already sent,
// sends nothing: the duplicate an orphaned task makes when Asynq recovers
// it late.
func TestStaleSendTaskSendsNothing(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	tpl := b.newTemplate(t, "Hi", "<p>Hi</p>", "Hi")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	lead := b.newLead(t, "once@example.org", nil)
	b.enroll(t, seq, lead)
	b.startWorker(t)
	b.smtp.WaitFor(t, 1, 15*time.Second)
	var msg store.Message
	eventually(t, 10*time.Second, func() bool {
		msg = b.messages(t, "once@example.org")[0]
		return msg.Status == store.MessageSent
	}, "the message marked sent")
	for _, attempt := range []int{0, 1, 2} {
		if err := b.eng.Send(b.ctx, SendPayload{WorkspaceID: b.ws.ID, MessageID: msg.ID, Attempt: attempt}); err != nil {
			t.Errorf("Send attempt %d: %v", attempt, err)
		}
	}
	if n := len(b.smtp.Messages()); n != 1 {
		t.Errorf("deliveries: %d, want 1", n)
	}
}

// countEngagement counts a lead's engagement events of a kind.
func (b *engineBundle) countEngagement(t *testing.T, leadID uuid.UUID, kind string) int {
	t.Helper()
	var n int
	if err := b.store.Pool.QueryRow(b.ctx, `SELECT count(*) FROM engagement_events WHERE workspace_id = $1 AND lead_id = $2 AND kind = $3`,
		b.ws.ID, leadID, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// leadEnrollments lists a lead's enrollments, oldest first.
func (b *engineBundle) leadEnrollments(t *testing.T, leadID uuid.UUID) []store.Enrollment {
	t.Helper()
	rows, err := b.store.Pool.Query(b.ctx, `SELECT id FROM enrollments WHERE workspace_id = $1 AND lead_id = $2 ORDER BY created_at, id`,
		b.ws.ID, leadID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	var out []store.Enrollment
	for _, id := range ids {
		out = append(out, b.enrollment(t, id))
	}
	return out
}

// Messages sent one after another share one SMTP connection; one the
// server has closed since is replaced without counting an attempt.
func TestConnectionsAreReused(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	tpl := b.newTemplate(t, "Hi", "<p>Hi</p>", "Hi")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	send := func(i int) store.Message {
		t.Helper()
		lead := b.newLead(t, "reuse"+string(rune('a'+i))+"@example.org", nil)
		enr := b.enroll(t, seq, lead)
		if err := b.eng.RunStep(b.ctx, StepPayload{WorkspaceID: b.ws.ID, EnrollmentID: enr.ID, StepKey: "s1"}); err != nil {
			t.Fatal(err)
		}
		m := b.messages(t, lead.Email)[0]
		if err := b.eng.Send(b.ctx, SendPayload{WorkspaceID: b.ws.ID, MessageID: m.ID}); err != nil {
			t.Fatal(err)
		}
		return b.messages(t, lead.Email)[0]
	}
	const n = 10
	for i := range n {
		send(i)
	}
	if got, sessions := len(b.smtp.Messages()), b.smtp.Sessions(); got != n || sessions != 1 {
		t.Fatalf("%d deliveries in %d sessions, want %d in 1", got, sessions, n)
	}
	b.smtp.DropConnections()
	m := send(n)
	if m.Status != store.MessageSent || m.Attempts != 1 {
		t.Errorf("after the server hung up: %s with %d attempts, want sent with 1", m.Status, m.Attempts)
	}
	if got, sessions := len(b.smtp.Messages()), b.smtp.Sessions(); got != n+1 || sessions != 2 {
		t.Errorf("%d deliveries in %d sessions, want %d in 2", got, sessions, n+1)
	}
}

// A message held back by the send rate is looked at again before it goes:
// an address suppressed while it waited gets nothing.
func TestSuppressedWhileWaitingForTheRate(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	b.settings(t, func(s *store.WorkspaceSettings) { s.SendRatePerSecond = 0.2 }) // one every 5s
	tpl := b.newTemplate(t, "Hi", "<p>Hi</p>", "Hi")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	first := b.newLead(t, "first@example.org", nil)
	second := b.newLead(t, "second@example.org", nil)
	b.enroll(t, seq, first)
	b.enroll(t, seq, second)
	b.startWorker(t)

	// One goes at once; the other, made too, waits its turn.
	got := b.smtp.WaitFor(t, 1, 15*time.Second)[0]
	waiting := "second@example.org"
	if got.To[0] == waiting {
		waiting = "first@example.org"
	}
	eventually(t, 15*time.Second, func() bool { return len(b.messages(t, waiting)) == 1 }, "the second message made")
	if err := b.store.InTx(b.ctx, func(q *store.Queries) error {
		return b.eng.Suppress(b.ctx, q, b.ws.ID, waiting, store.SuppressUnsubscribed, "test")
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, func() bool {
		return b.messages(t, waiting)[0].Status == store.MessageSuppressed
	}, "the waiting message suppressed")
	if n := len(b.smtp.To(waiting)); n != 0 {
		t.Errorf("%s got %d emails after unsubscribing", waiting, n)
	}
}
