package console

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"leadflow/deploy/local"
	"leadflow/store"
)

// smtpGate is an SMTP server that holds every connection, before its
// greeting, until Open; then it carries it to the real server behind. In
// front of the sink it shows what waits for an email and what does not.
type smtpGate struct {
	ln     net.Listener
	target string
	open   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
	held  int
}

func newSMTPGate(t *testing.T, target string) *smtpGate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &smtpGate{ln: ln, target: target, open: make(chan struct{})}
	g.wg.Go(g.accept)
	t.Cleanup(func() {
		ln.Close()
		g.mu.Lock()
		for _, c := range g.conns {
			c.Close()
		}
		g.mu.Unlock()
		g.Open()
		g.wg.Wait()
	})
	return g
}

func (g *smtpGate) accept() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		g.conns = append(g.conns, c)
		g.held++
		g.mu.Unlock()
		g.wg.Go(func() {
			defer c.Close()
			<-g.open
			up, err := net.Dial("tcp", g.target)
			if err != nil {
				return
			}
			defer up.Close()
			var pipes sync.WaitGroup
			pipes.Go(func() { io.Copy(up, c); up.Close() })
			pipes.Go(func() { io.Copy(c, up); c.Close() })
			pipes.Wait()
		})
	}
}

// Open lets the held connections, and every later one, through.
func (g *smtpGate) Open() { g.once.Do(func() { close(g.open) }) }

// Held is how many connections have come to the gate.
func (g *smtpGate) Held() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held
}

// Addr is where SMTP clients connect.
func (g *smtpGate) Addr() string { return g.ln.Addr().String() }

// Cut closes the connections held or carried, as a server that went away.
func (g *smtpGate) Cut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.conns {
		c.Close()
	}
}

// gatedSetup serves a console whose emails reach the sink it returns
// through a gate, closed until the test opens it.
func gatedSetup(t *testing.T, tweak func(*Config)) (*bundle, *local.SMTPSink, *smtpGate) {
	t.Helper()
	sink := startSink(t)
	gate := newSMTPGate(t, sink.Addr())
	b := setup(t, func(c *Config) {
		c.Mailer = smtpMailer(t, gate.Addr())
		if tweak != nil {
			tweak(c)
		}
	})
	return b, sink, gate
}

// answered posts form to path and returns the answer, failing the test when
// no answer comes while the emails are held: the answer waited for them.
func answered(t *testing.T, br *browser, path string, form url.Values) answer {
	t.Helper()
	got := make(chan answer, 1)
	go func() { got <- br.do("POST", path, form, nil) }()
	select {
	case a := <-got:
		return a
	case <-time.After(10 * time.Second):
		t.Fatalf("POST %s gave no answer while its email was held: the answer waits for the email", path)
		return answer{}
	}
}

// logBuffer is a log a test reads while the console writes it.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLinkRequestsAnswerBeforeTheEmailIsSent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, path, link string }{
		{"sign-in link", "/login/link", "/login/link/"},
		{"password reset", "/password/reset", "/password/reset/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, sink, gate := gatedSetup(t, nil)
			ada := b.person(t, b.ws, "ada@example.com", store.UserAdmin, testPassword)
			br := b.browser(t)
			known := answered(t, br, tc.path, url.Values{"email": {"ada@example.com"}})
			// The email is on its way, held at the SMTP server's door.
			waitFor(t, "the email's SMTP connection", func() bool { return gate.Held() == 1 })
			unknown := answered(t, br, tc.path, url.Values{"email": {"nobody@example.com"}})
			if known.status != http.StatusOK || unknown.status != http.StatusOK || known.body != unknown.body {
				t.Errorf("answers: %d and %d, alike = %v; want 200 and the same page for a known and an unknown address",
					known.status, unknown.status, known.body == unknown.body)
			}
			if n := len(sink.Messages()); n != 0 {
				t.Fatalf("%d emails went past the closed gate", n)
			}
			gate.Open()
			waitFor(t, "the email", func() bool { return len(sink.Messages()) > 0 })
			if err := b.c.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			msgs := sink.Messages()
			if len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{ada.Email}) || !strings.Contains(msgs[0].Text, b.srv.URL+tc.link) {
				t.Errorf("emails sent: %+v; want one to %s with a %s link", msgs, ada.Email, tc.link)
			}
			if n := gate.Held(); n != 1 {
				t.Errorf("SMTP connections = %d, want 1 (none for the unknown address)", n)
			}
		})
	}
}

func TestCloseSendsTheEmailsAlreadyAskedFor(t *testing.T) {
	t.Parallel()
	b, sink, gate := gatedSetup(t, nil)
	b.person(t, b.ws, "ada@example.com", store.UserAdmin, "")
	b.person(t, b.ws, "bob@example.com", store.UserMarketing, "")
	br := b.browser(t)
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		if a := answered(t, br, "/login/link", url.Values{"email": {email}}); a.status != http.StatusOK {
			t.Fatalf("link for %s: status %d", email, a.status)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- b.c.Close(context.Background()) }()
	waitFor(t, "the console to stop taking requests", func() bool {
		b.c.outbox.mu.Lock()
		defer b.c.outbox.mu.Unlock()
		return b.c.outbox.closed
	})
	if a := br.post("/login/link", url.Values{"email": {"ada@example.com"}}); a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
		t.Errorf("a request while closing: status %d, Retry-After %q; want 503 with Retry-After", a.status, a.header.Get("Retry-After"))
	}
	gate.Open()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	// Close came back once both were sent: no waiting here.
	if n := len(sink.Messages()); n != 2 {
		t.Errorf("emails sent by the time Close returned = %d, want 2", n)
	}
}

func TestCloseGivesUpAtItsDeadlineAndSaysSo(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	b, _, gate := gatedSetup(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	b.person(t, b.ws, "ada@example.com", store.UserAdmin, "")
	b.c.outbox.sending = make(chan struct{}, 1)
	br := b.browser(t)
	// One send under way, held at the gate; one waiting behind it.
	answered(t, br, "/login/link", url.Values{"email": {"ada@example.com"}})
	waitFor(t, "the first email's SMTP connection", func() bool { return gate.Held() == 1 })
	answered(t, br, "/password/reset", url.Values{"email": {"ada@example.com"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.c.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "2 sign-in email request(s) unfinished") {
		t.Errorf("Close past its deadline = %v, want it to say 2 requests were left", err)
	}
	gate.Cut()
	waitFor(t, "the unsent emails in the log", func() bool {
		s := logs.String()
		return strings.Contains(s, "console_email_dropped") && strings.Contains(s, "console_email_failed")
	})
}

func TestAnEmailThatCannotBeSentIsLogged(t *testing.T) {
	t.Parallel()
	// An SMTP address nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logs := &logBuffer{}
	b := setup(t, func(c *Config) {
		c.Mailer = smtpMailer(t, addr)
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	ada := b.person(t, b.ws, "ada@example.com", store.UserAdmin, "")
	if a := b.browser(t).post("/password/reset", url.Values{"email": {"ada@example.com"}}); a.status != http.StatusOK {
		t.Fatalf("reset request: status %d, want 200 (the page never tells)", a.status)
	}
	if err := b.c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := logs.String(); !strings.Contains(s, "msg=console_email_failed user_id="+ada.ID.String()) {
		t.Errorf("the log does not name the person whose email failed:\n%s", s)
	}
}

func TestAFullOutboxAsksEveryoneAlikeToTryAgain(t *testing.T) {
	t.Parallel()
	b, sink, gate := gatedSetup(t, nil)
	b.person(t, b.ws, "ada@example.com", store.UserAdmin, "")
	b.c.outbox.max = 1
	br := b.browser(t)
	if a := answered(t, br, "/login/link", url.Values{"email": {"ada@example.com"}}); a.status != http.StatusOK {
		t.Fatalf("first request: status %d", a.status)
	}
	known := br.post("/login/link", url.Values{"email": {"ada@example.com"}})
	unknown := br.post("/login/link", url.Values{"email": {"nobody@example.com"}})
	if known.status != http.StatusServiceUnavailable || known.header.Get("Retry-After") == "" || known.body != unknown.body {
		t.Errorf("past the outbox's bound: status %d, Retry-After %q, alike = %v; want 503, Retry-After and one page for all",
			known.status, known.header.Get("Retry-After"), known.body == unknown.body)
	}
	if !strings.Contains(known.body, "Try again in a minute") {
		t.Errorf("the refusal does not ask to try again:\n%s", known.body)
	}
	gate.Open()
	if err := b.c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(sink.Messages()); n != 1 {
		t.Errorf("emails sent = %d, want 1", n)
	}
}
