package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"leadflow/deploy/local"
	"leadflow/store/storetest"
)

// openAPIDocument is the part of the OpenAPI document the route check reads.
type openAPIDocument struct {
	OpenAPI string                    `json:"openapi"`
	Paths   map[string]map[string]any `json:"paths"`
}

// echoParam turns Echo's :id into OpenAPI's {id}.
var echoParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// TestOpenAPIDocumentsEveryRoute builds the real server as serve does and
// checks, both ways, that every admin API and capture route is in the
// document served at /api/v1/openapi.json and that the document names no
// route the server does not have.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	sink, err := local.StartSMTPSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	env := map[string]string{
		"LEADFLOW_DATABASE_URL": storetest.DatabaseURL(t),
		"LEADFLOW_REDIS_URL":    storetest.RedisURL(t),
		"LEADFLOW_SECRET_KEY":   strings.Repeat("k", 40),
		"LEADFLOW_ADDR":         "127.0.0.1:0",
		"LEADFLOW_SMTP_URL":     "smtp://" + sink.Addr() + "?tls=none",
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	finish := configFlags(fs, func(k string) string { return env[k] })
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := finish()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	routes := make(chan []*echo.Route, 1)
	listening := make(chan string, 1)
	go func() {
		done <- runWith(ctx, cfg, slog.New(slog.DiscardHandler), runOptions{serve: true,
			routes:   func(e *echo.Echo) { routes <- e.Routes() },
			onListen: func(addr string) { listening <- addr }})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	var addr string
	select {
	case addr = <-listening:
	case err := <-done:
		t.Fatalf("serve did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start within a minute")
	}
	registered := <-routes

	// The document is served, without a key, as JSON.
	resp, err := http.Get("http://" + addr + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json = %d, %v", resp.StatusCode, err)
	}
	var doc openAPIDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1", doc.OpenAPI)
	}

	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "parameters", "summary", "description", "servers":
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, r := range registered {
		if !strings.HasPrefix(r.Path, "/api/v1/") && !strings.HasPrefix(r.Path, "/f/") {
			continue
		}
		if strings.HasSuffix(r.Path, "/*") || r.Method == echo.RouteNotFound {
			continue // the group's own fallbacks
		}
		served[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 {
		t.Errorf("served but not in the OpenAPI document:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("in the OpenAPI document but not served:\n  %s", strings.Join(extra, "\n  "))
	}
	if len(served) < 90 {
		t.Errorf("only %d routes were read from the server; the check would prove little", len(served))
	}
}
