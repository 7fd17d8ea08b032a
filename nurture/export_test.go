package nurture

import (
	"encoding/base64"
	"encoding/binary"

	"github.com/google/uuid"
)

// LegacyToken is a token as this server signed it before tokens carried an
// expiry (kind, ID, n and the MAC), for the tests of old links.
func LegacyToken(s *Signer, kind byte, id uuid.UUID, n uint32) string {
	buf := append([]byte{kind}, id[:]...)
	buf = binary.BigEndian.AppendUint32(buf, n)
	buf = append(buf, s.mac(buf)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}
