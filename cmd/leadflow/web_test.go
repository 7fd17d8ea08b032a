package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"leadflow/capture"
	"leadflow/embed/httpapi"
	"leadflow/store"
)

// logBuffer collects a logger's JSON lines; handlers write from server
// goroutines while the test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records decodes every log line.
func (b *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, rec)
	}
	return out
}

// count is how many records have the message msg.
func (b *logBuffer) count(t *testing.T, msg string) int {
	t.Helper()
	n := 0
	for _, rec := range b.records(t) {
		if rec["msg"] == msg {
			n++
		}
	}
	return n
}

func newTestLogger() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

type webBundle struct {
	e    *echo.Echo
	srv  *httptest.Server
	logs *logBuffer
}

// setupWeb serves a bare application shell over real HTTP; tests add routes
// to e before making requests.
func setupWeb(t *testing.T) *webBundle {
	t.Helper()
	logger, logs := newTestLogger()
	e := newEcho(logger, nil)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &webBundle{e: e, srv: srv, logs: logs}
}

// get requests path with the given Accept header and returns status,
// content type and body.
func (b *webBundle) get(t *testing.T, path, accept string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func TestErrorHandlerMapsErrorsToStableBodies(t *testing.T) {
	t.Parallel()
	b := setupWeb(t)
	fields := map[string]string{"email": "not a valid email address"}
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   httpapi.ErrorBody
	}{
		{"not found", fmt.Errorf("get form: %w", store.ErrNotFound), 404,
			httpapi.ErrorBody{Code: "not_found", Message: "not found"}},
		{"conflict", fmt.Errorf("insert form: %w (forms_key_key)", store.ErrConflict), 409,
			httpapi.ErrorBody{Code: "conflict", Message: "conflicts with an existing record"}},
		{"conflict naming its field", fmt.Errorf("%w: %w", store.ErrConflict, &capture.ValidationError{Fields: map[string]string{"key": "is taken"}}), 409,
			httpapi.ErrorBody{Code: "conflict", Message: "conflicts with an existing record", Fields: map[string]string{"key": "is taken"}}},
		{"invalid reference", fmt.Errorf("insert form: %w", store.ErrInvalidReference), 422,
			httpapi.ErrorBody{Code: "invalid_reference", Message: "refers to a record that does not exist"}},
		{"validation", fmt.Errorf("create contact: %w", &capture.ValidationError{Fields: fields}), 422,
			httpapi.ErrorBody{Code: "validation_failed", Message: "some fields are invalid", Fields: fields}},
		{"too large", echo.ErrStatusRequestEntityTooLarge, 413,
			httpapi.ErrorBody{Code: "too_large", Message: "Request Entity Too Large"}},
		{"body over a MaxBytesReader", fmt.Errorf("read body: %w", &http.MaxBytesError{Limit: 10}), 413,
			httpapi.ErrorBody{Code: "too_large", Message: "Request Entity Too Large"}},
		{"rate limited", echo.NewHTTPError(429, "slow down"), 429,
			httpapi.ErrorBody{Code: "rate_limited", Message: "slow down"}},
		{"unauthorized", echo.ErrUnauthorized, 401,
			httpapi.ErrorBody{Code: "unauthorized", Message: "Unauthorized"}},
		{"forbidden", echo.NewHTTPError(403, "a sales key may not do this"), 403,
			httpapi.ErrorBody{Code: "forbidden", Message: "a sales key may not do this"}},
		{"bad request", echo.NewHTTPError(400, "cursor is not valid"), 400,
			httpapi.ErrorBody{Code: "bad_request", Message: "cursor is not valid"}},
		{"unsupported media type", echo.NewHTTPError(415, "send the body as application/json"), 415,
			httpapi.ErrorBody{Code: "unsupported_media_type", Message: "send the body as application/json"}},
		{"internal hides its cause", errors.New("query failed: password=hunter2"), 500,
			httpapi.ErrorBody{Code: "internal", Message: "internal error"}},
		{"5xx HTTPError hides its message", echo.NewHTTPError(503, "redis at 10.1.2.3 down"), 503,
			httpapi.ErrorBody{Code: "internal", Message: "internal error"}},
	}
	for i, tt := range tests {
		path := fmt.Sprintf("/case/%d", i)
		b.e.GET(path, func(echo.Context) error { return tt.err })
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ctype, body := b.get(t, fmt.Sprintf("/case/%d", i), "")
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", status, tt.wantStatus, body)
			}
			if !strings.HasPrefix(ctype, "application/json") {
				t.Errorf("content type = %q, want JSON", ctype)
			}
			var got httpapi.ErrorBody
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if diff := cmp.Diff(tt.wantBody, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
	logs := b.logs.String()
	if !strings.Contains(logs, "hunter2") {
		t.Errorf("the internal error was not logged for operators; logs:\n%s", logs)
	}
	if n := b.logs.count(t, "http_server_error"); n != 2 {
		t.Errorf("server errors logged %d times, want 2 (one per 5xx); logs:\n%s", n, logs)
	}
}

func TestErrorHandlerUnknownRouteAndMethod(t *testing.T) {
	t.Parallel()
	b := setupWeb(t)
	b.e.POST("/only-post", func(c echo.Context) error { return c.NoContent(204) })

	status, _, body := b.get(t, "/nowhere", "")
	if status != 404 || !strings.Contains(body, `"code":"not_found"`) {
		t.Errorf("unknown route: %d %s, want 404 not_found", status, body)
	}
	status, _, body = b.get(t, "/only-post", "")
	if status != 405 || !strings.Contains(body, `"code":"method_not_allowed"`) {
		t.Errorf("wrong method: %d %s, want 405 method_not_allowed", status, body)
	}
}

func TestErrorHandlerRecoversPanicsAndLogsOnce(t *testing.T) {
	t.Parallel()
	b := setupWeb(t)
	b.e.GET("/boom", func(echo.Context) error { panic("secret internal state") })

	status, _, body := b.get(t, "/boom", "")
	if status != 500 {
		t.Fatalf("status = %d, want 500", status)
	}
	if strings.Contains(body, "secret internal state") {
		t.Errorf("panic value leaked to the client: %s", body)
	}
	recs := b.logs.records(t)
	var errs []map[string]any
	for _, r := range recs {
		if r["level"] == "ERROR" {
			errs = append(errs, r)
		}
	}
	if len(errs) != 1 {
		t.Fatalf("error records = %d, want exactly 1: %v", len(errs), recs)
	}
	if errs[0]["msg"] != "http_server_error" || errs[0]["stack"] == nil || errs[0]["request_id"] == "" {
		t.Errorf("panic record = %v, want http_server_error with stack and request_id", errs[0])
	}
}

func TestErrorHandlerLeavesCommittedResponsesAlone(t *testing.T) {
	t.Parallel()
	b := setupWeb(t)
	b.e.GET("/partial", func(c echo.Context) error {
		if err := c.String(http.StatusOK, "streamed"); err != nil {
			return err
		}
		return errors.New("failed after the answer was sent")
	})
	status, _, body := b.get(t, "/partial", "")
	if status != 200 || body != "streamed" {
		t.Errorf("got %d %q, want the handler's own 200 answer untouched", status, body)
	}
}

func TestErrorHandlerAnswersBrowsersWithHTML(t *testing.T) {
	t.Parallel()
	b := setupWeb(t)
	verr := &capture.ValidationError{Fields: map[string]string{"email": "not <valid>"}}
	b.e.GET("/f/demo", func(echo.Context) error { return verr })
	b.e.GET("/api/v1/demo", func(echo.Context) error { return verr })
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

	status, ctype, body := b.get(t, "/f/demo", browser)
	if status != 422 || !strings.HasPrefix(ctype, "text/html") {
		t.Fatalf("browser post: %d %s, want 422 text/html", status, ctype)
	}
	if !strings.Contains(body, "<strong>email</strong>: not &lt;valid&gt;") {
		t.Errorf("page does not name the field (escaped):\n%s", body)
	}
	if status, ctype, _ := b.get(t, "/f/demo", "application/json"); status != 422 || !strings.HasPrefix(ctype, "application/json") {
		t.Errorf("JSON client: %d %s, want 422 JSON", status, ctype)
	}
	if status, ctype, _ := b.get(t, "/api/v1/demo", browser); status != 422 || !strings.HasPrefix(ctype, "application/json") {
		t.Errorf("admin API from a browser: %d %s, want 422 JSON", status, ctype)
	}
}

func TestIPExtractorTrustsOnlyConfiguredProxies(t *testing.T) {
	t.Parallel()
	lan := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	v6 := []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     string
		want    string
	}{
		{"no proxies: header ignored", nil, "198.51.100.4:5000", "203.0.113.7", "198.51.100.4"},
		{"no proxies: loopback peer not trusted", nil, "127.0.0.1:5000", "203.0.113.7", "127.0.0.1"},
		{"private peer outside the trusted prefixes", lan, "192.168.1.9:5000", "203.0.113.7", "192.168.1.9"},
		{"trusted proxy", lan, "10.0.0.5:5000", "203.0.113.7", "203.0.113.7"},
		{"client-forged entries skipped", lan, "10.0.0.5:5000", "198.51.100.1, 203.0.113.7", "203.0.113.7"},
		{"chain of trusted proxies", lan, "10.0.0.5:5000", "203.0.113.7, 10.0.0.9", "203.0.113.7"},
		{"untrusted peer", lan, "192.0.2.9:5000", "203.0.113.7", "192.0.2.9"},
		{"garbage header", lan, "10.0.0.5:5000", "not-an-ip", "10.0.0.5"},
		{"no header", lan, "10.0.0.5:5000", "", "10.0.0.5"},
		{"ipv6 proxy", v6, "[2001:db8::1]:443", "203.0.113.7", "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logger, _ := newTestLogger()
			e := newEcho(logger, tt.trusted)
			e.GET("/ip", func(c echo.Context) error { return c.String(200, c.RealIP()) })
			req := httptest.NewRequest(http.MethodGet, "/ip", nil)
			req.RemoteAddr = tt.remote
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("client IP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRequireRole(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		role    store.Role // empty: no principal at all
		allowed []store.Role
		want    int
	}{
		{"admin passes every check", store.RoleAdmin, []store.Role{store.RoleMarketing}, 200},
		{"listed role", store.RoleMarketing, []store.Role{store.RoleMarketing}, 200},
		{"one of several", store.RoleSales, []store.Role{store.RoleMarketing, store.RoleSales}, 200},
		{"unlisted role", store.RoleSales, []store.Role{store.RoleMarketing}, 403},
		{"no principal", "", []store.Role{store.RoleMarketing}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logger, _ := newTestLogger()
			e := newEcho(logger, nil)
			withRole := func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					if tt.role != "" {
						ctx := httpapi.WithPrincipal(c.Request().Context(), httpapi.Principal{Role: tt.role})
						c.SetRequest(c.Request().WithContext(ctx))
					}
					return next(c)
				}
			}
			e.GET("/x", func(c echo.Context) error { return c.NoContent(200) }, withRole, httpapi.RequireRole(tt.allowed...))
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d (%s)", rec.Code, tt.want, rec.Body)
			}
		})
	}
}
