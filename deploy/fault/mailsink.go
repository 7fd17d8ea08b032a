package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// delivery is one message the sink accepted, for one envelope recipient.
type delivery struct {
	To        string // lower-cased RCPT TO
	MessageID string // the Message-ID header, angle brackets kept
	At        time.Time
}

// mailSink is an SMTP server on loopback that accepts every message and
// remembers every delivery (the dev sink in deploy/local keeps only the last
// 500 messages: a fault run sends thousands). It can be stopped and started
// again on the same address, which is how the suite takes SMTP away.
type mailSink struct {
	addr  string
	delay time.Duration

	mu         sync.Mutex
	deliveries []delivery
	srv        *smtp.Server
	served     chan struct{}
}

// newMailSink starts a sink on a free loopback port. delay is how long each
// message's DATA takes to be accepted: a slow relay.
func newMailSink(delay time.Duration) (*mailSink, error) {
	s := &mailSink{addr: "127.0.0.1:0", delay: delay}
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

// Addr is host:port, the same across restarts.
func (s *mailSink) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

func (s *mailSink) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("smtp sink: already running")
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("smtp sink: %w", err)
	}
	s.addr = ln.Addr().String()
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: s}, nil
	}))
	srv.Domain = "leadflow-fault-sink"
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 100
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = log.New(io.Discard, "", 0)
	served := make(chan struct{})
	go func() {
		_ = srv.Serve(ln)
		close(served)
	}()
	s.srv, s.served = srv, served
	return nil
}

// Stop closes the listener and every open connection at once, as a relay
// that goes away would. Stopping a stopped sink does nothing.
func (s *mailSink) Stop() {
	s.mu.Lock()
	srv, served := s.srv, s.served
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	<-served
}

// Start listens again on the same address.
func (s *mailSink) Start() error { return s.start() }

// Deliveries returns a copy of every delivery so far, in arrival order.
func (s *mailSink) Deliveries() []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivery(nil), s.deliveries...)
}

func (s *mailSink) record(to []string, messageID string) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range to {
		s.deliveries = append(s.deliveries, delivery{To: strings.ToLower(t), MessageID: messageID, At: now})
	}
}

type sinkSession struct {
	sink *mailSink
	to   []string
}

func (s *sinkSession) Reset()        { s.to = nil }
func (s *sinkSession) Logout() error { return nil }

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.sink.delay > 0 {
		time.Sleep(s.sink.delay) // a slow relay, on purpose
	}
	var id string
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		id = strings.TrimSpace(msg.Header.Get("Message-Id"))
	}
	s.sink.record(s.to, id)
	return nil
}
