package main

import (
	"net/http"
	"strings"
	"testing"

	"leadflow/capture"
	"leadflow/store"
)

// Every admin API answer, a success or any error, tells browsers not to
// guess its type: JSON that echoes user data must never be run as a page.
func TestAdminAnswersAreNosniff(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	for _, c := range []struct {
		name, key, method, path string
		want                    int
	}{
		{"a list", b.a.admin, "GET", "/api/v1/forms", 200},
		{"no key", "", "GET", "/api/v1/forms", 401},
		{"no such record", b.a.admin, "GET", "/api/v1/forms/" + store.NewID().String(), 404},
		{"no such route", b.a.admin, "GET", "/api/v1/nothing-here", 404},
		{"a bad body", b.a.admin, "POST", "/api/v1/forms", 400},
	} {
		req, err := http.NewRequest(c.method, b.srv.URL+c.path, strings.NewReader("{"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if c.key != "" {
			req.Header.Set("Authorization", "Bearer "+c.key)
		}
		resp, err := b.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options = %q, want nosniff", c.name, got)
		}
	}
}

// A new form limits posts per client IP unless told otherwise; 0 still
// turns the limit off (a server posting on behalf of many people).
func TestNewFormsHaveARateLimit(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	f := expectJSON[capture.Form](t, b, 201, b.a.admin, "POST", "/api/v1/forms", map[string]any{"name": "Contact us", "kind": "contact_us"})
	if f.RateLimitPerMinute != capture.DefaultFormRateLimitPerMinute || f.RateLimitPerMinute <= 0 {
		t.Errorf("a new form's rate limit = %d, want %d", f.RateLimitPerMinute, capture.DefaultFormRateLimitPerMinute)
	}
	off := expectJSON[capture.Form](t, b, 201, b.a.admin, "POST", "/api/v1/forms",
		map[string]any{"name": "Server posts", "kind": "contact_us", "rate_limit_per_minute": 0})
	if off.RateLimitPerMinute != 0 {
		t.Errorf("a form created with no limit has %d", off.RateLimitPerMinute)
	}
}
