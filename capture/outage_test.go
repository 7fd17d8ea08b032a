package capture_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"leadflow/store"
	"leadflow/store/storetest"
)

// proxyDB returns a dbVia that routes the intake's database through a proxy
// it stores in *p.
func proxyDB(p **storetest.Proxy) func(t testing.TB, dbURL string) string {
	return func(t testing.TB, dbURL string) string {
		proxy, via := storetest.ProxyURL(t, dbURL)
		*p = proxy
		return via
	}
}

// testClock is a clock the test moves by hand.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// TestIntakeDatabaseDown: with PostgreSQL gone, every post is answered 503
// with Retry-After (never a 500), and the outage is logged once per
// interval, not once per post.
func TestIntakeDatabaseDown(t *testing.T) {
	t.Parallel()
	var proxy *storetest.Proxy
	clock := newTestClock()
	b := setupIntake(t, intakeOptions{dbVia: proxyDB(&proxy), now: clock.Now})
	looked := b.newForm(t, store.Form{})
	never := b.newForm(t, store.Form{})
	acceptedID(t, b.postJSON(t, looked.Key, map[string]string{"email": "before@example.com"}))

	proxy.Cut()
	unavailable := func(key string, html bool) {
		t.Helper()
		var rec interface {
			Result() *http.Response
		}
		if html {
			rec = b.postForm(t, key, url.Values{"email": {"during@example.com"}})
		} else {
			rec = b.postJSON(t, key, map[string]string{"email": "during@example.com"})
		}
		resp := rec.Result()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("post to %s while PostgreSQL is down = %d (Retry-After %q), want 503 with Retry-After: %s",
				key, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		if html {
			if !strings.Contains(string(body), "try again") {
				t.Errorf("503 page does not ask to try again: %s", body)
			}
			return
		}
		var e struct{ Code string }
		if err := json.Unmarshal(body, &e); err != nil || e.Code != "unavailable" {
			t.Errorf("503 body = %s, want code unavailable", body)
		}
	}
	const posts = 20
	for i := range posts {
		// A form already looked up (its commit fails) and one never seen
		// (its lookup fails), as scripts and as browsers.
		unavailable([]string{looked.Key, never.Key}[i%2], i%3 == 0)
	}
	lines := func() []string {
		var out []string
		for line := range strings.Lines(b.logs.String()) {
			if strings.Contains(line, "msg=capture_database_unavailable") {
				out = append(out, line)
			}
		}
		return out
	}
	if got := lines(); len(got) != 1 {
		t.Fatalf("%d posts logged %d outage lines, want 1:\n%s", posts, len(got), b.logs.String())
	}
	clock.Advance(11 * time.Second)
	unavailable(looked.Key, false)
	unavailable(never.Key, false)
	got := lines()
	if len(got) != 2 {
		t.Fatalf("after the interval: %d outage lines, want 2:\n%s", len(got), b.logs.String())
	}
	// The second line counts what the interval held back.
	if !strings.Contains(got[1], "count=20") {
		t.Errorf("second outage line does not count the %d posts since the first: %s", posts, got[1])
	}
}
