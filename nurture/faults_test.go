package nurture

import (
	"fmt"
	"testing"
	"time"

	"leadflow/store"
	"leadflow/store/storetest"
)

// More sends at once than SMTP connections, through a relay slow enough
// that the wait for a connection outlasts the lease: each message is
// delivered exactly once.
func TestSlowRelayMoreSendsThanConnectionsSendsOnce(t *testing.T) {
	t.Parallel()
	const n = 10
	b := setupEngine(t, func(c *Config) { c.SMTP.PoolSize = 1 })
	b.smtp.Delay(500 * time.Millisecond) // n of them take longer than the lease
	tpl := b.newTemplate(t, "Slow", "<p>Slow</p>", "Slow")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	for i := range n {
		b.enroll(t, seq, b.newLead(t, fmt.Sprintf("slow%02d@example.org", i), nil))
	}
	b.startWorker(t)
	b.waitAllSent(t, n, 60*time.Second)
	b.waitQueueIdle(t, 30*time.Second)
	for i := range n {
		to := fmt.Sprintf("slow%02d@example.org", i)
		if got := len(b.smtp.To(to)); got != 1 {
			t.Errorf("%s: %d deliveries, want 1", to, got)
		}
	}
	if got := len(b.smtp.Messages()); got != n {
		t.Errorf("deliveries in all: %d, want %d", got, n)
	}
}

// waitAllSent polls until n messages of the workspace are marked sent.
func (b *engineBundle) waitAllSent(t testing.TB, n int, within time.Duration) {
	t.Helper()
	eventually(t, within, func() bool {
		var sent int
		if err := b.store.Pool.QueryRow(b.ctx, `SELECT count(*) FROM messages WHERE workspace_id = $1 AND status = $2`,
			b.ws.ID, store.MessageSent).Scan(&sent); err != nil {
			t.Fatal(err)
		}
		return sent == n
	}, "%d messages marked sent", n)
}

// waitQueueIdle polls until no nurture task waits or runs: a second attempt
// still on its way would have been found by then.
func (b *engineBundle) waitQueueIdle(t testing.TB, within time.Duration) {
	t.Helper()
	eventually(t, within, func() bool {
		info, err := b.eng.inspector.GetQueueInfo(Queue)
		if err != nil {
			return false
		}
		return info.Pending == 0 && info.Active == 0 && info.Scheduled == 0 && info.Retry == 0
	}, "the nurture queue idle")
}

// A database outage while messages go through a relay taking 1s each: the
// messages the relay accepted while PostgreSQL was away are held until they
// are recorded, and each is delivered exactly once.
func TestDatabaseOutageDuringSendsSendsOnce(t *testing.T) {
	t.Parallel()
	const n = 8
	b := setupEngine(t)
	proxy, viaProxy := storetest.ProxyURL(t, b.dbURL)
	st, err := store.Open(b.ctx, viaProxy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	cfg := b.cfg
	cfg.Store = st
	cfg.SMTP.PoolSize = 4
	if b.eng, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.eng.Close() })
	b.smtp.Delay(time.Second)
	tpl := b.newTemplate(t, "Outage", "<p>Outage</p>", "Outage")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	for i := range n {
		b.enroll(t, seq, b.newLead(t, fmt.Sprintf("outage%02d@example.org", i), nil))
	}
	b.startWorker(t)
	// Cut PostgreSQL while the first messages are with the relay, for
	// longer than a lease, and bring it back.
	eventually(t, 30*time.Second, func() bool { return b.smtp.InData() > 0 }, "a message in DATA")
	proxy.Cut()
	b.smtp.WaitFor(t, 1, 30*time.Second)
	eventually(t, 30*time.Second, func() bool { return b.eng.held.count() > 0 }, "a sent message held")
	// The outage itself lasts two leases.
	outage := time.NewTimer(2 * b.cfg.Lease)
	<-outage.C
	proxy.Restore()

	b.waitAllSent(t, n, 90*time.Second)
	b.waitQueueIdle(t, 30*time.Second)
	for i := range n {
		to := fmt.Sprintf("outage%02d@example.org", i)
		if got := len(b.smtp.To(to)); got != 1 {
			t.Errorf("%s: %d deliveries, want 1", to, got)
		}
	}
	if got := len(b.smtp.Messages()); got != n {
		t.Errorf("deliveries in all: %d, want %d", got, n)
	}
}
