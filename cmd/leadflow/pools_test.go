package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"leadflow/embed/httpapi"
	"leadflow/store"
	"leadflow/store/storetest"
)

// poolsBundle is a `leadflow serve` on a fresh database with a form and an
// admin key, and a connection of the test's own to hold locks with.
type poolsBundle struct {
	base    string
	st      *store.Store
	form    store.Form
	key     string
	cmd     *command
	dbURL   string
	lockers []*pgx.Conn
}

var listeningAddr = regexp.MustCompile(`http_listening addr=(\S+)`)

func setupPools(t *testing.T, env map[string]string) *poolsBundle {
	t.Helper()
	ctx := context.Background()
	b := &poolsBundle{dbURL: storetest.DatabaseURL(t)}
	var err error
	if b.st, err = store.Open(ctx, b.dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.st.Close)
	ws, err := b.st.EnsureWorkspace(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if b.form, err = b.st.InsertForm(ctx, store.Form{WorkspaceID: ws.ID, Kind: store.FormContactUs}); err != nil {
		t.Fatal(err)
	}
	b.key = "lf_pools_test_" + strings.ReplaceAll(store.NewID().String(), "-", "")
	if _, err := b.st.InsertAPIKey(ctx, store.APIKey{WorkspaceID: ws.ID, Role: store.RoleAdmin, Name: "admin", Prefix: b.key[:8]}, b.key); err != nil {
		t.Fatal(err)
	}
	full := map[string]string{
		"LEADFLOW_DATABASE_URL": b.dbURL,
		"LEADFLOW_REDIS_URL":    storetest.RedisURL(t),
		"LEADFLOW_SECRET_KEY":   strings.Repeat("k", 40),
		"LEADFLOW_ADDR":         "127.0.0.1:0",
	}
	for k, v := range env {
		full[k] = v
	}
	b.cmd = startCommand(t, full, "serve")
	waitFor(t, "serve listening", 30*time.Second, func() bool {
		m := listeningAddr.FindStringSubmatch(b.cmd.stderr.String())
		if b.cmd.running(t) && m != nil {
			b.base = "http://" + m[1]
			return true
		}
		return false
	})
	return b
}

// lockTemplates holds an exclusive lock on the templates table until the
// test ends (or unlock), so every admin read of templates waits on it while
// holding its pool connection: an admin query that does not finish.
func (b *poolsBundle) lockTemplates(t *testing.T) (unlock func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, b.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE templates IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	unlock = func() {
		once.Do(func() {
			_ = tx.Rollback(ctx)
			conn.Close(ctx)
		})
	}
	t.Cleanup(unlock)
	return unlock
}

// waitingOnLock counts the database's sessions waiting for a lock.
func (b *poolsBundle) waitingOnLock(t *testing.T) int {
	t.Helper()
	var n int
	err := b.st.Pool.QueryRow(context.Background(), `
		SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

type answer struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func (b *poolsBundle) do(ctx context.Context, method, path, key string, body io.Reader, contentType string) answer {
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, body)
	if err != nil {
		return answer{err: err}
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: data, err: err}
}

// TestFormPostsWhileAdminPoolIsSaturated: admin queries that never finish
// hold every connection of the admin API's pool, yet a form post commits and
// /readyz answers 200, each within its own deadline.
func TestFormPostsWhileAdminPoolIsSaturated(t *testing.T) {
	t.Parallel()
	const apiPool = 3
	b := setupPools(t, map[string]string{
		"LEADFLOW_DB_POOL_API": fmt.Sprint(apiPool),
		// Longer than the test: the admin reads stay stuck until unlocked.
		"LEADFLOW_API_STATEMENT_TIMEOUT": "5m",
	})
	unlock := b.lockTemplates(t)
	// More admin reads than the admin pool has connections, and more than
	// the single pool every face shared before (max(4, cores)).
	const slow = 8
	admin := make(chan answer, slow)
	for range slow {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			admin <- b.do(ctx, http.MethodGet, "/api/v1/templates", b.key, nil, "")
		}()
	}
	waitFor(t, "the admin reads to hold the admin pool", 30*time.Second, func() bool {
		return b.waitingOnLock(t) >= apiPool
	})

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	post := b.do(ctx, http.MethodPost, "/f/"+b.form.Key, "",
		strings.NewReader(url.Values{"email": {"ada@example.com"}, "first_name": {"Ada"}}.Encode()),
		"application/x-www-form-urlencoded")
	if post.err != nil || post.status != http.StatusOK {
		t.Fatalf("form post while the admin pool is saturated: status %d, err %v, body %s", post.status, post.err, post.body)
	}
	rs, err := b.st.ListResponses(context.Background(), b.form.WorkspaceID, store.ResponseFilter{FormID: b.form.ID, Page: store.Page{Limit: 10}})
	if err != nil || len(rs) != 1 {
		t.Fatalf("committed responses = %d (err %v), want 1", len(rs), err)
	}
	ready := b.do(ctx, http.MethodGet, "/readyz", "", nil, "")
	if ready.err != nil || ready.status != http.StatusOK {
		t.Fatalf("/readyz while the admin pool is saturated: status %d, err %v", ready.status, ready.err)
	}
	// The admin pool really was full all along.
	if n := b.waitingOnLock(t); n < apiPool {
		t.Fatalf("only %d admin reads still waiting, want %d: the pool was not saturated", n, apiPool)
	}
	select {
	case a := <-admin:
		t.Fatalf("an admin read finished while the lock was held: %d %s %v", a.status, a.body, a.err)
	default:
	}
	unlock()
	for range slow {
		if a := <-admin; a.err != nil || a.status != http.StatusOK {
			t.Errorf("admin read after the lock went: status %d, err %v", a.status, a.err)
		}
	}
}

// TestAdminReadPastStatementTimeout: an admin read that runs past the API's
// statement timeout answers a clear 503, not a hung request.
func TestAdminReadPastStatementTimeout(t *testing.T) {
	t.Parallel()
	b := setupPools(t, map[string]string{"LEADFLOW_API_STATEMENT_TIMEOUT": "300ms"})
	b.lockTemplates(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := b.do(ctx, http.MethodGet, "/api/v1/templates", b.key, nil, "")
	if a.err != nil {
		t.Fatalf("admin read past the statement timeout: %v", a.err)
	}
	var body httpapi.ErrorBody
	if err := json.Unmarshal(a.body, &body); err != nil {
		t.Fatalf("body %q: %v", a.body, err)
	}
	if a.status != http.StatusServiceUnavailable || body.Code != "timeout" || !strings.Contains(body.Message, "statement timeout") {
		t.Fatalf("= %d %+v, want 503 timeout naming the statement timeout", a.status, body)
	}
}
