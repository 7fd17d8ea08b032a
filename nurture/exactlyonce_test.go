package nurture

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/store"
)

// A worker killed while the SMTP server holds its message in DATA never
// finished the transaction: another worker sends the message, once.
func TestKilledWorkerMidSendSendsOnce(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	tpl := b.newTemplate(t, "Only once", "<p>Once</p>", "Once")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	lead := b.newLead(t, "once@example.org", nil)
	b.enroll(t, seq, lead)

	b.smtp.Hang()
	first := b.startProcess(t, "worker-1")
	select {
	case <-b.smtp.Hangs():
	case <-time.After(30 * time.Second):
		t.Fatal("the first worker never reached DATA")
	}
	first.Kill()
	b.smtp.Unhang()
	msg := b.messages(t, "once@example.org")[0]
	if msg.Status != store.MessageQueued || msg.Attempts != 1 {
		t.Fatalf("after the kill: %s with %d attempts, want queued with 1", msg.Status, msg.Attempts)
	}

	b.startProcess(t, "worker-2")
	eventually(t, 30*time.Second, func() bool {
		msg = b.messages(t, "once@example.org")[0]
		return msg.Status == store.MessageSent
	}, "the message sent by the second worker")
	got := b.smtp.To("once@example.org")
	if len(got) != 1 || got[0].Helo != "worker-2" {
		t.Fatalf("deliveries: %d (%v), want one from worker-2", len(got), helos(got))
	}
	if msg.Attempts != 2 {
		t.Errorf("attempts: %d, want 2 (the killed one counted)", msg.Attempts)
	}
	// The killed worker's task, when Asynq recovers it, finds its attempt
	// over; and the scheduler has nothing left to put on the queue.
	if err := b.eng.Send(b.ctx, SendPayload{WorkspaceID: b.ws.ID, MessageID: msg.ID, Attempt: 0}); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(2 * b.cfg.Lease)
	if steps, msgs, err := b.eng.ScheduleOnce(b.ctx); err != nil || steps+msgs != 0 {
		t.Errorf("ScheduleOnce after: %d steps, %d messages, %v; want nothing", steps, msgs, err)
	}
	if n := len(b.smtp.Messages()); n != 1 {
		t.Errorf("deliveries in all: %d, want 1", n)
	}
}

// Redis flushed while steps and sends wait on the queue, and again in the
// middle of the sequence: the scheduler rebuilds the queue from PostgreSQL
// and every lead gets each email exactly once.
func TestRedisFlushLosesAndRepeatsNothing(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	first := b.newTemplate(t, "First", "<p>First</p>", "First")
	second := b.newTemplate(t, "Second", "<p>Second</p>", "Second")
	seq := b.newSequence(t, []Step{emailStep("a", first), waitStep("w", 2*time.Second), emailStep("b", second)}, nil)
	var leads []string
	var enrs []uuid.UUID
	for i := range 5 {
		email := fmt.Sprintf("lead%d@example.org", i)
		leads = append(leads, email)
		enrs = append(enrs, b.enroll(t, seq, b.newLead(t, email, nil)).ID)
	}
	// The first steps go on the queue, and the queue is lost.
	if steps, _, err := b.eng.ScheduleOnce(b.ctx); err != nil || steps != 5 {
		t.Fatalf("ScheduleOnce: %d, %v", steps, err)
	}
	if err := b.rdb.FlushDB(b.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	b.startWorker(t)
	b.smtp.WaitFor(t, 5, 30*time.Second)
	// Mid-sequence (the leads are waiting), again.
	if err := b.rdb.FlushDB(b.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for _, id := range enrs {
		b.waitEnrollment(t, id, 30*time.Second, "completed", func(e store.Enrollment) bool {
			return e.State == store.EnrollmentCompleted
		})
	}
	eventually(t, 30*time.Second, func() bool {
		n := 0
		for _, l := range leads {
			for _, m := range b.messages(t, l) {
				if m.Status == store.MessageSent {
					n++
				}
			}
		}
		return n == 10
	}, "ten messages sent")
	for _, l := range leads {
		if diff := cmp.Diff([]string{"First", "Second"}, b.subjects(t, l)); diff != "" {
			t.Errorf("%s's emails (-want +got):\n%s", l, diff)
		}
	}
	if n := len(b.smtp.Messages()); n != 10 {
		t.Errorf("deliveries: %d, want 10", n)
	}
}

// Two worker processes share the workspace's send rate: the SMTP server
// never sees more than the rate plus the burst in any second.
func TestSendRateHeldAcrossProcesses(t *testing.T) {
	t.Parallel()
	const rate, n = 5, 30
	b := setupEngine(t)
	b.settings(t, func(s *store.WorkspaceSettings) { s.SendRatePerSecond = rate })
	tpl := b.newTemplate(t, "Paced", "<p>Paced</p>", "Paced")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	for i := range n {
		b.enroll(t, seq, b.newLead(t, fmt.Sprintf("paced%02d@example.org", i), nil))
	}
	b.startProcess(t, "worker-a")
	b.startProcess(t, "worker-b")
	msgs := b.smtp.WaitFor(t, n, 60*time.Second)

	var at []time.Time
	for _, m := range msgs {
		at = append(at, m.At)
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	burst := sendLimit(rate).Burst
	most := 0
	for i := range at {
		j := i
		for j < len(at) && at[j].Sub(at[i]) < time.Second {
			j++
		}
		most = max(most, j-i)
	}
	if most > rate+burst {
		t.Errorf("%d messages within one second; the rate is %d/s with a burst of %d", most, rate, burst)
	}
	// n messages at the rate take at least (n-burst)/rate seconds.
	if span, min := at[len(at)-1].Sub(at[0]), time.Duration(n-burst)*time.Second/rate-300*time.Millisecond; span < min {
		t.Errorf("%d messages in %s, want at least %s", n, span, min)
	}
	t.Logf("%d messages in %s; at most %d in any second (rate %d/s, burst %d)", n, at[len(at)-1].Sub(at[0]), most, rate, burst)
	eventually(t, 10*time.Second, func() bool {
		var sent int
		if err := b.store.Pool.QueryRow(b.ctx, `SELECT count(*) FROM messages WHERE status = 'sent'`).Scan(&sent); err != nil {
			t.Fatal(err)
		}
		return sent == n
	}, "every message marked sent")
	msgs = b.smtp.Messages()
	if got := helos(msgs); !slices.Contains(got, "worker-a") || !slices.Contains(got, "worker-b") {
		t.Errorf("senders %v, want both worker processes", got)
	}
	if len(msgs) != n {
		t.Errorf("deliveries: %d, want %d", len(msgs), n)
	}
}

// helos lists the distinct HELO names the messages came with.
func helos(msgs []smtpMessage) []string {
	var out []string
	for _, m := range msgs {
		if !slices.Contains(out, m.Helo) {
			out = append(out, m.Helo)
		}
	}
	slices.Sort(out)
	return out
}

// A worker killed with one message in DATA and another waiting for an SMTP
// connection (its task taken from the queue, its attempt not claimed): at
// the default lease, a second worker takes both up well before Asynq would
// recover the dead worker's tasks, and each is delivered once.
func TestKilledWorkerTasksTakenUpWithinTheLease(t *testing.T) {
	t.Parallel()
	b := setupEngine(t, func(c *Config) {
		c.Lease = DefaultLease
		c.SMTP.PoolSize = 1
	})
	tpl := b.newTemplate(t, "Soon", "<p>Soon</p>", "Soon")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	b.enroll(t, seq, b.newLead(t, "soon1@example.org", nil))
	b.enroll(t, seq, b.newLead(t, "soon2@example.org", nil))

	b.smtp.Hang()
	first := b.startProcess(t, "worker-1")
	select {
	case <-b.smtp.Hangs():
	case <-time.After(30 * time.Second):
		t.Fatal("the first worker never reached DATA")
	}
	eventually(t, 30*time.Second, func() bool {
		active, err := b.eng.inspector.ListActiveTasks(Queue)
		if err != nil {
			return false
		}
		sends := 0
		for _, a := range active {
			if a.Type == TypeSend {
				sends++
			}
		}
		return sends == 2
	}, "both sends taken by the first worker")
	first.Kill()
	killed := time.Now()
	b.smtp.Unhang()

	b.startProcess(t, "worker-2")
	eventually(t, 30*time.Second, func() bool {
		for _, to := range []string{"soon1@example.org", "soon2@example.org"} {
			if b.messages(t, to)[0].Status != store.MessageSent {
				return false
			}
		}
		return true
	}, "both messages sent by the second worker")
	t.Logf("the dead worker's sends were done %s after it was killed (lease %s)", time.Since(killed).Round(100*time.Millisecond), b.cfg.Lease)
	for _, to := range []string{"soon1@example.org", "soon2@example.org"} {
		if got := b.smtp.To(to); len(got) != 1 || got[0].Helo != "worker-2" {
			t.Errorf("%s: deliveries %d (%v), want one from worker-2", to, len(got), helos(got))
		}
	}
	// The dead worker's tasks, recovered late, find their attempts over.
	for _, to := range []string{"soon1@example.org", "soon2@example.org"} {
		m := b.messages(t, to)[0]
		for attempt := range m.Attempts {
			if err := b.eng.Send(b.ctx, SendPayload{WorkspaceID: b.ws.ID, MessageID: m.ID, Attempt: attempt}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := len(b.smtp.Messages()); n != 2 {
		t.Errorf("deliveries in all: %d, want 2", n)
	}
}
