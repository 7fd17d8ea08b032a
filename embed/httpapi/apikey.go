package httpapi

import (
	"crypto/rand"
	"encoding/base64"
)

// APIKeyStart starts every key, so a leaked key is easy to recognise and
// secret scanners can match it.
const APIKeyStart = "lf_"

// NewAPIKeySecret returns a fresh key: APIKeyStart and 256 random bits.
// The command line and the console make keys with it alike.
func NewAPIKeySecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return APIKeyStart + base64.RawURLEncoding.EncodeToString(b)
}

// APIKeyPrefix is the start of a key that lists show to tell keys apart.
func APIKeyPrefix(secret string) string {
	if len(secret) > len(APIKeyStart)+6 {
		return secret[:len(APIKeyStart)+6]
	}
	return secret
}
