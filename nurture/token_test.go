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
	tok := s.ClickToken(id, 7, "https://example.com/a")

	got, err := s.Verify(tok, TokenClick)
	if err != nil || got.ID != id || got.N != 7 || got.Legacy {
		t.Fatalf("Verify(ClickToken) = %+v, %v; want %v, 7, nil", got, err, id)
	}
	if !got.Leads("https://example.com/a") || got.Leads("https://example.com/b") {
		t.Errorf("the click token does not lead to exactly its link")
	}
	if _, err := s.Verify(tok, TokenOpen); !errors.Is(err, ErrBadToken) {
		t.Errorf("a click token accepted as an open token: %v", err)
	}
	if _, err := other.Verify(tok, TokenClick); !errors.Is(err, ErrBadToken) {
		t.Errorf("a token accepted under another server's key: %v", err)
	}
	// A click token without its link's digest is not a click token.
	if _, err := s.Verify(s.Sign(TokenClick, id, 7), TokenClick); !errors.Is(err, ErrBadToken) {
		t.Errorf("a click token without a link accepted: %v", err)
	}
	// Flip each character in turn: every tampered token is refused.
	for i := range tok {
		b := []byte(tok)
		b[i] = map[bool]byte{true: 'A', false: 'B'}[b[i] != 'A']
		if _, err := s.Verify(string(b), TokenClick); err == nil {
			t.Fatalf("tampered token (char %d) accepted", i)
		}
	}
	for _, bad := range []string{"", "x", tok + "A", tok[:len(tok)-1], strings.Repeat("A", 200), tok + "=="} {
		if _, err := s.Verify(bad, TokenClick); !errors.Is(err, ErrBadToken) {
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

func TestNewSignerRefusesAShortUnsubscribeLifetime(t *testing.T) {
	t.Parallel()
	if _, err := NewSignerFrom(SignerConfig{Secret: strings.Repeat("a", 32), UnsubscribeTTL: 364 * 24 * time.Hour}); err == nil {
		t.Fatal("NewSignerFrom accepted unsubscribe links that work for under a year")
	}
}

// clock is a settable clock for the signer.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestTokensExpire(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c := &clock{t: start}
	s, err := NewSignerFrom(SignerConfig{Secret: strings.Repeat("e", 32), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	tokens := map[byte]string{
		TokenOpen:        s.Sign(TokenOpen, id, 0),
		TokenClick:       s.ClickToken(id, 0, "https://example.com/"),
		TokenUnsubscribe: s.Sign(TokenUnsubscribe, id, 0),
		TokenConfirm:     s.Sign(TokenConfirm, id, 0),
	}
	check := func(at time.Duration, want map[byte]error) {
		t.Helper()
		c.t = start.Add(at)
		for kind, tok := range tokens {
			got, err := s.Verify(tok, kind)
			if !errors.Is(err, want[kind]) || (err != nil && want[kind] == nil) {
				t.Errorf("after %s, %c token: %v, want %v", at, kind, err, want[kind])
			}
			if got.ID != id {
				t.Errorf("after %s, %c token names %v, want %v even when expired", at, kind, got.ID, id)
			}
		}
	}
	day := 24 * time.Hour
	check(179*day, map[byte]error{})
	check(180*day, map[byte]error{TokenOpen: ErrTokenExpired, TokenClick: ErrTokenExpired, TokenConfirm: ErrTokenExpired})
	check(729*day, map[byte]error{TokenOpen: ErrTokenExpired, TokenClick: ErrTokenExpired, TokenConfirm: ErrTokenExpired})
	check(730*day, map[byte]error{TokenOpen: ErrTokenExpired, TokenClick: ErrTokenExpired, TokenConfirm: ErrTokenExpired, TokenUnsubscribe: ErrTokenExpired})

	// The lifetime is a setting.
	short, err := NewSignerFrom(SignerConfig{Secret: strings.Repeat("e", 32), LinkTTL: time.Hour, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	c.t = start
	tok := short.Sign(TokenConfirm, id, 0)
	c.t = start.Add(time.Hour)
	if _, err := short.Verify(tok, TokenConfirm); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("a one-hour link an hour later: %v, want ErrTokenExpired", err)
	}
}

func TestLegacyTokens(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, strings.Repeat("l", 32))
	id := uuid.New()
	// Unsubscribing from an email sent before links expired still works.
	got, err := s.Verify(LegacyToken(s, TokenUnsubscribe, id, 0), TokenUnsubscribe)
	if err != nil || got.ID != id || !got.Legacy {
		t.Errorf("legacy unsubscribe = %+v, %v; want it accepted", got, err)
	}
	// The others are expired: their handlers decide what an old link does.
	for _, kind := range []byte{TokenOpen, TokenClick, TokenConfirm} {
		got, err := s.Verify(LegacyToken(s, kind, id, 3), kind)
		if !errors.Is(err, ErrTokenExpired) || got.ID != id || got.N != 3 || !got.Legacy {
			t.Errorf("legacy %c = %+v, %v; want the token and ErrTokenExpired", kind, got, err)
		}
		if got.Leads("https://example.com/") {
			t.Errorf("legacy %c leads to a link it was never signed for", kind)
		}
	}
	if _, err := s.Verify(LegacyToken(s, TokenOpen, id, 0), TokenUnsubscribe); !errors.Is(err, ErrBadToken) {
		t.Errorf("a legacy open token accepted as an unsubscribe one: %v", err)
	}
	other := newTestSigner(t, strings.Repeat("m", 32))
	if _, err := s.Verify(LegacyToken(other, TokenUnsubscribe, id, 0), TokenUnsubscribe); !errors.Is(err, ErrBadToken) {
		t.Errorf("a legacy token under another key accepted: %v", err)
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
		{l.Click(3, "https://example.com/"), "https://leads.example.com/t/c/", TokenClick, 3},
		{l.Unsubscribe(), "https://leads.example.com/u/", TokenUnsubscribe, 0},
		{ConfirmURL(l.BaseURL, s, id), "https://leads.example.com/c/", TokenConfirm, 0},
	} {
		tok, ok := strings.CutPrefix(c.url, c.prefix)
		if !ok {
			t.Errorf("%s does not start with %s", c.url, c.prefix)
			continue
		}
		got, err := s.Verify(tok, c.kind)
		if err != nil || got.ID != id || got.N != c.n {
			t.Errorf("%s: Verify = %+v, %v", c.url, got, err)
		}
	}
}

func FuzzVerifyToken(f *testing.F) {
	s := newTestSigner(f, strings.Repeat("f", 32))
	f.Add(s.ClickToken(uuid.New(), 1, "https://example.com/"))
	f.Add(LegacyToken(s, TokenClick, uuid.New(), 1))
	f.Add("")
	f.Add("not-a-token")
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := s.Verify(tok, TokenClick)
		if err != nil {
			if !errors.Is(err, ErrBadToken) && !errors.Is(err, ErrTokenExpired) {
				t.Fatalf("Verify error %v is neither ErrBadToken nor ErrTokenExpired", err)
			}
			return
		}
		// Anything accepted must be exactly what we would sign.
		if s.sign(TokenClick, got.ID, got.N, got.Expires, got.digest) != tok {
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
