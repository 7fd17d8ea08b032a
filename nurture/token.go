package nurture

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"

	"github.com/google/uuid"
)

// Token kinds: what a signed token may be used for. A token of one kind is
// refused where another is expected.
const (
	TokenOpen        = 'o' // open pixel: a message
	TokenClick       = 'c' // click: a message and a link index
	TokenUnsubscribe = 'u' // unsubscribe: a message
	TokenConfirm     = 'k' // double opt-in confirmation: a response
)

// ErrBadToken is any token that is malformed, of the wrong kind or not
// signed by this server's key.
var ErrBadToken = errors.New("invalid or tampered link")

// Signer makes and checks the signed tokens in tracking, unsubscribe and
// confirmation links: kind, record ID and an index, with an HMAC-SHA256 of
// them under a key derived from the server's secret.
type Signer struct {
	key []byte
}

// NewSigner derives the token key from the server's secret key.
func NewSigner(secret string) (*Signer, error) {
	if len(secret) < 32 {
		return nil, errors.New("signer: the secret key must be at least 32 characters")
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("leadflow nurture tokens v1"))
	return &Signer{key: m.Sum(nil)}, nil
}

// macLen is the signature's length in bytes (128 bits).
const macLen = 16

// Sign returns a URL-safe token for kind, id and n.
func (s *Signer) Sign(kind byte, id uuid.UUID, n uint32) string {
	buf := make([]byte, 0, 1+16+4+macLen)
	buf = append(buf, kind)
	buf = append(buf, id[:]...)
	buf = binary.BigEndian.AppendUint32(buf, n)
	m := hmac.New(sha256.New, s.key)
	m.Write(buf)
	buf = append(buf, m.Sum(nil)[:macLen]...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// Verify checks a token of the expected kind and returns its id and n.
func (s *Signer) Verify(token string, kind byte) (uuid.UUID, uint32, error) {
	if len(token) > 64 || strings.ContainsAny(token, "=+/") {
		return uuid.Nil, 0, ErrBadToken
	}
	buf, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(buf) != 1+16+4+macLen || buf[0] != kind {
		return uuid.Nil, 0, ErrBadToken
	}
	body, sig := buf[:1+16+4], buf[1+16+4:]
	m := hmac.New(sha256.New, s.key)
	m.Write(body)
	if !hmac.Equal(sig, m.Sum(nil)[:macLen]) {
		return uuid.Nil, 0, ErrBadToken
	}
	id, _ := uuid.FromBytes(body[1:17])
	return id, binary.BigEndian.Uint32(body[17:]), nil
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

// Click is the tracking URL of the message's link number i.
func (l Links) Click(i int) string {
	return l.BaseURL + "/t/c/" + l.Signer.Sign(TokenClick, l.MessageID, uint32(i))
}

// Unsubscribe is the unsubscribe page (GET) and one-click (POST) URL.
func (l Links) Unsubscribe() string {
	return l.BaseURL + "/u/" + l.Signer.Sign(TokenUnsubscribe, l.MessageID, 0)
}

// ConfirmURL is a double opt-in confirmation link for a response.
func ConfirmURL(baseURL string, s *Signer, responseID uuid.UUID) string {
	return baseURL + "/c/" + s.Sign(TokenConfirm, responseID, 0)
}
