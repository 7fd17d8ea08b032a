package nurture

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// idleTimeout is how long a connection may sit unused in the pool before it
// is closed rather than reused: servers hang up on idle clients, and a
// fresh dial is cheaper than finding out.
const idleTimeout = 30 * time.Second

// mailer sends messages over a small pool of open SMTP connections, so that
// a busy engine does not pay a dial, a greeting and perhaps a TLS handshake
// and a login for every message.
type mailer struct {
	client *mail.Client // the settings; its own connection is never used
	slots  chan struct{}
	idle   chan *conn

	mu     sync.Mutex
	closed bool
}

type conn struct {
	c        *smtp.Client
	lastUsed time.Time
}

func newMailer(cfg SMTPConfig) (*mailer, error) {
	port := cfg.Port
	if port == 0 {
		switch strings.ToLower(cfg.TLS) {
		case "tls":
			port = 465
		case "starttls":
			port = 587
		default:
			port = 25
		}
	}
	opts := []mail.Option{
		mail.WithPort(port),
		mail.WithTimeout(cfg.Timeout),
		mail.WithHELO(cfg.HeloName),
		// The pool checks a connection by using it (see send), not with a
		// NOOP round trip before every message.
		mail.WithoutNoop(),
	}
	switch strings.ToLower(cfg.TLS) {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "starttls":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case "":
		if cfg.Port == 587 {
			opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
		} else {
			opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
		}
	default:
		return nil, fmt.Errorf("nurture: SMTP TLS %q: want none, starttls or tls", cfg.TLS)
	}
	if cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	c, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("nurture: SMTP client: %w", err)
	}
	return &mailer{
		client: c,
		slots:  make(chan struct{}, cfg.PoolSize),
		idle:   make(chan *conn, cfg.PoolSize),
	}, nil
}

// errMailerClosed: the engine is shutting down.
var errMailerClosed = errors.New("nurture: mailer closed")

// session is one of the pool's connection slots, held: acquire waits for a
// free slot and readies a connection in it, so that whoever holds a session
// can send at once. It is used for one message (send) or given back unused
// (release).
type session struct {
	m      *mailer
	reused bool

	mu      sync.Mutex
	c       *conn
	aborted bool
	done    bool
}

// acquire waits for a free connection slot and takes an idle connection
// that is fresh enough, or dials one. The wait can be long behind a slow
// relay; nothing is claimed while it lasts.
func (m *mailer) acquire(ctx context.Context) (*session, error) {
	select {
	case m.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c, reused, err := m.get(ctx)
	if err != nil {
		<-m.slots
		return nil, err
	}
	return &session{m: m, c: c, reused: reused}, nil
}

// release gives back a session that sent nothing: its connection goes back
// to the pool. After send it does nothing.
func (s *session) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.done = true
	if s.aborted {
		s.c.drop()
	} else {
		s.m.put(s.c)
	}
	<-s.m.slots
}

// abort closes the session's connection under a send in progress, from
// another goroutine: the send fails, and a message whose end of DATA the
// server has not had is not delivered.
func (s *session) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done || s.aborted {
		return
	}
	s.aborted = true
	s.c.drop()
}

// send delivers one message on the session's connection and ends the
// session. A connection that fails is dropped, never put back. A reused
// connection the server has since closed fails before anything is sent (at
// MAIL FROM, without an SMTP reply); then the message is tried once more on
// a fresh connection.
func (s *session) send(ctx context.Context, msg *mail.Msg) error {
	m := s.m
	defer func() {
		s.mu.Lock()
		s.done = true
		s.mu.Unlock()
		<-m.slots
	}()
	s.mu.Lock()
	c := s.c
	s.mu.Unlock()
	err := m.client.SendWithSMTPClient(c.c, msg)
	if err != nil && s.reused && deadBeforeData(err) && !s.isAborted() {
		c.drop()
		if c, err = m.dial(ctx); err != nil {
			return err
		}
		s.mu.Lock()
		s.c = c
		aborted := s.aborted
		s.mu.Unlock()
		if aborted {
			c.drop()
			return errors.New("smtp: send aborted")
		}
		err = m.client.SendWithSMTPClient(c.c, msg)
	}
	if msg.IsDelivered() {
		// The server accepted the message; an error after that (the RSET
		// that readies the connection for the next one) must not make it
		// look unsent, or it would be sent again.
		if err != nil || s.isAborted() {
			c.drop()
			return nil
		}
		m.put(c)
		return nil
	}
	c.drop()
	if err == nil {
		err = errors.New("smtp: message not delivered")
	}
	return err
}

func (s *session) isAborted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.aborted
}

// get takes an idle connection that is fresh enough, or dials.
func (m *mailer) get(ctx context.Context) (*conn, bool, error) {
	for {
		select {
		case c := <-m.idle:
			if time.Since(c.lastUsed) < idleTimeout {
				return c, true, nil
			}
			c.quit()
		default:
			c, err := m.dial(ctx)
			return c, false, err
		}
	}
}

func (m *mailer) dial(ctx context.Context) (*conn, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, errMailerClosed
	}
	c, err := m.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial smtp: %w", err)
	}
	return &conn{c: c}, nil
}

// put returns a connection to the pool, or closes it when the pool is full
// or closed.
func (m *mailer) put(c *conn) {
	c.lastUsed = time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		c.quit()
		return
	}
	select {
	case m.idle <- c:
	default:
		c.quit()
	}
}

// close says goodbye on every idle connection; connections in use are
// closed as their sends end.
func (m *mailer) close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	for {
		select {
		case c := <-m.idle:
			c.quit()
		default:
			return nil
		}
	}
}

// quit ends a healthy connection politely.
func (c *conn) quit() {
	if err := c.c.Quit(); err != nil {
		_ = c.c.Close()
	}
}

// drop closes a connection in an unknown state without another word: it
// may be mid-transaction or dead.
func (c *conn) drop() { _ = c.c.Close() }

// deadBeforeData reports whether a send failed before the message could
// have been handed over: at the connection check or at MAIL FROM, with no
// SMTP reply (a closed or reset connection), so trying again cannot deliver
// it twice.
func deadBeforeData(err error) bool {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return false
	}
	if se.Reason != mail.ErrConnCheck && se.Reason != mail.ErrSMTPMailFrom {
		return false
	}
	return se.ErrorCode() == 0
}

// sendFailure is what a failed send means for its message.
type sendFailure int

const (
	// failTemporary: try again later (4xx, network trouble, a timeout).
	failTemporary sendFailure = iota
	// failRecipient: the server refused the recipient or the message for
	// good (5xx at RCPT TO or at the end of DATA): the address bounced.
	failRecipient
)

// classify tells a recipient's permanent refusal from everything else. A
// 5xx before RCPT TO (at MAIL FROM, or refusing our login) is about the
// sender, not the lead, so it is retried like a temporary failure rather
// than held against the address.
func classify(err error) (sendFailure, string) {
	var se *mail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		switch se.Reason {
		case mail.ErrSMTPRcptTo, mail.ErrSMTPData, mail.ErrSMTPDataClose, mail.ErrWriteContent:
			if code >= 500 && code < 600 {
				return failRecipient, oneLineError(se)
			}
		}
		return failTemporary, oneLineError(se)
	}
	return failTemporary, oneLineError(err)
}

// oneLineError keeps an SMTP error fit for last_error and logs: one line,
// bounded.
func oneLineError(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 500 {
		s = s[:500]
	}
	return s
}
