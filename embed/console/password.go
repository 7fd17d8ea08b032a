package console

import (
	"fmt"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
)

// Password bounds: long enough to resist guessing, short enough that a
// hash never costs more than it should.
const (
	MinPassword = 10
	MaxPassword = 256
)

// ErrWeakPassword: a password outside the bounds.
var ErrWeakPassword = fmt.Errorf("a password must be %d to %d characters", MinPassword, MaxPassword)

// hasher hashes and checks passwords with argon2id.
type hasher struct {
	params *argon2id.Params
	// dummy is checked when an address has no password to check, so that
	// the answer takes as long whether or not the address exists.
	dummy string
}

func newHasher(params *argon2id.Params) (hasher, error) {
	dummy, err := argon2id.CreateHash(newSecret(), params)
	if err != nil {
		return hasher{}, fmt.Errorf("console: password hashing: %w", err)
	}
	return hasher{params: params, dummy: dummy}, nil
}

func (h hasher) hash(password string) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	s, err := argon2id.CreateHash(password, h.params)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return s, nil
}

// matches reports whether password is the one hash was made from. An empty
// hash (no password yet) matches nothing.
func (h hasher) matches(password, hash string) bool {
	if hash == "" {
		return false
	}
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	return err == nil && ok
}

// spend costs what checking one password costs, and matches nothing.
func (h hasher) spend(password string) {
	_, _ = argon2id.ComparePasswordAndHash(password, h.dummy)
}

// CheckPassword tells whether password may be chosen.
func CheckPassword(password string) error {
	if n := utf8.RuneCountInString(password); n < MinPassword || len(password) > MaxPassword {
		return ErrWeakPassword
	}
	return nil
}

// HashPassword hashes a password with argon2id's default costs, for the
// commands that create people.
func HashPassword(password string) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	s, err := argon2id.CreateHash(password, argon2id.DefaultParams)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return s, nil
}
