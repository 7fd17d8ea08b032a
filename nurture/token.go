package nurture

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Token kinds: what a signed token may be used for. A token of one kind is
// refused where another is expected.
const (
	TokenOpen        = 'o' // open pixel: a message
	TokenClick       = 'c' // click: a message, a link index and the link
	TokenUnsubscribe = 'u' // unsubscribe: a message
	TokenConfirm     = 'k' // double opt-in confirmation: a response
	TokenCancel      = 'r' // cancel an event registration: a registration
)

// How long links work unless configured otherwise.
const (
	// DefaultLinkTTL is how long open, click and confirmation links work.
	DefaultLinkTTL = 180 * 24 * time.Hour
	// DefaultUnsubscribeTTL is how long unsubscribe links work: longer than
	// anything else, since an old email's unsubscribe link must still work
	// when its reader finally wants out.
	DefaultUnsubscribeTTL = 730 * 24 * time.Hour
	// MinUnsubscribeTTL is the shortest unsubscribe lifetime accepted.
	MinUnsubscribeTTL = 365 * 24 * time.Hour
)

// ErrBadToken is any token that is malformed, of the wrong kind or not
// signed by this server's key.
var ErrBadToken = errors.New("invalid or tampered link")

// ErrTokenExpired is a token this server signed whose time is over. Verify
// still returns what the token names, so a page can say whose link it was.
var ErrTokenExpired = errors.New("link expired")

// Signer makes and checks the signed tokens in tracking, unsubscribe and
// confirmation links: kind, record ID, an index and an expiry (and for a
// click, a digest of the link it leads to), with an HMAC-SHA256 of them
// under a key derived from the server's secret.
//
// Tokens signed before expiries existed (version 1: no expiry, no link
// digest) still verify, marked Legacy: an unsubscribe one is honoured for
// good, the others come back as ErrTokenExpired, and their handlers decide
// what an old link may still do.
type Signer struct {
	key            []byte
	linkTTL        time.Duration
	unsubscribeTTL time.Duration
	now            func() time.Time
}

// SignerConfig is a Signer's settings.
type SignerConfig struct {
	// Secret is the server's secret key, at least 32 characters.
	Secret string
	// LinkTTL is how long open, click and confirmation links work
	// (default DefaultLinkTTL).
	LinkTTL time.Duration
	// UnsubscribeTTL is how long unsubscribe links work (default
	// DefaultUnsubscribeTTL, at least MinUnsubscribeTTL).
	UnsubscribeTTL time.Duration
	// Now is the clock tokens are signed and checked by (default time.Now).
	Now func() time.Time
}

// NewSigner derives the token key from the server's secret key, with the
// default lifetimes.
func NewSigner(secret string) (*Signer, error) {
	return NewSignerFrom(SignerConfig{Secret: secret})
}

// NewSignerFrom makes a Signer from cfg, defaults applied.
func NewSignerFrom(cfg SignerConfig) (*Signer, error) {
	if len(cfg.Secret) < 32 {
		return nil, errors.New("signer: the secret key must be at least 32 characters")
	}
	if cfg.LinkTTL < 0 || cfg.UnsubscribeTTL < 0 {
		return nil, errors.New("signer: link lifetimes cannot be negative")
	}
	if cfg.LinkTTL == 0 {
		cfg.LinkTTL = DefaultLinkTTL
	}
	if cfg.UnsubscribeTTL == 0 {
		cfg.UnsubscribeTTL = DefaultUnsubscribeTTL
	}
	if cfg.UnsubscribeTTL < MinUnsubscribeTTL {
		return nil, fmt.Errorf("signer: unsubscribe links must work for at least %d days", MinUnsubscribeTTL/(24*time.Hour))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := hmac.New(sha256.New, []byte(cfg.Secret))
	m.Write([]byte("leadflow nurture tokens v1"))
	return &Signer{key: m.Sum(nil), linkTTL: cfg.LinkTTL, unsubscribeTTL: cfg.UnsubscribeTTL, now: cfg.Now}, nil
}

// LinkTTL is how long open, click and confirmation links work.
func (s *Signer) LinkTTL() time.Duration { return s.linkTTL }

// Token is what a verified token says.
type Token struct {
	Kind byte
	ID   uuid.UUID
	N    uint32
	// Expires is when the token stops working; zero for a Legacy one.
	Expires time.Time
	// Legacy: signed before tokens carried an expiry.
	Legacy bool
	// digest is a click token's digest of its link.
	digest []byte
}

// Leads reports whether a click token was signed for link: a click
// redirects only to the link rendering signed, never to another stored
// one. A Legacy token was signed for no link.
func (t Token) Leads(link string) bool {
	return !t.Legacy && t.digest != nil && hmac.Equal(t.digest, linkDigest(link))
}

// Token layout, version 2: version, kind, ID, n, expiry (Unix seconds) and,
// for a click, the link's digest; then the MAC of all that. Version 1 was
// kind, ID, n and the MAC; its first byte is a kind, never 2.
const (
	macLen       = 16 // the signature's length in bytes (128 bits)
	digestLen    = 8
	tokenV2      = 2
	v1Len        = 1 + 16 + 4 + macLen
	v2Len        = 1 + 1 + 16 + 4 + 4 + macLen
	v2ClickLen   = v2Len + digestLen
	maxTokenText = 72 // base64 of the longest token, v2ClickLen bytes, with room
)

// linkDigest binds a click token to the URL it was made for.
func linkDigest(link string) []byte {
	sum := sha256.Sum256([]byte("leadflow link\x00" + link))
	return sum[:digestLen]
}

// Sign returns a URL-safe token for kind, id and n, expiring after the
// kind's lifetime. A click token is signed with ClickToken instead.
func (s *Signer) Sign(kind byte, id uuid.UUID, n uint32) string {
	return s.sign(kind, id, n, s.expiry(kind), nil)
}

// ClickToken returns the token of a click on link number n of message id,
// which leads to link and nowhere else.
func (s *Signer) ClickToken(id uuid.UUID, n uint32, link string) string {
	return s.sign(TokenClick, id, n, s.expiry(TokenClick), linkDigest(link))
}

func (s *Signer) expiry(kind byte) time.Time {
	if kind == TokenUnsubscribe {
		return s.now().Add(s.unsubscribeTTL)
	}
	return s.now().Add(s.linkTTL)
}

func (s *Signer) sign(kind byte, id uuid.UUID, n uint32, expires time.Time, digest []byte) string {
	buf := make([]byte, 0, v2ClickLen)
	buf = append(buf, tokenV2, kind)
	buf = append(buf, id[:]...)
	buf = binary.BigEndian.AppendUint32(buf, n)
	buf = binary.BigEndian.AppendUint32(buf, uint32(min(max(expires.Unix(), 0), 1<<32-1)))
	buf = append(buf, digest...)
	buf = append(buf, s.mac(buf)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

func (s *Signer) mac(body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(body)
	return m.Sum(nil)[:macLen]
}

// Verify checks a token of the expected kind and returns what it names.
// ErrBadToken: not a token this server signed for kind. ErrTokenExpired:
// one it signed, past its expiry, or a Legacy one of a kind that now
// expires; the Token is returned with it.
func (s *Signer) Verify(token string, kind byte) (Token, error) {
	if len(token) > maxTokenText || strings.ContainsAny(token, "=+/") {
		return Token{}, ErrBadToken
	}
	buf, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return Token{}, ErrBadToken
	}
	switch {
	case len(buf) == v1Len && buf[0] == kind:
		body, sig := buf[:v1Len-macLen], buf[v1Len-macLen:]
		if !hmac.Equal(sig, s.mac(body)) {
			return Token{}, ErrBadToken
		}
		id, _ := uuid.FromBytes(body[1:17])
		t := Token{Kind: kind, ID: id, N: binary.BigEndian.Uint32(body[17:]), Legacy: true}
		if kind == TokenUnsubscribe {
			// Unsubscribing must keep working from every email ever sent.
			return t, nil
		}
		return t, ErrTokenExpired
	case len(buf) >= 2 && buf[0] == tokenV2 && buf[1] == kind:
		want := v2Len
		if kind == TokenClick {
			want = v2ClickLen
		}
		if len(buf) != want {
			return Token{}, ErrBadToken
		}
		body, sig := buf[:want-macLen], buf[want-macLen:]
		if !hmac.Equal(sig, s.mac(body)) {
			return Token{}, ErrBadToken
		}
		id, _ := uuid.FromBytes(body[2:18])
		t := Token{
			Kind:    kind,
			ID:      id,
			N:       binary.BigEndian.Uint32(body[18:22]),
			Expires: time.Unix(int64(binary.BigEndian.Uint32(body[22:26])), 0).UTC(),
		}
		if kind == TokenClick {
			t.digest = body[26:]
		}
		if !s.now().Before(t.Expires) {
			return t, ErrTokenExpired
		}
		return t, nil
	}
	return Token{}, ErrBadToken
}

// Links makes the signed URLs of one message.
type Links struct {
	BaseURL   string
	Signer    *Signer
	MessageID uuid.UUID
}

// Open is the open pixel's URL.
func (l Links) Open() string {
	return l.BaseURL + "/t/o/" + l.Signer.Sign(TokenOpen, l.MessageID, 0)
}

// Click is the tracking URL of the message's link number i, which leads to
// target.
func (l Links) Click(i int, target string) string {
	return l.BaseURL + "/t/c/" + l.Signer.ClickToken(l.MessageID, uint32(i), target)
}

// Unsubscribe is the unsubscribe page (GET) and one-click (POST) URL.
func (l Links) Unsubscribe() string {
	return l.BaseURL + "/u/" + l.Signer.Sign(TokenUnsubscribe, l.MessageID, 0)
}

// ConfirmURL is a double opt-in confirmation link for a response.
func ConfirmURL(baseURL string, s *Signer, responseID uuid.UUID) string {
	return baseURL + "/c/" + s.Sign(TokenConfirm, responseID, 0)
}
