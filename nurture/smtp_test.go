package nurture

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// smtpServer is a real SMTP server for tests (go-smtp on 127.0.0.1:0). It
// keeps every message it accepts with its envelope, HELO name and parsed
// headers and parts, and can be told to refuse recipients, to fail the next
// DATA commands, or to hang in DATA (a hung DATA never accepts: released,
// it answers 451).
type smtpServer struct {
	t    testing.TB
	srv  *smtp.Server
	Addr string
	Host string
	Port int

	mu        sync.Mutex
	msgs      []smtpMessage
	rcptFail  map[string]*smtp.SMTPError
	dataFails []*smtp.SMTPError
	hang      bool
	delay     time.Duration
	hangs     chan struct{} // one value per DATA that starts hanging
	release   chan struct{} // closed to end every hang
	released  bool
	sessions  int
	inData    int
	conns     []*smtp.Conn
}

// smtpMessage is one accepted message.
type smtpMessage struct {
	At     time.Time
	Helo   string
	From   string
	To     []string
	Header mail.Header
	Raw    []byte
	// Text and HTML are the decoded bodies of the text/plain and text/html
	// parts.
	Text, HTML string
	// ContentType is the top-level media type (multipart/alternative...).
	ContentType string
}

func newSMTPServer(t testing.TB) *smtpServer {
	t.Helper()
	s := &smtpServer{
		t:        t,
		rcptFail: map[string]*smtp.SMTPError{},
		hangs:    make(chan struct{}, 16),
		release:  make(chan struct{}),
	}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.sessions++
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		return &smtpSession{s: s, conn: c}, nil
	}))
	s.srv.Domain = "mx.test"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtp listen: %v", err)
	}
	s.Addr = ln.Addr().String()
	s.Host = "127.0.0.1"
	s.Port = ln.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		s.Release()
		_ = s.srv.Close()
		<-done
	})
	return s
}

// Messages returns a copy of the accepted messages, in arrival order.
func (s *smtpServer) Messages() []smtpMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMessage(nil), s.msgs...)
}

// To returns the accepted messages addressed to rcpt.
func (s *smtpServer) To(rcpt string) []smtpMessage {
	var out []smtpMessage
	for _, m := range s.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, rcpt) {
				out = append(out, m)
			}
		}
	}
	return out
}

// WaitFor polls until at least n messages were accepted and returns them.
func (s *smtpServer) WaitFor(t testing.TB, n int, within time.Duration) []smtpMessage {
	t.Helper()
	var msgs []smtpMessage
	eventually(t, within, func() bool {
		msgs = s.Messages()
		return len(msgs) >= n
	}, "%d messages at the SMTP server", n)
	return msgs
}

// FailRcpt makes RCPT TO rcpt fail with code (e.g. 550 or 450).
func (s *smtpServer) FailRcpt(rcpt string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcptFail[strings.ToLower(rcpt)] = &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 1, 1}, Message: "refused by test"}
}

// FailData makes the next n DATA commands fail with code.
func (s *smtpServer) FailData(n, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.dataFails = append(s.dataFails, &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: "try later (test)"})
	}
}

// Hang makes every DATA from now on hang (after reading the message) until
// Release; Hangs gets a value as each one starts.
func (s *smtpServer) Hang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = true
}

// Delay makes every DATA from now on take d before the server answers, as
// a slow relay does.
func (s *smtpServer) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Unhang makes later DATA commands work again; hung ones stay hung.
func (s *smtpServer) Unhang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = false
}

// Hangs signals each DATA that starts hanging.
func (s *smtpServer) Hangs() <-chan struct{} { return s.hangs }

// DropConnections closes every client connection, as a server timing out
// idle clients does.
func (s *smtpServer) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.Conn().Close()
	}
	s.conns = nil
}

// InData counts the DATA commands in progress.
func (s *smtpServer) InData() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inData
}

// Sessions counts the SMTP sessions clients opened.
func (s *smtpServer) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// Release ends every hang (each answers 451, accepting nothing).
func (s *smtpServer) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.released {
		s.released = true
		close(s.release)
	}
}

type smtpSession struct {
	s    *smtpServer
	conn *smtp.Conn
	from string
	to   []string
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	fail := ss.s.rcptFail[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if fail != nil {
		return fail
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.s
	s.mu.Lock()
	hang, delay := s.hang, s.delay
	s.inData++
	var fail *smtp.SMTPError
	if len(s.dataFails) > 0 {
		fail, s.dataFails = s.dataFails[0], s.dataFails[1:]
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inData--
		s.mu.Unlock()
	}()
	if hang {
		select {
		case s.hangs <- struct{}{}:
		default:
		}
		<-s.release
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 0, 0}, Message: "released (test)"}
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-s.release:
		}
	}
	if fail != nil {
		return fail
	}
	m, err := parseSMTPMessage(raw)
	if err != nil {
		s.t.Errorf("smtp test server: unreadable message: %v", err)
		return &smtp.SMTPError{Code: 554, Message: "unreadable"}
	}
	m.At = time.Now()
	m.Helo = ss.conn.Hostname()
	m.From = ss.from
	m.To = append([]string(nil), ss.to...)
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	return nil
}

// parseSMTPMessage reads the headers and the text and HTML parts.
func parseSMTPMessage(raw []byte) (smtpMessage, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return smtpMessage{}, err
	}
	m := smtpMessage{Header: msg.Header, Raw: raw}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return smtpMessage{}, err
	}
	m.ContentType = mt
	err = collectParts(&m, mt, params, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return m, err
}

func collectParts(m *smtpMessage, mt string, params map[string]string, cte string, body io.Reader) error {
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			pmt, pparams, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
			if err != nil {
				return err
			}
			if err := collectParts(m, pmt, pparams, p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	switch mt {
	case "text/plain":
		m.Text = string(b)
	case "text/html":
		m.HTML = string(b)
	}
	return nil
}

// eventually polls cond every 20ms until it holds, failing the test after
// within.
func eventually(t testing.TB, within time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for "+format, append([]any{within}, args...)...)
		}
		<-tick.C
	}
}
