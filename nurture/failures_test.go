package nurture

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"leadflow/store"
)

// A step that keeps failing is tried MaxAttempts times, then its
// enrollment is failed at that step with its last error, listed as failed;
// retried once the cause is fixed, it runs, and its email goes once.
func TestStepThatKeepsFailingBecomesFailedAndCanBeRetried(t *testing.T) {
	t.Parallel()
	b := setupEngine(t, func(c *Config) { c.MaxAttempts = 3 })
	tpl := b.newTemplate(t, "Fixed", "<p>Fixed</p>", "Fixed")
	seq := b.newSequence(t, []Step{{Key: "s1", Type: "teleport"}}, nil)
	enr := b.enroll(t, seq, b.newLead(t, "stuck@example.org", nil))
	b.startWorker(t)

	var failed store.FailedEnrollment
	eventually(t, 30*time.Second, func() bool {
		es, err := b.store.ListFailedEnrollments(b.ctx, b.ws.ID, store.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 1 {
			failed = es[0]
			return true
		}
		return false
	}, "the enrollment failed")
	if failed.ID != enr.ID || failed.State != store.EnrollmentFailed || failed.StepKey != "s1" || failed.Attempts != 3 ||
		!strings.Contains(failed.LastError, "teleport") {
		t.Errorf("failed enrollment: %+v", failed)
	}
	// It stays failed: nothing runs it again on its own.
	if steps, _, err := b.eng.ScheduleOnce(b.ctx); err != nil || steps != 0 {
		t.Errorf("ScheduleOnce on a failed enrollment: %d steps, %v; want none", steps, err)
	}
	if _, err := b.eng.RetryMessage(b.ctx, b.ws.ID, enr.ID); err == nil {
		t.Error("an enrollment retried as a message")
	}

	raw, err := json.Marshal([]Step{emailStep("s1", tpl)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.Pool.Exec(b.ctx, `UPDATE sequences SET steps = $2 WHERE id = $1`, seq.ID, raw); err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.RetryEnrollment(b.ctx, b.ws.ID, enr.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.RetryEnrollment(b.ctx, b.ws.ID, enr.ID); err == nil {
		t.Error("an enrollment that has not failed retried")
	}
	b.waitEnrollment(t, enr.ID, 30*time.Second, "completed", func(e store.Enrollment) bool {
		return e.State == store.EnrollmentCompleted
	})
	b.smtp.WaitFor(t, 1, 15*time.Second)
	if n := len(b.smtp.To("stuck@example.org")); n != 1 {
		t.Errorf("deliveries: %d, want 1", n)
	}
}

// A message that keeps failing before it reaches the relay (its workspace
// has no sender) becomes failed after MaxAttempts with its last error;
// retried once the sender is set, it goes once.
func TestMessageThatKeepsFailingBecomesFailedAndCanBeRetried(t *testing.T) {
	t.Parallel()
	b := setupEngine(t, func(c *Config) { c.MaxAttempts = 3 })
	tpl := b.newTemplate(t, "Hi", "<p>Hi</p>", "Hi")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	b.enroll(t, seq, b.newLead(t, "nosender@example.org", nil))
	b.settings(t, func(s *store.WorkspaceSettings) { s.SenderEmail = "" })
	b.startWorker(t)

	var msg store.Message
	eventually(t, 30*time.Second, func() bool {
		ms, err := b.store.ListFailedMessages(b.ctx, b.ws.ID, store.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 1 {
			msg = ms[0]
			return true
		}
		return false
	}, "the message failed")
	if msg.Attempts != 3 || !strings.Contains(msg.LastError, "no sender address") {
		t.Errorf("failed message: attempts %d, last_error %q", msg.Attempts, msg.LastError)
	}
	if n := len(b.smtp.Messages()); n != 0 {
		t.Fatalf("the relay got %d messages", n)
	}

	b.settings(t, func(s *store.WorkspaceSettings) {})
	if _, err := b.eng.RetryMessage(b.ctx, b.ws.ID, msg.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() bool {
		return b.messages(t, "nosender@example.org")[0].Status == store.MessageSent
	}, "the retried message sent")
	b.waitQueueIdle(t, 30*time.Second)
	if n := len(b.smtp.To("nosender@example.org")); n != 1 {
		t.Errorf("deliveries: %d, want 1", n)
	}
}
