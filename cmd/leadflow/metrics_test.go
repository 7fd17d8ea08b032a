package main

import (
	"context"
	"flag"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"leadflow/store"
	"leadflow/store/storetest"
)

var metricsAddr = regexp.MustCompile(`metrics_listening addr=(\S+)`)

// metricsApp is a `leadflow run` with metrics on an address of their own.
type metricsApp struct {
	base, metrics string
	form          store.Form
	cmd           *command
	secret        string
}

func startMetricsApp(t *testing.T) *metricsApp {
	t.Helper()
	ctx := context.Background()
	dbURL := storetest.DatabaseURL(t)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	ws, err := st.EnsureWorkspace(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	a := &metricsApp{secret: "metricsSecretKey" + strings.Repeat("s", 32)}
	if a.form, err = st.InsertForm(ctx, store.Form{WorkspaceID: ws.ID, Kind: store.FormContactUs}); err != nil {
		t.Fatal(err)
	}
	a.cmd = startCommand(t, map[string]string{
		"LEADFLOW_DATABASE_URL": dbURL,
		"LEADFLOW_REDIS_URL":    storetest.RedisURL(t),
		"LEADFLOW_SECRET_KEY":   a.secret,
		"LEADFLOW_ADDR":         "127.0.0.1:0",
		"LEADFLOW_METRICS_ADDR": "127.0.0.1:0",
	}, "run")
	waitFor(t, "run listening, with metrics", 30*time.Second, func() bool {
		logs := a.cmd.stderr.String()
		m, mm := listeningAddr.FindStringSubmatch(logs), metricsAddr.FindStringSubmatch(logs)
		if a.cmd.running(t) && m != nil && mm != nil {
			a.base, a.metrics = "http://"+m[1], "http://"+mm[1]
			return true
		}
		return false
	})
	return a
}

func metricsGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode, string(b)
}

// scrape reads /metrics and returns its text and families.
func (a *metricsApp) scrape(t *testing.T) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	code, text := metricsGet(t, a.metrics+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d: %s", code, text)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return text, fams
}

// metricSum adds the family's series whose labels include want.
func metricSum(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	var total float64
	for _, m := range fams[name].GetMetric() {
		match := true
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == k && l.GetValue() == v)
			}
			match = match && found
		}
		if match {
			total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return total
}

// TestMetricsMoveWithARealFormPost posts a form to a real `leadflow run` and
// scrapes its metrics address before and after: the form's posts and the
// resolved responses move, the queues and pools are read, and nothing the
// person or the server holds secret appears.
func TestMetricsMoveWithARealFormPost(t *testing.T) {
	t.Parallel()
	a := startMetricsApp(t)
	_, before := a.scrape(t)
	accepted := map[string]string{"form": a.form.ID.String(), "outcome": "accepted"}
	posts0 := metricSum(before, "leadflow_form_posts_total", accepted)
	resolved0 := metricSum(before, "leadflow_responses_resolved_total", nil)

	const email = "metrics.probe@example.com"
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(a.base+"/f/"+a.form.Key, url.Values{
		"first_name": {"Grace"}, "last_name": {"Hopper"}, "email": {email}, "company": {"Navy"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST form: status %d", resp.StatusCode)
	}

	var text string
	var after map[string]*dto.MetricFamily
	waitFor(t, "the response resolved in the metrics", 30*time.Second, func() bool {
		text, after = a.scrape(t)
		return metricSum(after, "leadflow_responses_resolved_total", nil) > resolved0
	})
	if got := metricSum(after, "leadflow_form_posts_total", accepted) - posts0; got != 1 {
		t.Errorf("accepted posts of the form moved by %v, want 1", got)
	}
	if got := metricSum(after, "leadflow_responses_resolved_total", map[string]string{"result": "created"}); got < 1 {
		t.Errorf("responses resolved as created = %v, want >= 1", got)
	}
	if n := after["leadflow_response_resolve_lag_seconds"].GetMetric(); len(n) != 1 || n[0].GetHistogram().GetSampleCount() < 1 {
		t.Errorf("resolution lag not observed: %v", n)
	}
	if n := after["leadflow_capture_commit_batch_size"].GetMetric(); len(n) != 1 || n[0].GetHistogram().GetSampleSum() < 1 {
		t.Errorf("commit batch size not observed: %v", n)
	}
	if got := metricSum(after, "leadflow_queue_up", nil); got != 1 {
		t.Errorf("leadflow_queue_up = %v, want 1", got)
	}
	for _, pool := range []string{"capture", "api", "work"} {
		if got := metricSum(after, "leadflow_db_pool_max_connections", map[string]string{"pool": pool}); got < 1 {
			t.Errorf("pool %s: max connections %v, want >= 1", pool, got)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := after[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	for _, secret := range []string{email, "metrics.probe", "Hopper", a.form.Key, a.secret} {
		if strings.Contains(strings.ToLower(text), strings.ToLower(secret)) {
			t.Errorf("/metrics shows %q", secret)
		}
	}

	// The public address does not serve the metrics, and the metrics
	// address serves nothing else.
	if code, body := metricsGet(t, a.base+"/metrics"); code != http.StatusNotFound || strings.Contains(body, "leadflow_") {
		t.Errorf("public GET /metrics: status %d, want 404 without metrics:\n%.200s", code, body)
	}
	if code, _ := metricsGet(t, a.metrics+"/healthz"); code != http.StatusNotFound {
		t.Errorf("metrics address GET /healthz: status %d, want 404", code)
	}
}

// TestMetricsAddressSettings: off by default, and an address that is not
// one or is the public one is refused with a clear error.
func TestMetricsAddressSettings(t *testing.T) {
	t.Parallel()
	base := map[string]string{"LEADFLOW_ADDR": "127.0.0.1:8080"}
	parse := func(env map[string]string, args ...string) (Config, error) {
		full := map[string]string{}
		for k, v := range base {
			full[k] = v
		}
		for k, v := range env {
			full[k] = v
		}
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		finish := configFlags(fs, envFunc(full))
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return finish()
	}
	if c, err := parse(nil); err != nil || c.MetricsAddr != "" {
		t.Errorf("default: metrics addr %q, err %v; want off", c.MetricsAddr, err)
	}
	if c, err := parse(map[string]string{"LEADFLOW_METRICS_ADDR": "127.0.0.1:9090"}); err != nil || c.MetricsAddr != "127.0.0.1:9090" {
		t.Errorf("from the environment: metrics addr %q, err %v", c.MetricsAddr, err)
	}
	if c, err := parse(nil, "--metrics-addr", "[::1]:9090"); err != nil || c.MetricsAddr != "[::1]:9090" {
		t.Errorf("from the flag: metrics addr %q, err %v", c.MetricsAddr, err)
	}
	for _, bad := range []string{"9090", "localhost", "127.0.0.1:x", "127.0.0.1:70000", "127.0.0.1:8080"} {
		c, err := parse(map[string]string{"LEADFLOW_METRICS_ADDR": bad})
		if err == nil || !strings.Contains(err.Error(), "metrics addr") || c.MetricsAddr != "" {
			t.Errorf("metrics addr %q: config %q, err %v; want refused", bad, c.MetricsAddr, err)
		}
	}
}

// FuzzMetricsAddr: whatever the setting, it is either refused or a
// host:port with a port in range that is not the public address.
func FuzzMetricsAddr(f *testing.F) {
	for _, s := range []string{"", "127.0.0.1:9090", "[::1]:0", ":9090", "127.0.0.1:8080", "x", "1.2.3.4:-1", "[::1]:65536"} {
		f.Add(s)
	}
	const public = "127.0.0.1:8080"
	f.Fuzz(func(t *testing.T, v string) {
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		finish := metricsFlags(fs, envFunc(map[string]string{"LEADFLOW_METRICS_ADDR": v}))
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		got, err := finish(public)
		if err != nil {
			if got != "" {
				t.Errorf("refused %q but kept %q", v, got)
			}
			return
		}
		if got != v {
			t.Errorf("accepted %q as %q", v, got)
		}
		if v == "" {
			return
		}
		_, port, serr := net.SplitHostPort(got)
		n, perr := strconv.Atoi(port)
		if serr != nil || perr != nil || n < 0 || n > 65535 || got == public {
			t.Errorf("accepted %q: not a usable, private address", got)
		}
	})
}

// TestServeAndWorkEachServeMetrics: `serve` and `work` alone serve the
// metrics too, each with the pools it opened and no others.
func TestServeAndWorkEachServeMetrics(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cmd        string
		pools, not []string
	}{
		{"serve", []string{"capture", "api"}, []string{"work"}},
		{"work", []string{"work"}, []string{"capture", "api"}},
	} {
		t.Run(c.cmd, func(t *testing.T) {
			t.Parallel()
			cmd := startCommand(t, map[string]string{
				"LEADFLOW_DATABASE_URL": storetest.DatabaseURL(t),
				"LEADFLOW_REDIS_URL":    storetest.RedisURL(t),
				"LEADFLOW_SECRET_KEY":   strings.Repeat("k", 40),
				"LEADFLOW_ADDR":         "127.0.0.1:0",
				"LEADFLOW_METRICS_ADDR": "127.0.0.1:0",
			}, c.cmd)
			a := &metricsApp{cmd: cmd}
			waitFor(t, c.cmd+" serving metrics", 30*time.Second, func() bool {
				m := metricsAddr.FindStringSubmatch(cmd.stderr.String())
				if cmd.running(t) && m != nil {
					a.metrics = "http://" + m[1]
					return true
				}
				return false
			})
			_, fams := a.scrape(t)
			for _, p := range c.pools {
				if got := metricSum(fams, "leadflow_db_pool_max_connections", map[string]string{"pool": p}); got < 1 {
					t.Errorf("pool %s: max connections %v, want >= 1", p, got)
				}
			}
			for _, p := range c.not {
				if got := metricSum(fams, "leadflow_db_pool_max_connections", map[string]string{"pool": p}); got != 0 {
					t.Errorf("pool %s reported by %s, which does not open it", p, c.cmd)
				}
			}
			if got := metricSum(fams, "leadflow_queue_up", nil); got != 1 {
				t.Errorf("leadflow_queue_up = %v, want 1", got)
			}
		})
	}
}
