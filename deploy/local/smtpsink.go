package local

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log"
	"maps"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTP sink limits: it is for watching a development session's email, not
// for keeping it.
const (
	sinkKeep            = 500
	sinkMaxMessageBytes = 10 << 20
	sinkMaxRecipients   = 100
	sinkMaxPartDepth    = 5
)

// SinkMessage is one email the sink received.
type SinkMessage struct {
	// N numbers messages in arrival order from 1; it stays the same while
	// older messages are dropped.
	N    int
	At   time.Time
	From string   // the envelope sender (MAIL FROM)
	To   []string // the envelope recipients (RCPT TO)
	// Header is the message's header, with encoded words decoded.
	Header  mail.Header
	Subject string
	// Text and HTML are the message's text/plain and text/html bodies,
	// transfer encoding removed.
	Text string
	HTML string
	// Raw is the message as received.
	Raw []byte
}

// SMTPSink is an SMTP server that accepts every message and keeps the last
// 500 in memory, so `leadflow dev` shows what leadflow would have sent
// without a real mail server or the risk of mailing anyone.
type SMTPSink struct {
	srv   *smtp.Server
	ln    *sinkListener
	serve chan error

	mu   sync.Mutex
	msgs []SinkMessage // oldest first, at most sinkKeep
	n    int

	closeOnce sync.Once
	closeErr  error
}

// StartSMTPSink listens on addr (a loopback address; "" picks a free port on
// 127.0.0.1) and accepts mail until Close.
func StartSMTPSink(addr string) (*SMTPSink, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("smtp sink address %q: %w", addr, err)
	}
	// The sink accepts mail from anyone who can reach it: it must never be
	// reachable from beyond this machine.
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("smtp sink address %q: must be a loopback address", addr)
	}
	inner, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smtp sink: %w", err)
	}
	s := &SMTPSink{
		ln:    &sinkListener{Listener: inner, conns: map[net.Conn]struct{}{}},
		serve: make(chan error, 1),
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: s}, nil
	}))
	srv.Domain = "leadflow-dev-sink"
	srv.MaxMessageBytes = sinkMaxMessageBytes
	srv.MaxRecipients = sinkMaxRecipients
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv
	go func() { s.serve <- srv.Serve(s.ln) }()
	return s, nil
}

// Addr is the address the sink listens on, host:port.
func (s *SMTPSink) Addr() string { return s.ln.Addr().String() }

// Close stops the sink: it stops listening, drops open connections and
// waits until every session has ended.
func (s *SMTPSink) Close() error {
	s.closeOnce.Do(func() {
		s.ln.closeAll()
		<-s.serve
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
			s.closeErr = fmt.Errorf("smtp sink: %w", err)
		}
	})
	return s.closeErr
}

// Messages returns the messages kept, oldest first.
func (s *SMTPSink) Messages() []SinkMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

func (s *SMTPSink) add(m SinkMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	m.N = s.n
	if len(s.msgs) == sinkKeep {
		s.msgs = slices.Delete(s.msgs, 0, 1)
	}
	s.msgs = append(s.msgs, m)
}

func (s *SMTPSink) message(n int) (SinkMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := slices.BinarySearchFunc(s.msgs, n, func(m SinkMessage, n int) int { return m.N - n })
	if !ok {
		return SinkMessage{}, false
	}
	return s.msgs[i], true
}

// sinkListener remembers its connections so Close can end idle sessions,
// which would otherwise wait for their client.
type sinkListener struct {
	net.Listener
	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

func (l *sinkListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	l.conns[c] = struct{}{}
	return &sinkConn{Conn: c, l: l}, nil
}

func (l *sinkListener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.Listener.Close()
	for c := range l.conns {
		c.Close()
	}
	clear(l.conns)
}

type sinkConn struct {
	net.Conn
	l *sinkListener
}

func (c *sinkConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c.Conn)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// sinkSession is one SMTP transaction's envelope.
type sinkSession struct {
	sink *SMTPSink
	from string
	to   []string
}

func (s *sinkSession) Reset() { s.from, s.to = "", nil }

func (s *sinkSession) Logout() error { return nil }

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := parseSinkMessage(raw)
	m.At, m.From, m.To = time.Now(), s.from, slices.Clone(s.to)
	s.sink.add(m)
	return nil
}

// parseSinkMessage reads what it can of a message: a malformed one is kept
// with its raw text, since showing what was sent is the point.
func parseSinkMessage(raw []byte) SinkMessage {
	m := SinkMessage{Raw: raw, Header: mail.Header{}}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.Text = string(raw)
		return m
	}
	dec := new(mime.WordDecoder)
	for k, vs := range msg.Header {
		for _, v := range vs {
			if d, err := dec.DecodeHeader(v); err == nil {
				v = d
			}
			m.Header[k] = append(m.Header[k], v)
		}
	}
	m.Subject = m.Header.Get("Subject")
	readSinkPart(&m, partHeader(msg.Header), msg.Body, 0)
	return m
}

// partHeader is a message's or a MIME part's header, keys canonical.
type partHeader map[string][]string

func (h partHeader) get(k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// readSinkPart keeps the first text/plain and text/html bodies found in a
// part, walking into multipart parts.
func readSinkPart(m *SinkMessage, h partHeader, body io.Reader, depth int) {
	ct := h.get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		if depth >= sinkMaxPartDepth || params["boundary"] == "" {
			return
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return
			}
			// NextPart has already undone quoted-printable and dropped its
			// header; base64 is left to readSinkBody.
			readSinkPart(m, partHeader(p.Header), p, depth+1)
		}
	}
	if mediaType != "text/plain" && mediaType != "text/html" {
		return
	}
	text, err := readSinkBody(h.get("Content-Transfer-Encoding"), body)
	if err != nil {
		return
	}
	switch {
	case mediaType == "text/plain" && m.Text == "":
		m.Text = text
	case mediaType == "text/html" && m.HTML == "":
		m.HTML = text
	}
}

func readSinkBody(encoding string, body io.Reader) (string, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "base64":
		// The decoder skips the line breaks of a wrapped body.
		body = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(io.LimitReader(body, sinkMaxMessageBytes))
	return string(b), err
}

// Handler serves the captured mail: GET /dev/mail lists it, newest first,
// and GET /dev/mail/{n} shows one message.
func (s *SMTPSink) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dev/mail", s.serveList)
	mux.HandleFunc("GET /dev/mail/{n}", s.serveMessage)
	return mux
}

// sinkCSP keeps whatever an email holds from running or loading anything:
// the HTML body is shown in a sandboxed srcdoc frame, which inherits this
// policy, so viewing a message does not even fetch its tracking pixel.
const sinkCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

func sinkHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", sinkCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

var sinkListTemplate = template.Must(template.New("list").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>leadflow dev mail</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}td,th{padding:.3em .8em;text-align:left;border-bottom:1px solid #ddd}</style>
</head><body><h1>Mail sent in this dev session</h1>
{{- if .}}
<table><thead><tr><th>time</th><th>from</th><th>to</th><th>subject</th></tr></thead><tbody>
{{- range .}}
<tr><td>{{.At.Format "15:04:05"}}</td><td>{{.From}}</td><td>{{range $i, $t := .To}}{{if $i}}, {{end}}{{$t}}{{end}}</td><td><a href="/dev/mail/{{.N}}">{{if .Subject}}{{.Subject}}{{else}}(no subject){{end}}</a></td></tr>
{{- end}}
</tbody></table>
{{- else}}
<p>No mail yet. Post a form and watch it arrive here.</p>
{{- end}}
</body></html>
`))

var sinkMessageTemplate = template.Must(template.New("message").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Subject}}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}th{text-align:left;vertical-align:top;padding-right:1em}
pre{white-space:pre-wrap;background:#f6f6f6;padding:1em}iframe{width:100%;height:60vh;border:1px solid #ccc}</style>
</head><body><p><a href="/dev/mail">all mail</a></p>
<h1>{{.Subject}}</h1>
<table>
<tr><th>envelope from</th><td>{{.From}}</td></tr>
<tr><th>envelope to</th><td>{{range $i, $t := .To}}{{if $i}}, {{end}}{{$t}}{{end}}</td></tr>
<tr><th>received</th><td>{{.At.Format "2006-01-02 15:04:05"}}</td></tr>
{{- range .Headers}}
<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>
{{- end}}
</table>
{{- if .HTML}}
<h2>HTML part</h2>
<iframe sandbox srcdoc="{{.HTML}}" title="HTML part"></iframe>
{{- end}}
{{- if .Text}}
<h2>Text part</h2>
<pre>{{.Text}}</pre>
{{- end}}
</body></html>
`))

func (s *SMTPSink) serveList(w http.ResponseWriter, _ *http.Request) {
	msgs := s.Messages()
	slices.Reverse(msgs)
	sinkHeaders(w)
	_ = sinkListTemplate.Execute(w, msgs)
}

func (s *SMTPSink) serveMessage(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	m, ok := s.message(n)
	if err != nil || !ok {
		http.Error(w, "no such message (the sink keeps the last 500)", http.StatusNotFound)
		return
	}
	type header struct{ Name, Value string }
	var headers []header
	for _, k := range slices.Sorted(maps.Keys(m.Header)) {
		for _, v := range m.Header[k] {
			headers = append(headers, header{k, v})
		}
	}
	sinkHeaders(w)
	_ = sinkMessageTemplate.Execute(w, struct {
		SinkMessage
		Headers []header
	}{m, headers})
}
