package console

import (
	"context"
	"fmt"
	"runtime"
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
	// slots bound the hashes computed at once: each takes params.Memory
	// KiB (64 MiB by default), so a burst of sign-ins from many addresses
	// must queue rather than take the machine's memory.
	slots chan struct{}
}

func newHasher(params *argon2id.Params) (hasher, error) {
	dummy, err := argon2id.CreateHash(newSecret(), params)
	if err != nil {
		return hasher{}, fmt.Errorf("console: password hashing: %w", err)
	}
	return hasher{params: params, dummy: dummy, slots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}, nil
}

// hold waits for a hashing slot; false when ctx ends first.
func (h hasher) hold(ctx context.Context) bool {
	select {
	case h.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (h hasher) free() { <-h.slots }

func (h hasher) hash(ctx context.Context, password string) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	if !h.hold(ctx) {
		return "", ctx.Err()
	}
	defer h.free()
	s, err := argon2id.CreateHash(password, h.params)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return s, nil
}

// matches reports whether password is the one hash was made from. An empty
// hash (no password yet) matches nothing.
func (h hasher) matches(ctx context.Context, password, hash string) bool {
	if hash == "" || !h.hold(ctx) {
		return false
	}
	defer h.free()
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	return err == nil && ok
}

// spend costs what checking one password costs, and matches nothing.
func (h hasher) spend(ctx context.Context, password string) {
	if !h.hold(ctx) {
		return
	}
	defer h.free()
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
