package console

import (
	"context"
	"testing"

	"github.com/alexedwards/argon2id"
)

// BenchmarkPasswordCheck is what one sign-in attempt costs the server with
// the production argon2id costs (64 MiB, one pass): the figure that, with
// the per-address and per-IP limits, bounds guessing. Run in parallel it
// shows the hashing slots queueing attempts instead of taking memory.
func BenchmarkPasswordCheck(b *testing.B) {
	h, err := newHasher(argon2id.DefaultParams)
	if err != nil {
		b.Fatal(err)
	}
	hash, err := h.hash(context.Background(), testPassword)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if !h.matches(context.Background(), testPassword, hash) {
				b.Fatal("the password does not match its hash")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if h.matches(context.Background(), "wrong password!", hash) {
					b.Fatal("a wrong password matched")
				}
			}
		})
	})
}
