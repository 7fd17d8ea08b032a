package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"leadflow/embed/console"
	"leadflow/store"
	"leadflow/store/storetest"
)

// TestSessionsAndLimitsHoldAcrossServeProcesses runs two serve processes
// on one PostgreSQL and one Redis, as behind a load balancer: a session
// made by one works on the other and sign-out on either ends it, and
// sign-in attempts made on both count into one limit.
func TestSessionsAndLimitsHoldAcrossServeProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, redisURL := storetest.DatabaseURL(t), storetest.RedisURL(t)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	ws, err := st.EnsureWorkspace(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	const password = "correct horse battery"
	hash, err := console.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		if _, err := st.InsertPerson(ctx, store.Person{WorkspaceID: ws.ID, Name: "x", Email: email, Role: store.UserMarketing, PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
	}
	a := startServe(t, dbURL, redisURL, "")
	b := startServe(t, dbURL, redisURL, "")

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	post := func(base, path string, form url.Values) (int, string) {
		t.Helper()
		resp, err := client.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	get := func(base, path string) (int, string, string) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Request.URL.Path, string(body)
	}
	if code, _ := post(a, "/login", url.Values{"email": {"ada@example.com"}, "password": {password}}); code != http.StatusOK {
		t.Fatalf("sign in on A: status %d", code)
	}
	// Cookies are per host, not per port: the jar sends A's cookie to B.
	code, path, body := get(b, "/console/")
	if code != http.StatusOK || path != "/console/" {
		t.Fatalf("A's session on B: status %d at %s", code, path)
	}
	token := csrfInput.FindStringSubmatch(body)
	if token == nil {
		t.Fatal("no CSRF token on B's page")
	}
	if code, _ := post(b, "/logout", url.Values{"csrf_token": {token[1]}}); code != http.StatusOK {
		t.Fatalf("sign out on B: status %d", code)
	}
	if _, path, _ := get(a, "/console/"); path != "/login" {
		t.Errorf("after sign-out on B, A showed %s, want /login", path)
	}

	// The limit is one, whichever process takes the attempts.
	for i := range signInLimit {
		base := []string{a, b}[i%2]
		if code, _ := post(base, "/login", url.Values{"email": {"bob@example.com"}, "password": {"wrong password!"}}); code != http.StatusUnauthorized {
			t.Fatalf("wrong attempt %d: status %d", i+1, code)
		}
	}
	for _, base := range []string{a, b} {
		if code, body := post(base, "/login", url.Values{"email": {"bob@example.com"}, "password": {password}}); code != http.StatusTooManyRequests || !strings.Contains(body, "Too many attempts") {
			t.Errorf("attempt past the limit on %s: status %d", base, code)
		}
	}
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
