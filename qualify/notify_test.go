package qualify

import (
	"bytes"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/nurture"
	"leadflow/store"
	"leadflow/store/storetest"
)

// A handoff notice goes out with one well-formed Message-ID, and a bounce
// that names it by that header finds the notice.
func TestHandoffNoticeMessageIDFindsItsBounce(t *testing.T) {
	t.Parallel()
	b := hoSetup(t)
	ann := b.user(t, "Ann", true)
	team := b.team(t, "Sales", nil, member(ann, 1, 0))
	b.rules(t, store.AssignmentRule{TeamID: team.ID})
	b.settings(t, 4*time.Hour, 2)
	b.handOff(t, b.lead(t, "FR", ""))
	var msgID uuid.UUID
	if err := b.st.Pool.QueryRow(b.ctx, `SELECT id FROM messages WHERE workspace_id = $1`, b.ws.ID).Scan(&msgID); err != nil {
		t.Fatal(err)
	}

	relay := newNoticeRelay(t)
	if _, err := b.st.UpdateWorkspaceSettings(b.ctx, b.ws.ID, store.WorkspaceSettings{
		SenderName: "Acme Sales", SenderEmail: "sales@acme.example", PostalAddress: "Acme Ltd, Bristol",
		SendRatePerSecond: 100, Timezone: "UTC",
	}); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(storetest.RedisOptions(t))
	t.Cleanup(func() { rdb.Close() })
	signer, err := nurture.NewSigner("a test secret that is long enough for the signer")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := nurture.New(nurture.Config{
		Store: b.st, Queue: asynq.NewClientFromRedisClient(rdb), Redis: rdb, Signer: signer,
		BaseURL: "https://leadflow.example",
		SMTP:    nurture.SMTPConfig{Host: "127.0.0.1", Port: relay.port, TLS: "none"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Close() })
	if err := sender.Send(b.ctx, nurture.SendPayload{WorkspaceID: b.ws.ID, MessageID: msgID}); err != nil {
		t.Fatal(err)
	}
	header := relay.messageID(t)
	if want := "<" + msgID.String() + "@leadflow.example>"; header != want {
		t.Errorf("Message-ID header %q, want %q", header, want)
	}
	res, err := sender.RecordBounce(b.ctx, b.ws.ID, nurture.BounceReport{MessageID: header, Type: store.BounceHard}, "test")
	if err != nil {
		t.Fatalf("bounce by the notice's Message-ID: %v", err)
	}
	if res.Bounce.MessageID == nil || *res.Bounce.MessageID != msgID {
		t.Errorf("bounce recorded against message %v, want %s", res.Bounce.MessageID, msgID)
	}
}

// noticeRelay is a real SMTP server on loopback that keeps the Message-ID
// header of what it accepts.
type noticeRelay struct {
	port int
	mu   sync.Mutex
	ids  []string
}

func newNoticeRelay(t *testing.T) *noticeRelay {
	t.Helper()
	r := &noticeRelay{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &noticeSession{r: r}, nil }))
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.port = ln.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return r
}

// messageID is the Message-ID header of the one message accepted.
func (r *noticeRelay) messageID(t *testing.T) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ids) != 1 {
		t.Fatalf("the relay accepted %d messages, want 1", len(r.ids))
	}
	return r.ids[0]
}

type noticeSession struct{ r *noticeRelay }

func (s *noticeSession) Reset()                               {}
func (s *noticeSession) Logout() error                        { return nil }
func (s *noticeSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *noticeSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *noticeSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	s.r.ids = append(s.r.ids, strings.TrimSpace(m.Header.Get("Message-Id")))
	s.r.mu.Unlock()
	return nil
}
