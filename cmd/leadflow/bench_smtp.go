package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// benchSink is the bench's SMTP server: it accepts every message and keeps,
// for each Message-ID, how many times it arrived and when first, so the
// bench can count what reached SMTP against the message rows and time each
// email from due to delivered. It keeps no bodies.
type benchSink struct {
	srv   *smtp.Server
	ln    net.Listener
	serve chan error

	mu      sync.Mutex
	arrived map[string]time.Time // Message-ID (without <>) -> first arrival
	copies  map[string]int       // Message-ID -> deliveries
	total   int
	noID    int
}

func startBenchSink() (*benchSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench smtp sink: %w", err)
	}
	s := &benchSink{ln: ln, serve: make(chan error, 1), arrived: map[string]time.Time{}, copies: map[string]int{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &benchSession{sink: s}, nil }))
	srv.Domain = "leadflow-bench-sink"
	srv.MaxMessageBytes = 10 << 20
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv
	go func() { s.serve <- srv.Serve(ln) }()
	return s, nil
}

func (s *benchSink) addr() string { return s.ln.Addr().String() }

// close stops the sink and drops its connections.
func (s *benchSink) close() {
	_ = s.srv.Close()
	<-s.serve
}

func (s *benchSink) add(id string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	if id == "" {
		s.noID++
		return
	}
	if _, ok := s.arrived[id]; !ok {
		s.arrived[id] = at
	}
	s.copies[id]++
}

// count is how many messages arrived in all.
func (s *benchSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// snapshot copies what arrived: first arrival by Message-ID, the IDs that
// arrived more than once, and messages without a Message-ID.
func (s *benchSink) snapshot() (arrived map[string]time.Time, doubled []string, noID int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arrived = make(map[string]time.Time, len(s.arrived))
	for id, at := range s.arrived {
		arrived[id] = at
		if s.copies[id] > 1 {
			doubled = append(doubled, id)
		}
	}
	return arrived, doubled, s.noID
}

type benchSession struct{ sink *benchSink }

func (*benchSession) Reset()                               {}
func (*benchSession) Logout() error                        { return nil }
func (*benchSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*benchSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *benchSession) Data(r io.Reader) error {
	br := bufio.NewReader(r)
	h, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read header: %w", err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return err
	}
	// Arrival is the end of DATA: the message is whole.
	s.sink.add(strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>"), time.Now())
	return nil
}
