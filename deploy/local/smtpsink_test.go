package local

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wneessen/go-mail"
)

func startSink(t *testing.T) *SMTPSink {
	t.Helper()
	s, err := StartSMTPSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close sink: %v", err)
		}
	})
	return s
}

// sendMail sends msgs to the sink with go-mail, as leadflow's sender does.
func sendMail(t *testing.T, s *SMTPSink, msgs ...*mail.Msg) {
	t.Helper()
	host, portStr, _ := net.SplitHostPort(s.Addr())
	port, _ := strconv.Atoi(portStr)
	c, err := mail.NewClient(host, mail.WithPort(port), mail.WithTLSPolicy(mail.NoTLS),
		mail.WithTimeout(10*time.Second), mail.WithHELO("leadflow.test"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DialAndSend(msgs...); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func newMsg(t *testing.T, subject, text, html string) *mail.Msg {
	t.Helper()
	m := mail.NewMsg()
	if err := m.From("Leadflow <news@leadflow.test>"); err != nil {
		t.Fatal(err)
	}
	if err := m.To("ada@example.com"); err != nil {
		t.Fatal(err)
	}
	m.Subject(subject)
	m.SetGenHeader("List-Unsubscribe", "<https://leads.example.com/u/tok>")
	m.SetBodyString(mail.TypeTextPlain, text)
	if html != "" {
		m.AddAlternativeString(mail.TypeTextHTML, html)
	}
	return m
}

func get(t *testing.T, h http.Handler, path string) (int, http.Header, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, rec.Result().Header, string(body)
}

func TestSMTPSinkReceivesListsAndRendersEscaped(t *testing.T) {
	t.Parallel()
	s := startSink(t)
	hostileSubject := `Hello <script>alert("subject")</script> & Ünïcode`
	hostileHTML := `<p>Hi Ada</p><script>alert(1)</script>"><img src=x onerror=alert(2)>`
	text := strings.Repeat("A long line of text that go-mail wraps in quoted-printable. ", 3) + "é"
	sendMail(t, s,
		newMsg(t, "first", "just text", ""),
		newMsg(t, hostileSubject, text, hostileHTML))

	msgs := s.Messages()
	if len(msgs) != 2 {
		t.Fatalf("sink holds %d messages, want 2", len(msgs))
	}
	got := msgs[1]
	if diff := cmp.Diff(struct {
		N             int
		From, Subject string
		To            []string
		Text, HTML    string
		Unsubscribe   string
	}{2, "news@leadflow.test", hostileSubject, []string{"ada@example.com"}, text, hostileHTML, "<https://leads.example.com/u/tok>"},
		struct {
			N             int
			From, Subject string
			To            []string
			Text, HTML    string
			Unsubscribe   string
		}{got.N, got.From, got.Subject, got.To, strings.TrimRight(got.Text, "\r\n"), strings.TrimRight(got.HTML, "\r\n"), got.Header.Get("List-Unsubscribe")}); diff != "" {
		t.Errorf("received message (-want +got):\n%s", diff)
	}

	h := s.Handler()
	code, hdr, list := get(t, h, "/dev/mail")
	if code != http.StatusOK {
		t.Fatalf("GET /dev/mail = %d", code)
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("list CSP = %q", csp)
	}
	if strings.Contains(list, "<script>") {
		t.Errorf("list page holds a raw <script>:\n%s", list)
	}
	escapedSubject := `Hello &lt;script&gt;alert(&#34;subject&#34;)&lt;/script&gt; &amp; Ünïcode`
	if !strings.Contains(list, escapedSubject) {
		t.Errorf("list page lacks the escaped subject %q:\n%s", escapedSubject, list)
	}
	// Newest first.
	if i, j := strings.Index(list, "/dev/mail/2"), strings.Index(list, "/dev/mail/1"); i < 0 || j < 0 || i > j {
		t.Errorf("list is not newest first:\n%s", list)
	}

	code, hdr, page := get(t, h, "/dev/mail/2")
	if code != http.StatusOK {
		t.Fatalf("GET /dev/mail/2 = %d", code)
	}
	if hdr.Get("Content-Security-Policy") != sinkCSP {
		t.Errorf("message CSP = %q", hdr.Get("Content-Security-Policy"))
	}
	for _, bad := range []string{"<script>", "<img", `onerror=alert(2)>`} {
		if strings.Contains(page, bad) {
			t.Errorf("message page holds raw %q:\n%s", bad, page)
		}
	}
	for _, want := range []string{
		`<iframe sandbox srcdoc="&lt;p&gt;Hi Ada&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;`,
		"<h1>" + escapedSubject + "</h1>",
		"é",
		"&lt;https://leads.example.com/u/tok&gt;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("message page lacks %q:\n%s", want, page)
		}
	}

	for _, path := range []string{"/dev/mail/3", "/dev/mail/0", "/dev/mail/x"} {
		if code, _, _ := get(t, h, path); code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, code)
		}
	}
}

func TestSMTPSinkKeepsTheLast500(t *testing.T) {
	t.Parallel()
	s := startSink(t)
	var msgs []*mail.Msg
	for i := range sinkKeep + 3 {
		msgs = append(msgs, newMsg(t, "n"+strconv.Itoa(i+1), "x", ""))
	}
	sendMail(t, s, msgs...)
	got := s.Messages()
	if len(got) != sinkKeep || got[0].Subject != "n4" || got[len(got)-1].Subject != "n503" || got[0].N != 4 {
		t.Fatalf("kept %d messages, first %q (N %d), last %q; want 500 from n4 to n503",
			len(got), got[0].Subject, got[0].N, got[len(got)-1].Subject)
	}
	if code, _, _ := get(t, s.Handler(), "/dev/mail/3"); code != http.StatusNotFound {
		t.Errorf("a dropped message answers %d, want 404", code)
	}
	if code, _, page := get(t, s.Handler(), "/dev/mail/4"); code != http.StatusOK || !strings.Contains(page, "<h1>n4</h1>") {
		t.Errorf("GET /dev/mail/4 = %d:\n%s", code, page)
	}
}

func TestSMTPSinkRefusesNonLoopbackAndClosesIdleSessions(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:25", "example.com:25"} {
		if s, err := StartSMTPSink(addr); err == nil {
			s.Close()
			t.Errorf("StartSMTPSink(%q) accepted a non-loopback address", addr)
		}
	}
	s, err := StartSMTPSink("")
	if err != nil {
		t.Fatal(err)
	}
	// A client that connects and says nothing must not hold Close up.
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Read(make([]byte, 512)); err != nil { // the greeting
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited on an idle session")
	}
	if _, err := net.Dial("tcp", s.Addr()); err == nil {
		t.Error("the sink still accepts connections after Close")
	}
}
