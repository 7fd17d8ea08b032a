package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"leadflow/nurture"
	"leadflow/qualify"
	"leadflow/store"
	"leadflow/store/storetest"
)

// syncBuffer is an io.Writer safe for a command's output read by a test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// command is a leadflow command running in the test.
type command struct {
	stdout, stderr *syncBuffer
	exited         chan struct{} // closed when run returns
	err            error         // run's result, once exited
}

// startCommand runs `leadflow args...` until the test ends. Cleanup cancels
// it, checks it stopped cleanly, and shows its logs if the test failed.
func startCommand(t *testing.T, env map[string]string, args ...string) *command {
	t.Helper()
	c := &command{stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		c.err = run(ctx, args, envFunc(env), c.stdout, c.stderr)
		close(c.exited)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-c.exited:
			if c.err != nil {
				t.Errorf("leadflow %s ended with %v", args[0], c.err)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("leadflow %s did not stop within 60s of cancel", args[0])
		}
		if t.Failed() {
			t.Logf("leadflow %s stderr:\n%s", args[0], c.stderr.String())
		}
	})
	return c
}

// running fails the test if the command has ended on its own.
func (c *command) running(t *testing.T) bool {
	t.Helper()
	select {
	case <-c.exited:
		t.Fatalf("the command ended early: %v", c.err)
	default:
	}
	return true
}

var bannerURL = regexp.MustCompile(`leadflow is running at (http://\S+)`)

// TestDevWalksTheWholePath is the README's first command and its
// walkthrough: private PostgreSQL, Redis and SMTP sink, the demo workspace; a
// Salesforce-style form post becomes a lead, the welcome email arrives in the
// sink, a click on it qualifies the lead, the handoff is accepted, and the
// opportunity exists — all through HTTP, as a newcomer would.
func TestDevWalksTheWholePath(t *testing.T) {
	t.Parallel()
	const key = "lf_test_dev_key_0123456789abcdef"
	// The private cluster runs as the postgres user, which must reach the
	// directory: t.TempDir() is private to root.
	dataDir, err := os.MkdirTemp("", "leadflow-dev-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dataDir) })
	if err := os.Chmod(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The webhook receiver below listens on loopback, which webhooks may
	// reach only once the operator allows it.
	cmd := startCommand(t, map[string]string{"LEADFLOW_SWEEP_INTERVAL": "1s", "LEADFLOW_WEBHOOK_ALLOW_NETWORKS": "127.0.0.1/32"},
		"dev", "--data-dir", dataDir, "--addr", "127.0.0.1:0", "--api-key", key)
	var base string
	waitFor(t, "the dev banner", 90*time.Second, func() bool {
		if m := bannerURL.FindStringSubmatch(cmd.stdout.String()); cmd.running(t) && m != nil {
			base = m[1]
			return true
		}
		return false
	})
	if !strings.Contains(cmd.stdout.String(), key) {
		t.Errorf("banner does not show the chosen API key:\n%s", cmd.stdout.String())
	}
	checkDevPeopleSignIn(t, base, cmd.stdout.String())
	api := func(method, path string, body string, out any) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		if out != nil && r.StatusCode/100 == 2 {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %v in %s", method, path, err, b)
			}
		}
		return r.StatusCode
	}

	// Sales listens for handoffs on a webhook; the receiver checks every
	// signature.
	type delivery struct {
		event string
		err   error
	}
	deliveries := make(chan delivery, 16)
	var secret string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := qualify.VerifySignature(secret, r.Header.Get(qualify.HeaderSignature), body, time.Now(), 5*time.Minute)
		deliveries <- delivery{event: r.Header.Get("Leadflow-Event"), err: err}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)
	var hook struct {
		Secret string `json:"secret"`
	}
	if code := api("POST", "/api/v1/webhooks", `{"url": "`+receiver.URL+`/hooks", "events": ["handoff.created"]}`, &hook); code != 201 || hook.Secret == "" {
		t.Fatalf("create webhook: status %d, secret set %v", code, hook.Secret != "")
	}
	secret = hook.Secret

	// A Salesforce Web-to-Lead style post, as a browser sends it.
	form := url.Values{"first_name": {"Ada"}, "last_name": {"Lovelace"}, "email": {"Ada@Example.com"},
		"company": {"Analytical Engines"}, "lead_source": {"Web"}, "product_interest": {"Engines"},
		"oid": {"00D000000000001"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(base+"/f/"+demoContactKey, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST demo form: status %d", resp.StatusCode)
	}

	var leads struct {
		Items []struct {
			ID        string `json:"id"`
			Email     string `json:"email"`
			FirstName string `json:"first_name"`
			Status    string `json:"status"`
		} `json:"items"`
	}
	waitFor(t, "the lead, nurturing", 30*time.Second, func() bool {
		leads.Items = nil
		return api("GET", "/api/v1/leads", "", &leads) == 200 && len(leads.Items) == 1 && leads.Items[0].Status == "nurturing"
	})
	if got := leads.Items[0]; got.Email != "ada@example.com" || got.FirstName != "Ada" {
		t.Errorf("lead = %+v, want ada@example.com / Ada", got)
	}

	// The welcome email arrives in the dev SMTP sink; its tracked link is
	// what a person clicks.
	var page string
	clickLink := regexp.MustCompile(`/t/c/[A-Za-z0-9_-]+`)
	waitFor(t, "the welcome email in the dev mail viewer", 30*time.Second, func() bool {
		r, err := http.Get(base + "/dev/mail/1")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		page = string(b)
		return r.StatusCode == 200 && clickLink.MatchString(page)
	})
	if !strings.Contains(page, "Welcome, Ada") {
		t.Errorf("the welcome email does not greet Ada:\n%.2000s", page)
	}
	r, err := noRedirect.Get(base + clickLink.FindString(page))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "https://example.com/pricing" {
		t.Fatalf("click: %d to %q, want 302 to the pricing page", r.StatusCode, r.Header.Get("Location"))
	}

	// The click qualifies the lead under the seeded criteria: a handoff.
	var handoffs struct {
		Items []struct {
			ID     string `json:"id"`
			LeadID string `json:"lead_id"`
		} `json:"items"`
	}
	waitFor(t, "the handoff", 30*time.Second, func() bool {
		handoffs.Items = nil
		return api("GET", "/api/v1/handoffs", "", &handoffs) == 200 && len(handoffs.Items) == 1
	})
	// The owner is told by email and by the signed webhook.
	select {
	case d := <-deliveries:
		if d.event != "handoff.created" || d.err != nil {
			t.Errorf("webhook delivery %q: signature check %v", d.event, d.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no handoff webhook within 30s")
	}
	waitFor(t, "the handoff email to the sales owner", 30*time.Second, func() bool {
		r, err := http.Get(base + "/dev/mail")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return strings.Contains(string(b), "sam@example.com")
	})
	var conv struct {
		Opportunity struct {
			ID string `json:"id"`
		} `json:"opportunity"`
	}
	if code := api("POST", "/api/v1/handoffs/"+handoffs.Items[0].ID+"/accept", `{}`, &conv); code != 200 && code != 201 {
		t.Fatalf("accept handoff: status %d", code)
	}
	var opps struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if api("GET", "/api/v1/opportunities", "", &opps) != 200 || len(opps.Items) != 1 || opps.Items[0].ID != conv.Opportunity.ID {
		t.Errorf("opportunities = %+v, want the one from the accept (%s)", opps.Items, conv.Opportunity.ID)
	}
	if strings.Contains(cmd.stderr.String(), key) {
		t.Error("the API key appears in the logs")
	}
}

func TestServeRefusesStaleSchema(t *testing.T) {
	t.Parallel()
	dbURL := storetest.DatabaseURL(t)
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Pool.Exec(context.Background(), "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"LEADFLOW_DATABASE_URL": dbURL,
		"LEADFLOW_REDIS_URL":    storetest.RedisURL(t),
		"LEADFLOW_SECRET_KEY":   strings.Repeat("k", 40),
		"LEADFLOW_ADDR":         "127.0.0.1:0",
	}
	for _, cmd := range []string{"serve", "work", "run"} {
		err := run(context.Background(), []string{cmd}, envFunc(env), io.Discard, io.Discard)
		if !errors.Is(err, store.ErrSchemaNotCurrent) {
			t.Errorf("leadflow %s on an unmigrated database = %v, want ErrSchemaNotCurrent", cmd, err)
		}
	}
	// migrate up makes it current; status then lists every migration applied.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "up"}, envFunc(env), &out, io.Discard); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"migrate", "status"}, envFunc(env), &out, io.Discard); err != nil {
		t.Fatalf("migrate status: %v", err)
	}
	if strings.Contains(out.String(), "pending") || !strings.Contains(out.String(), "applied") {
		t.Errorf("migrate status after up:\n%s", out.String())
	}
}

func TestConfigErrorsAreClearAndSecretsRedacted(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"serve"}, envFunc(map[string]string{
		"LEADFLOW_SECRET_KEY": "short", "LEADFLOW_WORKER_CONCURRENCY": "zero",
	}), io.Discard, io.Discard)
	if err == nil {
		t.Fatal("serve with no database, no redis, a short key and a bad concurrency started")
	}
	for _, want := range []string{"LEADFLOW_DATABASE_URL", "LEADFLOW_REDIS_URL", "LEADFLOW_SECRET_KEY", "concurrency"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	cfg := Config{DatabaseURL: "postgres://u:hunter2@db/leadflow", RedisURL: "redis://:s3cret@r:6379/0", SecretKey: "topsecretvalue"}
	s := cfg.String()
	for _, secret := range []string{"hunter2", "s3cret", "topsecretvalue"} {
		if strings.Contains(s, secret) {
			t.Errorf("Config.String() shows a secret: %s", s)
		}
	}
}

func TestAPIKeyCreatePrintsOnlyTheKey(t *testing.T) {
	t.Parallel()
	dbURL := storetest.DatabaseURL(t)
	env := map[string]string{"LEADFLOW_DATABASE_URL": dbURL}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"apikey", "create", "--workspace", "acme", "--role", "sales"}, envFunc(env), &out, io.Discard); err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	secret := strings.TrimSpace(out.String())
	if strings.Contains(secret, "\n") || !strings.HasPrefix(secret, apiKeyPrefix) {
		t.Fatalf("stdout = %q, want the key alone", out.String())
	}
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, err := st.APIKeyBySecret(context.Background(), secret)
	if err != nil {
		t.Fatalf("the printed key is not stored: %v", err)
	}
	ws, err := st.GetWorkspace(context.Background(), k.WorkspaceID)
	if err != nil || ws.Name != "acme" || k.Role != store.RoleSales {
		t.Errorf("key = %+v in workspace %+v (err %v), want role sales in acme", k, ws, err)
	}
	if err := run(context.Background(), []string{"apikey", "create", "--workspace", "acme", "--role", "root"}, envFunc(env), io.Discard, io.Discard); err == nil {
		t.Error("apikey create accepted role root")
	}
}

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]nurture.SMTPConfig{
		"smtp://mail.example.com":               {Host: "mail.example.com", Port: 587, TLS: "starttls"},
		"smtp://u:p%40ss@mail.example.com:2525": {Host: "mail.example.com", Port: 2525, Username: "u", Password: "p@ss", TLS: "starttls"},
		"smtps://mail.example.com":              {Host: "mail.example.com", Port: 465, TLS: "tls"},
		"smtp://127.0.0.1:1025":                 {Host: "127.0.0.1", Port: 1025, TLS: "none"},
		"smtp://relay.internal:25?tls=starttls": {Host: "relay.internal", Port: 25, TLS: "starttls"},
		"smtp://mail.example.com:587?tls=none":  {Host: "mail.example.com", Port: 587, TLS: "none"},
	} {
		got, err := parseSMTPURL(raw)
		if err != nil {
			t.Errorf("parseSMTPURL(%q): %v", raw, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("parseSMTPURL(%q) (-want +got):\n%s", raw, diff)
		}
	}
	for _, bad := range []string{"http://mail.example.com", "smtp://", "smtp://h:99999", "smtp://h?tls=maybe", "::"} {
		if _, err := parseSMTPURL(bad); err == nil {
			t.Errorf("parseSMTPURL(%q) accepted", bad)
		}
	}
	if s := (Config{SMTPURL: "smtp://u:hunter2@mail.example.com"}).String(); strings.Contains(s, "hunter2") {
		t.Errorf("Config.String() shows the SMTP password: %s", s)
	}
}

func TestAPIKeyCreateActingAsAUser(t *testing.T) {
	t.Parallel()
	dbURL := storetest.DatabaseURL(t)
	env := map[string]string{"LEADFLOW_DATABASE_URL": dbURL}
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	ws, err := st.EnsureWorkspace(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.InsertUser(ctx, store.User{WorkspaceID: ws.ID, Name: "Sue Admin", Email: "sue@acme.example", Role: store.UserSalesAdmin, Available: true})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	args := []string{"apikey", "create", "--workspace", "acme", "--role", "sales", "--user", "SUE@acme.example"}
	if err := run(ctx, args, envFunc(env), &out, io.Discard); err != nil {
		t.Fatalf("apikey create --user: %v", err)
	}
	k, err := st.APIKeyBySecret(ctx, strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if k.UserID == nil || *k.UserID != u.ID {
		t.Errorf("key acts as %v, want user %v", k.UserID, u.ID)
	}
	args[len(args)-1] = "nobody@acme.example"
	if err := run(ctx, args, envFunc(env), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "no such user") {
		t.Errorf("apikey create for an unknown user = %v, want a clear error", err)
	}
}
