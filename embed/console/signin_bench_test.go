package console

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"leadflow/store"
)

// BenchmarkLinkRequest is how long a sign-in link request takes to answer
// for an address that belongs to someone (whose email then goes out) and
// for one that does not: the two figures should match, since the look-up
// and the email come after the answer. Each request is timed alone, once
// the emails of the one before have gone out, as an attacker timing one
// request at a time would see it.
func BenchmarkLinkRequest(b *testing.B) {
	for _, tc := range []struct{ name, email string }{{"known", "ada@example.com"}, {"unknown", "nobody@example.com"}} {
		b.Run(tc.name, func(b *testing.B) {
			bd := setup(b, func(c *Config) { c.AttemptsPerAddress, c.AttemptsPerIP = 1<<30, 1<<30 })
			bd.person(b, bd.ws, "ada@example.com", store.UserAdmin, "")
			bd.c.outbox.max = 1 << 30
			br := bd.browser(b)
			form := url.Values{"email": {tc.email}}
			b.ResetTimer()
			for range b.N {
				if a := br.post("/login/link", form); a.status != http.StatusOK {
					b.Fatalf("status %d", a.status)
				}
				b.StopTimer()
				bd.c.outbox.idle()
				b.StartTimer()
			}
			b.StopTimer()
			if err := bd.c.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// idle waits until the outbox holds no work.
func (o *outbox) idle() {
	for {
		o.mu.Lock()
		n := o.pending
		o.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
}
