package nurture_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"leadflow/capture"
	"leadflow/nurture"
	"leadflow/store"
	"leadflow/store/storetest"
)

// responseFrom commits a pending response to the form from a client IP, as
// capture does.
func (b *trackBundle) responseFrom(t *testing.T, form store.Form, posted, ip string) uuid.UUID {
	t.Helper()
	email, canonical, err := capture.NormalizeEmail(posted)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := json.Marshal(capture.Fields{Email: email, EmailCanonical: canonical, FirstName: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	id := store.NewID()
	if _, err := b.st.Pool.Exec(b.ctx, `
		INSERT INTO responses (id, workspace_id, form_id, received_at, ip, user_agent, raw, fields, utm, custom, verdict, status)
		VALUES ($1, $2, $3, $4, $5, 'test', $6, $7, '{}', '{}', 'ok', 'pending')`,
		id, form.WorkspaceID, form.ID, b.clock.Now(), netip.MustParseAddr(ip),
		map[string][]string{"email": {posted}}, fields); err != nil {
		t.Fatal(err)
	}
	return id
}

// confirmations counts the workspace's confirmation emails (double opt-in
// and event registration).
func (b *trackBundle) confirmations(t *testing.T, ws store.Workspace) int {
	t.Helper()
	var n int
	if err := b.st.Pool.QueryRow(b.ctx, `SELECT count(*) FROM messages
		WHERE workspace_id = $1 AND (dedupe_key LIKE 'confirm:%' OR dedupe_key LIKE 'event:%')`, ws.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A double opt-in form emails whatever address is posted: past
// ConfirmPerAddress confirmations to one address within the window, and past
// ConfirmPerIP from one client, the response is kept but no email is made.
func TestDoubleOptInConfirmationsAreLimited(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	form := b.doiForm(t, b.ws)

	var ids []uuid.UUID
	for i := range nurture.DefaultConfirmPerAddress + 1 {
		// The same person (dots and case aside) from ever new addresses.
		ids = append(ids, b.responseFrom(t, form, "Victim@Example.com", fmt.Sprintf("198.51.100.%d", i+1)))
	}
	for _, id := range ids {
		if out := b.process(t, id); out.Status != store.ResponseAwaitingConfirmation {
			t.Errorf("response %s: %s, want awaiting confirmation", id, out.Status)
		}
	}
	if n := b.confirmations(t, b.ws); n != nurture.DefaultConfirmPerAddress {
		t.Errorf("%d confirmations to one address, want %d", n, nurture.DefaultConfirmPerAddress)
	}
	// Processing the refused one again (a retry) still makes none.
	b.process(t, ids[len(ids)-1])
	if n := len(b.responseMessages(t, b.ws, ids[len(ids)-1])); n != 0 {
		t.Errorf("the response past the limit has %d messages", n)
	}
	// Every response is committed, whatever its email.
	for _, id := range ids {
		if r := b.getResponse(t, b.ws, id); r.Status != store.ResponseAwaitingConfirmation {
			t.Errorf("response %s is %s", id, r.Status)
		}
	}

	// One client posting many addresses.
	before := b.confirmations(t, b.ws)
	ids = ids[:0]
	for i := range nurture.DefaultConfirmPerIP + 1 {
		ids = append(ids, b.responseFrom(t, form, fmt.Sprintf("person%d@example.org", i), "203.0.113.9"))
	}
	for _, id := range ids {
		b.process(t, id)
	}
	if n := b.confirmations(t, b.ws) - before; n != nurture.DefaultConfirmPerIP {
		t.Errorf("%d confirmations from one IP, want %d", n, nurture.DefaultConfirmPerIP)
	}
	if n := len(b.responseMessages(t, b.ws, ids[len(ids)-1])); n != 0 {
		t.Errorf("the response past the IP limit has %d messages", n)
	}
	// Another IPv6 address of the same /64 is the same client.
	id := b.responseFrom(t, form, "v6@example.org", "2001:db8:1:2::1")
	b.process(t, id)
	for i := range nurture.DefaultConfirmPerIP {
		b.process(t, b.responseFrom(t, form, fmt.Sprintf("six%d@example.org", i), fmt.Sprintf("2001:db8:1:2::%x", i+2)))
	}
	if n := len(b.responseMessages(t, b.ws, id)); n != 1 {
		t.Errorf("the first IPv6 response has %d messages, want 1", n)
	}
	last := b.responseFrom(t, form, "last@example.org", "2001:db8:1:2:ffff::1")
	b.process(t, last)
	if n := len(b.responseMessages(t, b.ws, last)); n != 0 {
		t.Errorf("a response past the /64's limit has %d messages", n)
	}

	// The limits are a workspace's: another's forms are not held back.
	otherForm := b.doiForm(t, b.other)
	b.process(t, b.responseFrom(t, otherForm, "victim@example.com", "203.0.113.9"))
	if n := b.confirmations(t, b.other); n != 1 {
		t.Errorf("another workspace got %d confirmations, want 1", n)
	}
}

// Event registration confirmations are held to the same limits; the
// registration and the lead are made all the same.
func TestEventConfirmationsAreLimited(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	eventID := store.NewID()
	if _, err := b.st.Pool.Exec(b.ctx, `INSERT INTO events (id, workspace_id, name) VALUES ($1, $2, 'Launch day')`, eventID, b.ws.ID); err != nil {
		t.Fatal(err)
	}
	form, err := b.st.InsertForm(b.ctx, store.Form{WorkspaceID: b.ws.ID, Name: "Launch", Kind: store.FormEventRegistration, EventID: &eventID})
	if err != nil {
		t.Fatal(err)
	}
	n := nurture.DefaultConfirmPerIP + 1
	for i := range n {
		out := b.process(t, b.responseFrom(t, form, fmt.Sprintf("guest%d@example.org", i), "203.0.113.50"))
		if out.Status != store.ResponseProcessed || out.Registration != store.RegistrationRegistered {
			t.Fatalf("response %d: %+v", i, out)
		}
	}
	if got := b.confirmations(t, b.ws); got != nurture.DefaultConfirmPerIP {
		t.Errorf("%d event confirmations from one IP, want %d", got, nurture.DefaultConfirmPerIP)
	}
	if got := b.countLeads(t, b.ws); got != n {
		t.Errorf("%d leads, want %d: the limit holds back emails, not registrations", got, n)
	}
}

// redisDown makes every command of a real Redis client fail, as when Redis
// is unreachable.
type redisDown struct{}

func (redisDown) DialHook(next redis.DialHook) redis.DialHook { return next }
func (redisDown) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(context.Context, redis.Cmder) error { return errors.New("dial tcp: connection refused") }
}
func (redisDown) ProcessPipelineHook(redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(context.Context, []redis.Cmder) error { return errors.New("dial tcp: connection refused") }
}

// While Redis cannot count confirmations, none is sent uncounted: the
// response's processing fails and is retried, and once Redis answers the
// email is made. The response stays committed throughout.
func TestConfirmationWaitsWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	down := redis.NewClient(storetest.RedisOptions(t))
	t.Cleanup(func() { down.Close() })
	down.AddHook(redisDown{})
	eng, err := nurture.New(nurture.Config{
		Store: b.st, Queue: b.queue, Redis: down, Signer: b.signer, BaseURL: trackBaseURL, Now: b.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	proc, err := capture.NewProcessor(capture.ProcessorConfig{Store: b.st, Enroller: eng, Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	form := b.doiForm(t, b.ws)
	id := b.responseFrom(t, form, "ada@example.com", "198.51.100.1")
	if _, err := proc.Process(b.ctx, id); err == nil {
		t.Fatal("processing succeeded without Redis to count the confirmation")
	}
	if r := b.getResponse(t, b.ws, id); r.Status != store.ResponsePending {
		t.Errorf("the response is %s, want still pending", r.Status)
	}
	if n := len(b.responseMessages(t, b.ws, id)); n != 0 {
		t.Errorf("%d messages made while Redis was down", n)
	}
	if out := b.process(t, id); out.Status != store.ResponseAwaitingConfirmation {
		t.Errorf("processing once Redis is back = %+v", out)
	}
	if n := len(b.responseMessages(t, b.ws, id)); n != 1 {
		t.Errorf("%d messages once Redis is back, want 1", n)
	}
}
