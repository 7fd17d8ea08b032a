package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

// logLine finds the line with message msg and request_id id in text logs.
func logLine(logs, msg, id string) string {
	for line := range strings.Lines(logs) {
		if strings.Contains(line, "msg="+msg+" ") && strings.Contains(line, "request_id="+id) {
			return line
		}
	}
	return ""
}

// TestAccessLogNamesTheRouteNotTheToken drives a real `leadflow serve`: every
// answer carries a request ID, a sane one the caller sent is kept, and the
// access line of a tracking link names its route pattern, never the token
// nor the query string.
func TestAccessLogNamesTheRouteNotTheToken(t *testing.T) {
	t.Parallel()
	b := setupPools(t, nil)
	ctx := context.Background()
	get := func(path, requestID string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if requestID != "" {
			req.Header.Set(echo.HeaderXRequestID, requestID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	// /healthz says which build answers.
	resp := get("/healthz", "lb-1f2e3d.4c5b_6a:7")
	var health map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&health); err != nil {
		t.Fatalf("/healthz body: %v", err)
	}
	if diff := cmp.Diff(map[string]string{"status": "ok", "version": version}, health); diff != "" || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: status %d, body (-want +got):\n%s", resp.StatusCode, diff)
	}
	if got := resp.Header.Get(echo.HeaderXRequestID); got != "lb-1f2e3d.4c5b_6a:7" {
		t.Errorf("X-Request-ID = %q, want the caller's sane one kept", got)
	}

	// An ID that could forge or flood log lines is replaced.
	for _, bad := range []string{"a b", "x\"y", strings.Repeat("z", 129), "id=1 msg=forged"} {
		resp := get("/healthz", bad)
		got := resp.Header.Get(echo.HeaderXRequestID)
		if _, err := uuid.Parse(got); err != nil {
			t.Errorf("caller's X-Request-ID %q: answered with %q, want a fresh UUID", bad, got)
		}
	}

	// A tracking link with a token and a query string: whatever it answers,
	// the line has the route and the request ID, not the token or query.
	const token = "tok3nS3cretValue0123456789"
	const query = "utm_source=s3cretQuery"
	resp = get("/t/c/"+token+"?"+query, "")
	id := resp.Header.Get(echo.HeaderXRequestID)
	if id == "" {
		t.Fatal("a tracking answer without X-Request-ID")
	}
	var line string
	waitFor(t, "the tracking link's access line", 10*time.Second, func() bool {
		line = logLine(b.cmd.stderr.String(), "http_request", id)
		return line != ""
	})
	for _, want := range []string{"method=GET", "route=/t/c/:token", "status=" + strconv.Itoa(resp.StatusCode), "duration_ms=", "bytes="} {
		if !strings.Contains(line, want) {
			t.Errorf("access line lacks %q:\n%s", want, line)
		}
	}
	logs := b.cmd.stderr.String()
	if strings.Contains(logs, token) || strings.Contains(logs, "s3cretQuery") {
		t.Errorf("the token or the query string appears in the logs:\n%s", logs)
	}
}

// TestServerErrorLinesCarryTheRequestID checks a 5xx is logged once by the
// error handler and once in the access line, both with the ID the client
// was answered with.
func TestServerErrorLinesCarryTheRequestID(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	e := newEcho(slog.New(slog.NewTextHandler(&logs, nil)), nil)
	e.GET("/boom/:token", func(echo.Context) error { return errors.New("disk on fire") })
	e.GET("/panic", func(echo.Context) error { panic("oops") })
	for _, tt := range []struct{ path, route string }{{"/boom/s3cret?k=v", "/boom/:token"}, {"/panic", "/panic"}} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
		id := rec.Header().Get(echo.HeaderXRequestID)
		if rec.Code != http.StatusInternalServerError || id == "" {
			t.Fatalf("GET %s: status %d, X-Request-ID %q; want 500 with an ID", tt.path, rec.Code, id)
		}
		if logLine(logs.String(), "http_server_error", id) == "" {
			t.Errorf("GET %s: no http_server_error line with request_id=%s:\n%s", tt.path, id, logs.String())
		}
		access := logLine(logs.String(), "http_request", id)
		if !strings.Contains(access, "route="+tt.route+" ") || !strings.Contains(access, "status=500 ") {
			t.Errorf("GET %s: access line %q, want route=%s status=500", tt.path, access, tt.route)
		}
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("a 5xx's token reached the logs:\n%s", logs.String())
	}
	if n := strings.Count(logs.String(), "msg=http_request "); n != 2 {
		t.Errorf("%d access lines for 2 requests:\n%s", n, logs.String())
	}
}

// TestUnmatchedRouteIsLoggedWithoutItsPath checks a 404 for a path no route
// knows is logged as unmatched, not with the path as sent.
func TestUnmatchedRouteIsLoggedWithoutItsPath(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	e := newEcho(slog.New(slog.NewTextHandler(&logs, nil)), nil)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/nowhere/s3cret", nil))
	line := logLine(logs.String(), "http_request", rec.Header().Get(echo.HeaderXRequestID))
	if rec.Code != http.StatusNotFound || !strings.Contains(line, "route=unmatched ") || !strings.Contains(line, "status=404 ") {
		t.Errorf("status %d, access line %q; want 404 logged as route=unmatched", rec.Code, line)
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("the path appears in the logs:\n%s", logs.String())
	}
}

func TestVersionFlagPrintsTheVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, envFunc(nil), &stdout, &stderr); err != nil {
			t.Errorf("leadflow %s: %v (stderr %q)", args[0], err, stderr.String())
		}
		if got := stdout.String(); got != version+"\n" {
			t.Errorf("leadflow %s printed %q, want %q", args[0], got, version+"\n")
		}
	}
}

func FuzzSaneRequestID(f *testing.F) {
	for _, s := range []string{"", "abc", "a b", "x\ny", "9f1c-ab.cd_ef:1", strings.Repeat("a", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if !saneRequestID(id) {
			return
		}
		if id == "" || len(id) > 128 || strings.ContainsAny(id, " \t\r\n\"=\\") {
			t.Errorf("accepted %q", id)
		}
	})
}
