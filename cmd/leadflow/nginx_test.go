package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"leadflow/store"
	"leadflow/store/storetest"
)

const nginxBinary = "/usr/sbin/nginx"

// leadflowProcess is the built leadflow binary running as its own process,
// so the test can kill it as a crash would.
type leadflowProcess struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{}
}

// buildLeadflow builds the leadflow binary into a temporary directory.
func buildLeadflow(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "leadflow")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startLeadflow runs `leadflow args...` with env until the test ends, and
// waits until stderr says ready.
func startLeadflow(t *testing.T, bin string, env map[string]string, ready string, args ...string) *leadflowProcess {
	t.Helper()
	p := &leadflowProcess{stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(60 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
			t.Errorf("leadflow %s (pid %d) did not stop within 60s of SIGTERM", args[0], p.cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("leadflow %s (pid %d) stderr:\n%s", args[0], p.cmd.Process.Pid, p.stderr.String())
		}
	})
	waitFor(t, "leadflow "+args[0]+" to say "+ready, 60*time.Second, func() bool {
		select {
		case <-p.exited:
			t.Fatalf("leadflow %s exited early:\n%s", args[0], p.stderr.String())
		default:
		}
		return strings.Contains(p.stderr.String(), ready)
	})
	return p
}

// kill ends the process at once (SIGKILL, by PID) and waits until it is gone.
func (p *leadflowProcess) kill(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}

// freeAddr is a loopback address nothing listens on, for a server to take.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNginx runs deploy/nginx/leadflow.conf with its upstreams, listen
// address and log put on the test's, in a temporary prefix, as a
// foreground process killed by PID when the test ends. It returns the base
// URL and the access log's path.
func startNginx(t *testing.T, upstreams []string) (string, string) {
	t.Helper()
	if _, err := os.Stat(nginxBinary); err != nil {
		t.Fatalf("nginx is not installed (%v): run deploy/setup-debian.sh", err)
	}
	b, err := os.ReadFile("../../deploy/nginx/leadflow.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	prefix := t.TempDir()
	addr := freeAddr(t)
	accessLog := filepath.Join(prefix, "access.log")
	var servers strings.Builder
	for _, u := range upstreams {
		fmt.Fprintf(&servers, "    server %s max_fails=3 fail_timeout=10s;\n", u)
	}
	for _, r := range []struct{ pattern, with string }{
		{`(?m)^    server \S+:8080 [^\n]*\n`, ""},
		{`(?m)^upstream leadflow_serve \{\n`, "upstream leadflow_serve {\n" + servers.String()},
		{`(?m)^    listen 80;$`, "    listen " + addr + ";"},
		{`/var/log/nginx/leadflow.access.log`, accessLog},
	} {
		re := regexp.MustCompile(r.pattern)
		if !re.MatchString(conf) {
			t.Fatalf("leadflow.conf has no %s to replace", r.pattern)
		}
		conf = re.ReplaceAllLiteralString(conf, r.with)
	}
	if err := os.WriteFile(filepath.Join(prefix, "leadflow.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Getuid() == 0 {
		user = "user root;\n" // workers read the temporary prefix
	}
	main := user + `daemon off;
worker_processes 1;
pid nginx.pid;
error_log error.log info;
events { worker_connections 256; }
http {
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    include leadflow.conf;
}
`
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(prefix, "nginx.conf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nginxBinary, "-t", "-p", prefix+"/", "-c", "nginx.conf").CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	cmd := exec.Command(nginxBinary, "-p", prefix+"/", "-c", "nginx.conf")
	cmd.Stderr = &syncBuffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		// SIGTERM to the master (by PID) stops it and its worker.
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Error("nginx did not stop within 30s of SIGTERM")
		}
		if t.Failed() {
			logs, _ := os.ReadFile(filepath.Join(prefix, "error.log"))
			t.Logf("nginx error.log:\n%s", logs)
		}
	})
	base := "http://" + addr
	waitFor(t, "nginx to answer /healthz", 30*time.Second, func() bool {
		select {
		case <-exited:
			t.Fatalf("nginx exited early: %s", cmd.Stderr)
		default:
		}
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base, accessLog
}

// clientFrom is an HTTP client whose connections come from a loopback
// address of its own, so nginx sees it as a client of that address.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16},
	}
}

// postResult is what one form post through nginx got.
type postResult struct {
	status     int
	responseID uuid.UUID
	requestID  string
	err        error
}

func postForm(client *http.Client, base, key, email string, header http.Header) postResult {
	form := url.Values{"email": {email}, "first_name": {"Ada"}, "last_name": {"Lovelace"}}
	req, err := http.NewRequest(http.MethodPost, base+"/f/"+key, strings.NewReader(form.Encode()))
	if err != nil {
		return postResult{err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return postResult{err: err}
	}
	defer resp.Body.Close()
	r := postResult{status: resp.StatusCode, requestID: resp.Header.Get("X-Request-ID")}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		r.err = err
		return r
	}
	if resp.StatusCode/100 == 2 {
		var accepted struct {
			ResponseID uuid.UUID `json:"response_id"`
		}
		if err := json.Unmarshal(body, &accepted); err != nil || accepted.ResponseID == uuid.Nil {
			r.err = fmt.Errorf("2xx without a response ID: %s", body)
		}
		r.responseID = accepted.ResponseID
	}
	return r
}

// TestNginxBalancesServeProcesses runs deploy/nginx/leadflow.conf in
// front of two serve processes and one worker: form posts go through
// nginx while one serve process is killed; every 2xx is a committed
// response, posts made after the kill succeed through the other process,
// and the rate limit counts the client addresses nginx saw, whatever
// X-Forwarded-For the clients send.
func TestNginxBalancesServeProcesses(t *testing.T) {
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
	newForm := func(limit int) store.Form {
		t.Helper()
		f, err := st.InsertForm(ctx, store.Form{WorkspaceID: ws.ID, Name: "Contact", Kind: store.FormContactUs, RateLimitPerMinute: limit})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })

	bin := buildLeadflow(t)
	env := func(addr string) map[string]string {
		return map[string]string{
			"LEADFLOW_DATABASE_URL": dbURL,
			"LEADFLOW_REDIS_URL":    redisURL,
			"LEADFLOW_SECRET_KEY":   strings.Repeat("k", 40),
			"LEADFLOW_ADDR":         addr,
			// nginx connects from 127.0.0.1; the clients come from
			// other loopback addresses.
			"LEADFLOW_TRUSTED_PROXIES": "127.0.0.1/32",
		}
	}
	addrA, addrB := freeAddr(t), freeAddr(t)
	serveA := startLeadflow(t, bin, env(addrA), "http_listening", "serve")
	startLeadflow(t, bin, env(addrB), "http_listening", "serve")
	startLeadflow(t, bin, env(freeAddr(t)), "workers_started", "work")
	base, accessLog := startNginx(t, []string{addrA, addrB})

	// Load: a bounded number of posts from several goroutines; serve A is
	// killed once a third of them have answered.
	const posts, senders = 150, 6
	load := newForm(0)
	client := clientFrom("127.0.0.2")
	var (
		mu      sync.Mutex
		results []postResult
		killed  = make(chan struct{})
		next    = make(chan int)
	)
	go func() {
		defer close(next)
		for i := range posts {
			next <- i
		}
	}()
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for i := range next {
				r := postForm(client, base, load.Key, fmt.Sprintf("load%d@example.com", i), nil)
				mu.Lock()
				results = append(results, r)
				if len(results) == posts/3 {
					close(killed)
				}
				mu.Unlock()
			}
		})
	}
	<-killed
	serveA.kill(t)
	wg.Wait()

	statuses := map[int]int{}
	var accepted []uuid.UUID
	for _, r := range results {
		switch {
		case r.status/100 == 2 && r.err == nil:
			accepted = append(accepted, r.responseID)
		case r.err != nil && r.status/100 == 2:
			t.Errorf("a 2xx that could not be read: %v", r.err)
		case r.status != 0 && r.status != http.StatusBadGateway:
			// An in-flight post whose process died is a 502; nothing else
			// may fail.
			t.Errorf("post answered %d", r.status)
		case r.err != nil:
			t.Errorf("post failed without an answer from nginx: %v", r.err)
		}
		statuses[r.status]++
	}
	t.Logf("%d posts during the load: statuses %v", len(results), statuses)

	// After the kill, with A gone: every post succeeds, through B.
	const after = 30
	for i := range after {
		r := postForm(client, base, load.Key, fmt.Sprintf("after%d@example.com", i), nil)
		if r.err != nil || r.status != http.StatusAccepted {
			t.Fatalf("post %d after the kill: status %d, %v", i, r.status, r.err)
		}
		accepted = append(accepted, r.responseID)
	}

	// Every 2xx is a committed response of the load form.
	var committed []uuid.UUID
	rows, _ := conn.Query(ctx, `SELECT id FROM responses WHERE form_id = $1`, load.ID)
	committed, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range accepted {
		if !slices.Contains(committed, id) {
			t.Errorf("response %s was answered 2xx but is not in PostgreSQL", id)
		}
	}
	if len(accepted) < after {
		t.Fatalf("only %d posts accepted", len(accepted))
	}
	// At most the posts in flight at the kill may be stored without a 2xx.
	if extra := len(committed) - len(accepted); extra < 0 || extra > senders {
		t.Errorf("%d responses stored for %d accepted posts: a post was stored twice or lost", len(committed), len(accepted))
	}
	// The worker takes them all.
	waitFor(t, "the worker to process every response", 2*time.Minute, func() bool {
		var pending int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM responses WHERE form_id = $1 AND status = $2`, load.ID, store.ResponsePending).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		return pending == 0
	})

	// nginx gives each request its own ID, whatever the client sent, and
	// leadflow answers with it; nginx's log has the same ID.
	r := postForm(client, base, load.Key, "id@example.com", http.Header{"X-Request-Id": {"client-chosen-id"}})
	if r.status != http.StatusAccepted || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(r.requestID) {
		t.Errorf("request ID answered %q (status %d), want nginx's 32 hex digits", r.requestID, r.status)
	}
	waitFor(t, "nginx to log the request ID", 10*time.Second, func() bool {
		b, _ := os.ReadFile(accessLog)
		return strings.Contains(string(b), "request_id="+r.requestID)
	})

	// The rate limit counts the client nginx saw. Client .3 rotates
	// X-Forwarded-For and X-Real-IP on every post and is still limited;
	// client .4 is counted apart. A window that turns over in the middle
	// resets the count, so the round is made again on a fresh form.
	const limit = 3
	spoofer, other := clientFrom("127.0.0.3"), clientFrom("127.0.0.4")
	for round := 0; ; round++ {
		if round == 3 {
			t.Fatal("the minute turned over in three rounds running")
		}
		limited := newForm(limit)
		window := time.Now().Unix() / 60
		var got []int
		for i := range limit + 2 {
			spoof := fmt.Sprintf("198.51.100.%d", i+1)
			r := postForm(spoofer, base, limited.Key, fmt.Sprintf("spoof%d@example.com", i),
				http.Header{"X-Forwarded-For": {spoof}, "X-Real-Ip": {spoof}})
			got = append(got, r.status)
		}
		o := postForm(other, base, limited.Key, "other@example.com", nil)
		if time.Now().Unix()/60 != window {
			continue
		}
		want := []int{http.StatusAccepted, http.StatusAccepted, http.StatusAccepted, http.StatusTooManyRequests, http.StatusTooManyRequests}
		if !slices.Equal(got, want) {
			t.Errorf("posts from one client with rotating X-Forwarded-For: %v, want %v", got, want)
		}
		if o.status != http.StatusAccepted {
			t.Errorf("another client's post: status %d, want 202 (its own count)", o.status)
		}
		rows, _ := conn.Query(ctx, `SELECT ip FROM responses WHERE form_id = $1 ORDER BY received_at`, limited.ID)
		ips, err := pgx.CollectRows(rows, pgx.RowTo[netip.Addr])
		if err != nil {
			t.Fatal(err)
		}
		wantIPs := []netip.Addr{netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("127.0.0.4")}
		if !slices.Equal(ips, wantIPs) {
			t.Errorf("stored client addresses %v, want %v", ips, wantIPs)
		}
		break
	}
}
