package nurture

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func newTestSigner(t testing.TB, secret string) *Signer {
	t.Helper()
	s, err := NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignerRoundTripAndTampering(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, strings.Repeat("a", 32))
	other := newTestSigner(t, strings.Repeat("b", 32))
	id := uuid.New()
	tok := s.Sign(TokenClick, id, 7)

	gotID, n, err := s.Verify(tok, TokenClick)
	if err != nil || gotID != id || n != 7 {
		t.Fatalf("Verify(Sign) = %v, %d, %v; want %v, 7, nil", gotID, n, err, id)
	}
	if _, _, err := s.Verify(tok, TokenOpen); !errors.Is(err, ErrBadToken) {
		t.Errorf("a click token accepted as an open token: %v", err)
	}
	if _, _, err := other.Verify(tok, TokenClick); !errors.Is(err, ErrBadToken) {
		t.Errorf("a token accepted under another server's key: %v", err)
	}
	// Flip each character in turn: every tampered token is refused.
	for i := range tok {
		b := []byte(tok)
		b[i] = map[bool]byte{true: 'A', false: 'B'}[b[i] != 'A']
		if _, _, err := s.Verify(string(b), TokenClick); err == nil {
			t.Fatalf("tampered token (char %d) accepted", i)
		}
	}
	for _, bad := range []string{"", "x", tok + "A", tok[:len(tok)-1], strings.Repeat("A", 200), tok + "=="} {
		if _, _, err := s.Verify(bad, TokenClick); !errors.Is(err, ErrBadToken) {
			t.Errorf("Verify(%q) = %v, want ErrBadToken", bad, err)
		}
	}
}

func TestNewSignerRefusesShortSecret(t *testing.T) {
	t.Parallel()
	if _, err := NewSigner("short"); err == nil {
		t.Fatal("NewSigner accepted a 5-character secret")
	}
}

func TestLinksAreSignedForTheirMessage(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, strings.Repeat("k", 40))
	id := uuid.New()
	l := Links{BaseURL: "https://leads.example.com", Signer: s, MessageID: id}
	for _, c := range []struct {
		url, prefix string
		kind        byte
		n           uint32
	}{
		{l.Open(), "https://leads.example.com/t/o/", TokenOpen, 0},
		{l.Click(3), "https://leads.example.com/t/c/", TokenClick, 3},
		{l.Unsubscribe(), "https://leads.example.com/u/", TokenUnsubscribe, 0},
		{ConfirmURL(l.BaseURL, s, id), "https://leads.example.com/c/", TokenConfirm, 0},
	} {
		tok, ok := strings.CutPrefix(c.url, c.prefix)
		if !ok {
			t.Errorf("%s does not start with %s", c.url, c.prefix)
			continue
		}
		gotID, n, err := s.Verify(tok, c.kind)
		if err != nil || gotID != id || n != c.n {
			t.Errorf("%s: Verify = %v, %d, %v", c.url, gotID, n, err)
		}
	}
}

func FuzzVerifyToken(f *testing.F) {
	s := newTestSigner(f, strings.Repeat("f", 32))
	f.Add(s.Sign(TokenClick, uuid.New(), 1))
	f.Add("")
	f.Add("not-a-token")
	f.Fuzz(func(t *testing.T, tok string) {
		id, n, err := s.Verify(tok, TokenClick)
		if err != nil {
			if !errors.Is(err, ErrBadToken) {
				t.Fatalf("Verify error %v is not ErrBadToken", err)
			}
			return
		}
		// Anything accepted must be exactly what we would sign.
		if s.Sign(TokenClick, id, n) != tok {
			t.Fatalf("accepted a token we did not sign: %q", tok)
		}
	})
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"90s": 90 * time.Second, "15m": 15 * time.Minute, "48h": 48 * time.Hour, "2d": 48 * time.Hour, " 1d ": 24 * time.Hour,
	} {
		got, err := ParseDuration(in)
		if err != nil || time.Duration(got) != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, time.Duration(got), err, want)
		}
	}
	for _, bad := range []string{"", "-1h", "xd", "-2d", "5000d", "1 week"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
	if s := Duration(48 * time.Hour).String(); s != "2d" {
		t.Errorf("48h prints as %q, want 2d", s)
	}
	if s := Duration(90 * time.Second).String(); s != "1m30s" {
		t.Errorf("90s prints as %q", s)
	}
}
