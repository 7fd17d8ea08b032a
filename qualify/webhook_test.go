package qualify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/store"
)

// hoReceiver is a webhook receiver on loopback that checks every request's
// signature as a receiver should, and answers with the statuses it is
// given, in turn (200 once they run out).
type hoReceiver struct {
	srv    *httptest.Server
	secret string
	clock  *hoClock

	mu       sync.Mutex
	statuses []int
	got      []hoRequest
}

// hoRequest is a request as the receiver saw it.
type hoRequest struct {
	Event, Delivery string
	Body            map[string]any
	// Verified: the signature matched the body; Tampered: it also matched
	// the body with one byte changed (it must not).
	Verified, Tampered error
}

func newReceiver(t *testing.T, secret string, clock *hoClock, statuses ...int) *hoReceiver {
	r := &hoReceiver{secret: secret, clock: clock, statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		sig := req.Header.Get(HeaderSignature)
		got := hoRequest{
			Event: req.Header.Get(HeaderEvent), Delivery: req.Header.Get(HeaderDelivery),
			Verified: VerifySignature(r.secret, sig, body, r.clock.Now(), 5*time.Minute),
			Tampered: VerifySignature(r.secret, sig, []byte(strings.Replace(string(body), "Ada", "Eve", 1)), r.clock.Now(), 5*time.Minute),
		}
		json.Unmarshal(body, &got.Body)
		r.mu.Lock()
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		r.got = append(r.got, got)
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hoReceiver) requests() []hoRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hoRequest(nil), r.got...)
}

// hoDelivery is a delivery's state as the test checks it.
type hoDelivery struct {
	ID            uuid.UUID  `db:"id"`
	Status        string     `db:"status"`
	Attempts      int        `db:"attempts"`
	NextAttemptAt time.Time  `db:"next_attempt_at"`
	LastError     string     `db:"last_error"`
	DeliveredAt   *time.Time `db:"delivered_at"`
}

func (b *hoBundle) delivery(t *testing.T) hoDelivery {
	t.Helper()
	ds := hoRows[hoDelivery](t, b, `SELECT id, status, attempts, next_attempt_at, last_error, delivered_at
		FROM webhook_deliveries`)
	if len(ds) != 1 {
		t.Fatalf("%d deliveries, want 1", len(ds))
	}
	return ds[0]
}

// deliver runs the webhook loop once.
func (b *hoBundle) deliver(t *testing.T) {
	t.Helper()
	if err := b.eng.deliverWebhooks(b.ctx); err != nil {
		t.Fatalf("deliver webhooks: %v", err)
	}
}

// loopbackAllowed gives the bundle an engine that may post webhooks to
// loopback, as an operator allows a network: the receivers of these tests
// listen there.
func (b *hoBundle) loopbackAllowed(t *testing.T) *hoBundle {
	t.Helper()
	cfg := b.eng.cfg
	cfg.WebhookAllowNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	eng, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.eng = eng
	return b
}

func TestWebhookSignedAndRetriedWithBackoffUntilAccepted(t *testing.T) {
	t.Parallel()
	b := hoSetup(t).loopbackAllowed(t)
	const secret = "whsec_test_secret"
	rcv := newReceiver(t, secret, b.clock, 500, 503)
	ann := b.user(t, "Ann", true)
	team := b.team(t, "Sales", nil, member(ann, 1, 0))
	b.rules(t, store.AssignmentRule{TeamID: team.ID})
	b.webhook(t, rcv.srv.URL+"/hooks/leadflow", secret, EventHandoffCreated)
	l := b.lead(t, "GB", "")
	h := b.handOff(t, l)

	// First attempt: the receiver fails; the next is 10 s (plus jitter) on.
	b.deliver(t)
	d := b.delivery(t)
	if d.Status != "pending" || d.Attempts != 1 || d.LastError != "receiver answered 500" {
		t.Fatalf("after a 500: %+v", d)
	}
	if wait := d.NextAttemptAt.Sub(b.clock.Now()); wait < 10*time.Second || wait > 11*time.Second {
		t.Errorf("first retry in %v, want 10s to 11s", wait)
	}
	// Not due yet: nothing is sent.
	b.clock.advance(9 * time.Second)
	b.deliver(t)
	if n := len(rcv.requests()); n != 1 {
		t.Fatalf("%d requests before the retry was due, want 1", n)
	}
	// Second attempt fails too: the wait doubles.
	b.clock.advance(2 * time.Second)
	b.deliver(t)
	d = b.delivery(t)
	if wait := d.NextAttemptAt.Sub(b.clock.Now()); d.Attempts != 2 || wait < 20*time.Second || wait > 22*time.Second {
		t.Errorf("after a 503: attempts %d, retry in %v; want 2, 20s to 22s", d.Attempts, wait)
	}
	// Third is accepted; the delivery is done and not sent again.
	b.clock.advance(22 * time.Second)
	b.deliver(t)
	b.clock.advance(time.Hour)
	b.deliver(t)
	d = b.delivery(t)
	if d.Status != "delivered" || d.Attempts != 3 || d.DeliveredAt == nil || d.LastError != "" {
		t.Errorf("after a 200: %+v", d)
	}

	reqs := rcv.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r.Verified != nil {
			t.Errorf("request %d: signature: %v", i, r.Verified)
		}
		if !errors.Is(r.Tampered, ErrSignatureInvalid) {
			t.Errorf("request %d: a tampered body verified: %v", i, r.Tampered)
		}
		// One delivery ID across retries, for the receiver's idempotency.
		if r.Event != EventHandoffCreated || r.Delivery != d.ID.String() {
			t.Errorf("request %d: event %q, delivery %q; want %q, %q", i, r.Event, r.Delivery, EventHandoffCreated, d.ID)
		}
	}
	body := reqs[0].Body
	got := map[string]any{
		"event":   body["event"],
		"handoff": body["handoff"].(map[string]any)["id"],
		"lead":    body["lead"].(map[string]any)["email"],
		"owner":   body["owner"].(map[string]any)["email"],
	}
	want := map[string]any{"event": EventHandoffCreated, "handoff": h.ID.String(), "lead": l.Email, "owner": ann.Email}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("payload (-want +got):\n%s", diff)
	}
	if strings.Contains(b.logs.String(), secret) {
		t.Errorf("the webhook secret was logged")
	}
}

func TestWebhookFailsForGoodAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	b := hoSetup(t).loopbackAllowed(t)
	rcv := newReceiver(t, "s", b.clock, 500)
	ann := b.user(t, "Ann", true)
	b.rules(t, store.AssignmentRule{TeamID: b.team(t, "Sales", nil, member(ann, 1, 0)).ID})
	b.webhook(t, rcv.srv.URL, "s", EventHandoffCreated)
	b.handOff(t, b.lead(t, "GB", ""))
	b.exec(t, `UPDATE webhook_deliveries SET attempts = $1`, webhookMaxAttempts-1)

	b.deliver(t)
	b.clock.advance(24 * time.Hour)
	b.deliver(t)
	if d := b.delivery(t); d.Status != "failed" || d.Attempts != webhookMaxAttempts {
		t.Errorf("after the last attempt: %+v, want failed after %d", d, webhookMaxAttempts)
	}
	if n := len(rcv.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestWebhookDeliveriesRunConcurrently(t *testing.T) {
	t.Parallel()
	b := hoSetup(t).loopbackAllowed(t)
	// Two receivers that each answer only once the other has been called:
	// deliveries made one after the other would never both succeed.
	arrived := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	handler := func(me, other string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			close(arrived[me])
			select {
			case <-arrived[other]:
				w.WriteHeader(http.StatusNoContent)
			case <-time.After(5 * time.Second):
				w.WriteHeader(http.StatusGatewayTimeout)
			}
		}
	}
	for me, other := range map[string]string{"a": "b", "b": "a"} {
		srv := httptest.NewServer(handler(me, other))
		t.Cleanup(srv.Close)
		b.webhook(t, srv.URL, "s-"+me, EventHandoffCreated)
	}
	ann := b.user(t, "Ann", true)
	b.rules(t, store.AssignmentRule{TeamID: b.team(t, "Sales", nil, member(ann, 1, 0)).ID})
	b.handOff(t, b.lead(t, "GB", ""))

	b.deliver(t)
	if n := b.count(t, `SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'`); n != 2 {
		t.Errorf("%d deliveries delivered, want 2", n)
	}
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	const secret = "whsec_abc"
	body := []byte(`{"event":"handoff.created"}`)
	sent := time.Date(2031, 3, 10, 9, 0, 0, 0, time.UTC)
	header := Sign(secret, body, sent)
	other := Sign("whsec_old", body, sent)
	for _, tc := range []struct {
		name   string
		secret string
		header string
		body   string
		now    time.Time
		want   error
	}{
		{"valid", secret, header, string(body), sent.Add(time.Minute), nil},
		{"valid while rotating secrets", secret, other + "," + strings.Split(header, ",")[1], string(body), sent, nil},
		{"tampered body", secret, header, `{"event":"handoff.accepted"}`, sent, ErrSignatureInvalid},
		{"wrong secret", "whsec_other", header, string(body), sent, ErrSignatureInvalid},
		{"replayed late", secret, header, string(body), sent.Add(6 * time.Minute), ErrSignatureExpired},
		{"from the future", secret, header, string(body), sent.Add(-6 * time.Minute), ErrSignatureExpired},
		{"changed timestamp", secret, strings.Replace(header, "t=", "t=1", 1), string(body), sent, ErrSignatureInvalid},
		{"missing", secret, "", string(body), sent, ErrSignatureInvalid},
		{"no signature", secret, "t=1931000000", string(body), sent, ErrSignatureInvalid},
		{"garbage", secret, "v1=zz,t=x", string(body), sent, ErrSignatureInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifySignature(tc.secret, tc.header, []byte(tc.body), tc.now, 5*time.Minute)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("VerifySignature = %v, want %v", err, tc.want)
			}
		})
	}
}

func ExampleVerifySignature() {
	secret := "whsec_from_the_post_response"
	http.HandleFunc("/hooks/leadflow", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if err := VerifySignature(secret, r.Header.Get(HeaderSignature), body, time.Now(), DefaultSignatureTolerance); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		// Seen r.Header.Get(HeaderDelivery) before? Answer 2xx and stop.
		w.WriteHeader(http.StatusNoContent)
	})
}

// fakeResolver answers look-ups from a table, as DNS would when a host's
// owner points it somewhere; other names do not resolve.
type fakeResolver map[string][]string

func (r fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func TestWebhookURLRefusedAtSave(t *testing.T) {
	t.Parallel()
	dns := fakeResolver{
		"crm.example":      {"93.184.215.14"},
		"internal.example": {"10.1.2.3"},
		// One public and one private address: the dialer may pick either.
		"split.example": {"93.184.215.14", "192.168.1.20"},
		"v6.example":    {"2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		"localhost":     {"127.0.0.1", "::1"},
	}
	const refused = "must reach a public address: "
	const hint = ", a loopback, private, link-local or reserved address (an operator can allow such a network with LEADFLOW_WEBHOOK_ALLOW_NETWORKS)"
	for _, tc := range []struct {
		name, url string
		allow     []string
		want      string // the url field's message; "" when accepted
	}{
		{"public name", "https://crm.example/hooks", nil, ""},
		{"public address", "https://93.184.215.14:8443/hooks", nil, ""},
		{"public IPv6", "https://v6.example/hooks", nil, ""},
		{"name that does not resolve yet", "https://later.example/hooks", nil, ""},
		{"loopback", "http://127.0.0.1:8080/hooks", nil, "must reach a public address: 127.0.0.1 is a loopback, private, link-local or reserved address (an operator can allow such a network with LEADFLOW_WEBHOOK_ALLOW_NETWORKS)"},
		{"localhost", "http://localhost:8080/hooks", nil, refused + "localhost resolves to 127.0.0.1" + hint},
		{"IPv6 loopback", "http://[::1]/hooks", nil, refused + "::1 is a loopback, private, link-local or reserved address (an operator can allow such a network with LEADFLOW_WEBHOOK_ALLOW_NETWORKS)"},
		{"IPv4-mapped loopback", "http://[::ffff:127.0.0.1]/hooks", nil, refused + "::ffff:127.0.0.1 resolves to 127.0.0.1" + hint},
		{"private name", "https://internal.example/hooks", nil, refused + "internal.example resolves to 10.1.2.3" + hint},
		{"one private address of two", "https://split.example/hooks", nil, refused + "split.example resolves to 192.168.1.20" + hint},
		{"cloud metadata", "http://169.254.169.254/latest/meta-data/", nil, refused + "169.254.169.254 is a loopback, private, link-local or reserved address (an operator can allow such a network with LEADFLOW_WEBHOOK_ALLOW_NETWORKS)"},
		{"unspecified", "http://0.0.0.0:9000/", nil, refused + "0.0.0.0 is a loopback, private, link-local or reserved address (an operator can allow such a network with LEADFLOW_WEBHOOK_ALLOW_NETWORKS)"},
		{"shared address space", "http://100.100.100.200/", nil, refused + "100.100.100.200 is a loopback, private, link-local or reserved address (an operator can allow such a network with LEADFLOW_WEBHOOK_ALLOW_NETWORKS)"},
		{"unique local IPv6", "http://[fd00:ec2::254]/", nil, refused + "fd00:ec2::254 is a loopback, private, link-local or reserved address (an operator can allow such a network with LEADFLOW_WEBHOOK_ALLOW_NETWORKS)"},
		{"private network allowed", "https://internal.example/hooks", []string{"10.0.0.0/8"}, ""},
		{"loopback allowed", "http://localhost:8080/hooks", []string{"127.0.0.1/32", "::1/128"}, ""},
		{"allowed elsewhere only", "http://localhost:8080/hooks", []string{"127.0.0.1/32"}, refused + "localhost resolves to ::1" + hint},
		{"credentials", "https://user:pass@crm.example/hooks", nil, "must not carry credentials (user:password@); verify the Leadflow-Signature header instead"},
		{"user only", "https://token@crm.example/hooks", nil, "must not carry credentials (user:password@); verify the Leadflow-Signature header instead"},
		{"scheme", "ftp://crm.example/hooks", nil, "must be an absolute http or https URL without a fragment"},
		{"file", "file:///etc/passwd", nil, "must be an absolute http or https URL without a fragment"},
		{"no host", "http://:8080/hooks", nil, "must be an absolute http or https URL without a fragment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var allow []netip.Prefix
			for _, p := range tc.allow {
				allow = append(allow, netip.MustParsePrefix(p))
			}
			in := apiWebhookInput{URL: tc.url, Events: []string{EventHandoffCreated}}
			_, err := in.validate(context.Background(), uuid.New(), newWebhookGuard(allow, dns))
			var got string
			if ve, ok := errors.AsType[*ValidationError](err); ok {
				got = ve.Fields["url"]
			} else if err != nil {
				t.Fatalf("validate: %v", err)
			}
			if got != tc.want {
				t.Errorf("url message:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestWebhookToLoopbackRefusedAtConnect(t *testing.T) {
	t.Parallel()
	b := hoSetup(t)
	rcv := newReceiver(t, "s", b.clock)
	ann := b.user(t, "Ann", true)
	b.rules(t, store.AssignmentRule{TeamID: b.team(t, "Sales", nil, member(ann, 1, 0)).ID})
	// Saved while their names resolved to public addresses (as DNS
	// rebinding does), so only the dialer stands between them and
	// loopback.
	u, _ := url.Parse(rcv.srv.URL)
	b.webhook(t, rcv.srv.URL, "s", EventHandoffCreated)
	b.webhook(t, "http://localhost:"+u.Port()+"/hooks", "s", EventHandoffCreated)
	b.handOff(t, b.lead(t, "GB", ""))

	b.deliver(t)
	if n := len(rcv.requests()); n != 0 {
		t.Errorf("%d requests reached the loopback receiver, want 0", n)
	}
	ds := hoRows[hoDelivery](t, b, `SELECT id, status, attempts, next_attempt_at, last_error, delivered_at FROM webhook_deliveries`)
	if len(ds) != 2 {
		t.Fatalf("%d deliveries, want 2", len(ds))
	}
	for _, d := range ds {
		if d.Status != "pending" || d.Attempts != 1 || !strings.Contains(d.LastError, "webhook address refused") ||
			!strings.Contains(d.LastError, "127.0.0.1") {
			t.Errorf("delivery after a refused connection: %+v", d)
		}
	}
}

func TestWebhookDialerChecksTheDialedAddress(t *testing.T) {
	t.Parallel()
	var hits sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.URL.Path, true)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	post := func(client *http.Client, target string) (int, error) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, target, strings.NewReader("{}"))
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// The resolver is the save-time one; the dialer resolves on its own and
	// checks the address it is about to connect to.
	denied := newWebhookGuard(nil, fakeResolver{}).client(5 * time.Second)
	for _, target := range []string{
		srv.URL + "/direct",
		"http://localhost:" + u.Port() + "/by-name",
		"http://[::ffff:127.0.0.1]:" + u.Port() + "/mapped",
		// Refused before any packet is sent: the check runs before connect.
		"http://169.254.169.254/latest/meta-data/",
		"http://10.0.0.1:" + u.Port() + "/private",
		"http://[::1]:" + u.Port() + "/v6",
	} {
		if status, err := post(denied, target); !errors.Is(err, ErrWebhookAddressRefused) {
			t.Errorf("POST %s: status %d, err %v; want refused", target, status, err)
		}
	}
	n := 0
	hits.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Errorf("%d requests reached the server through the guarded dialer, want 0", n)
	}

	allowed := newWebhookGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, fakeResolver{}).client(5 * time.Second)
	if status, err := post(allowed, "http://localhost:"+u.Port()+"/by-name"); err != nil || status != http.StatusNoContent {
		t.Errorf("POST to an allowed network: status %d, err %v", status, err)
	}
	// A redirect is the answer, not a new destination.
	if status, err := post(allowed, srv.URL+"/redirect"); err != nil || status != http.StatusTemporaryRedirect {
		t.Errorf("POST answered by a redirect: status %d, err %v; want the 307 itself", status, err)
	}
	if _, ok := hits.Load("/elsewhere"); ok {
		t.Errorf("the redirect was followed")
	}
}

// hungReceiver is a receiver that takes requests and never answers them,
// until the test ends. arrived is closed at its first request.
type hungReceiver struct {
	srv     *httptest.Server
	arrived chan struct{}
}

func newHungReceiver(t *testing.T) *hungReceiver {
	h := &hungReceiver{arrived: make(chan struct{})}
	release := make(chan struct{})
	var once sync.Once
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(h.arrived) })
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	// Cleanups run last first: release the handlers, then close.
	t.Cleanup(h.srv.Close)
	t.Cleanup(func() { close(release) })
	return h
}

// poll waits until ok holds, failing the test after a generous deadline.
func poll(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after 30s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWebhookReceiverThatNeverAnswersDelaysNoOne(t *testing.T) {
	t.Parallel()
	b := hoSetup(t).loopbackAllowed(t)
	// A delivery may take as long as a receiver is allowed: far longer
	// than this test waits for anything.
	cfg := b.eng.cfg
	cfg.Interval, cfg.WebhookTimeout = 10*time.Millisecond, 10*time.Minute
	eng, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.eng = eng
	b.settings(t, time.Hour, 3)
	ann, bob := b.user(t, "Ann", true), b.user(t, "Bob", true)
	b.rules(t, store.AssignmentRule{TeamID: b.team(t, "Sales", nil, member(ann, 1, 0), member(bob, 1, 0)).ID})
	hung := newHungReceiver(t)
	b.webhook(t, hung.srv.URL, "s1", EventHandoffCreated, EventHandoffReassigned)
	ok := newReceiver(t, "s2", b.clock)
	b.webhook(t, ok.srv.URL, "s2", EventHandoffReassigned)
	h := b.handOff(t, b.lead(t, "GB", ""))

	ctx, cancel := context.WithCancel(b.ctx)
	ran := make(chan error, 1)
	go func() { ran <- b.eng.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-hung.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the hung receiver was never called")
	}

	// The receiver holds its delivery; the SLA still passes on time...
	b.clock.advance(time.Hour)
	poll(t, "reassignment past the SLA", func() bool { return b.handoff(t, h).Reassignments == 1 })
	// ...and the other webhook gets the reassignment, though the hung one
	// still holds the first delivery.
	poll(t, "delivery to the answering receiver", func() bool { return len(ok.requests()) == 1 })
	if got := ok.requests()[0].Event; got != EventHandoffReassigned {
		t.Errorf("answering receiver got %q, want %q", got, EventHandoffReassigned)
	}
	if n := b.count(t, `SELECT count(*) FROM webhook_deliveries WHERE event = $1 AND attempts = 0`, EventHandoffCreated); n != 1 {
		t.Errorf("%d created deliveries still in flight, want 1 (the hung one)", n)
	}
}

func TestWebhookTimeoutRecordedAndRetried(t *testing.T) {
	t.Parallel()
	b := hoSetup(t).loopbackAllowed(t)
	cfg := b.eng.cfg
	cfg.WebhookTimeout = 200 * time.Millisecond
	eng, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.eng = eng
	hung := newHungReceiver(t)
	ann := b.user(t, "Ann", true)
	b.rules(t, store.AssignmentRule{TeamID: b.team(t, "Sales", nil, member(ann, 1, 0)).ID})
	b.webhook(t, hung.srv.URL, "s", EventHandoffCreated)
	b.handOff(t, b.lead(t, "GB", ""))

	b.deliver(t)
	d := b.delivery(t)
	if d.Status != "pending" || d.Attempts != 1 || d.LastError != "receiver did not answer within 200ms" {
		t.Errorf("after a timed-out attempt: %+v", d)
	}
	if wait := d.NextAttemptAt.Sub(b.clock.Now()); wait < 10*time.Second || wait > 11*time.Second {
		t.Errorf("retry in %v, want 10s to 11s", wait)
	}
}

// engine builds another engine on the bundle's database, as another work
// process would be, with cfg changed by change.
func (b *hoBundle) engine(t *testing.T, change func(*Config)) *Engine {
	t.Helper()
	cfg := b.eng.cfg
	change(&cfg)
	eng, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// run runs eng's webhook workers until the returned stop is called or the
// test ends.
func run(t *testing.T, eng *Engine) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.runWebhooks(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run webhooks: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestWebhookReceiverThatNeverAnswersHoldsFewWorkers(t *testing.T) {
	t.Parallel()
	b := hoSetup(t).loopbackAllowed(t)
	eng := b.engine(t, func(c *Config) {
		c.Interval, c.WebhookTimeout, c.WebhookWorkers = 10*time.Millisecond, 10*time.Minute, 4
	})
	ann := b.user(t, "Ann", true)
	b.rules(t, store.AssignmentRule{TeamID: b.team(t, "Sales", nil, member(ann, 1, 0)).ID})
	hung := newHungReceiver(t)
	hungHook := b.webhook(t, hung.srv.URL, "s1", EventHandoffCreated)
	ok := newReceiver(t, "s2", b.clock)
	b.webhook(t, ok.srv.URL, "s2", EventHandoffCreated)
	for range 5 {
		b.handOff(t, b.lead(t, "GB", ""))
	}
	// The hung receiver's deliveries are due first.
	b.exec(t, `UPDATE webhook_deliveries SET next_attempt_at = next_attempt_at - interval '1 hour' WHERE webhook_id = $1`, hungHook.ID)

	stop := run(t, eng)
	poll(t, "every delivery to the answering receiver", func() bool { return len(ok.requests()) == 5 })
	inFlight := `SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1 AND leased_until IS NOT NULL`
	if n := b.count(t, inFlight, hungHook.ID); n != webhookPerWebhook {
		t.Errorf("%d deliveries in flight to the hung receiver, want %d", n, webhookPerWebhook)
	}

	// Shutting down gives the claims back, due at once and not counted as
	// attempts: the next process need not wait for their leases.
	stop()
	if n := b.count(t, inFlight, hungHook.ID); n != 0 {
		t.Errorf("%d deliveries still leased after shutdown, want 0", n)
	}
	if n := b.count(t, `SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1 AND status = 'pending'
		AND attempts = 0 AND next_attempt_at <= $2`, hungHook.ID, b.clock.Now()); n != 5 {
		t.Errorf("%d of the hung receiver's deliveries due again, untried, want 5", n)
	}
}

func TestWebhookEachDeliveryOnceAcrossProcesses(t *testing.T) {
	t.Parallel()
	b := hoSetup(t).loopbackAllowed(t)
	var (
		mu  sync.Mutex
		got = map[string]int{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Header.Get(HeaderDelivery)]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	ann := b.user(t, "Ann", true)
	b.rules(t, store.AssignmentRule{TeamID: b.team(t, "Sales", nil, member(ann, 1, 0)).ID})
	for i := range 3 {
		b.webhook(t, srv.URL+"/"+strconv.Itoa(i), "s", EventHandoffCreated)
	}
	for range 10 {
		b.handOff(t, b.lead(t, "GB", ""))
	}
	// Three work processes deliver at once.
	for range 3 {
		run(t, b.engine(t, func(c *Config) { c.Interval = 5 * time.Millisecond }))
	}
	poll(t, "30 deliveries delivered", func() bool {
		return b.count(t, `SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'`) == 30
	})
	ids := hoRows[struct {
		ID uuid.UUID `db:"id"`
	}](t, b, `SELECT id FROM webhook_deliveries`)
	want := map[string]int{}
	for _, r := range ids {
		want[r.ID.String()] = 1
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests per delivery (-want +got):\n%s", diff)
	}
}
