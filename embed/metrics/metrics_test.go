package metrics

import (
	"encoding/json"
	"net"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"leadflow/store/storetest"
)

// observeAll records once on every instrument, so that each family is
// gathered.
func observeAll() {
	FormPost(uuid.New(), PostAccepted)
	CaptureCommit(3, time.Millisecond, nil)
	ResponseResolved("created", time.Now().Add(-time.Second))
	EmailSent(time.Now().Add(-time.Minute))
	EmailDeferred()
	EmailFailed()
	EmailBounced("hard")
	Handoff(HandoffCreated)
	SLABreach("reassigned")
	WebhookDelivery("handoff.created", WebhookDelivered)
}

type bundle struct {
	reg    *prometheus.Registry
	client *asynq.Client
	pool   int32
}

// setup builds a registry over a real PostgreSQL pool and a real Redis.
func setup(t *testing.T) *bundle {
	t.Helper()
	st := storetest.NewStore(t)
	rdb := redis.NewClient(storetest.RedisOptions(t))
	t.Cleanup(func() { rdb.Close() })
	reg, err := NewRegistry(Config{
		Pools:     map[string]*pgxpool.Pool{"capture": st.Pool},
		Inspector: asynq.NewInspectorFromRedisClient(rdb),
		Queues:    []string{"capture", "nurture"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{reg: reg, client: asynq.NewClientFromRedisClient(rdb), pool: st.Pool.Config().MaxConns}
}

// gather returns the registry's families by name.
func gather(t *testing.T, reg prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// value is the value of the family's series with exactly labels.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no family %s", name)
	}
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) != len(labels) {
			continue
		}
		match := true
		for k, v := range labels {
			match = match && got[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("%s has no series %v", name, labels)
	return 0
}

// TestDashboardNamesOnlyRegisteredMetrics reads every metric name in the
// Grafana dashboard's queries and finds each among the families a registry
// gathers once every instrument has been recorded on.
func TestDashboardNamesOnlyRegisteredMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	observeAll()
	fams := gather(t, b.reg)

	raw, err := os.ReadFile("../../deploy/grafana/leadflow.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "expr" || k == "query") {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)
	name := regexp.MustCompile(`\b(?:leadflow|go|process)_\w+`)
	seen := map[string]bool{}
	for _, e := range exprs {
		for _, n := range name.FindAllString(e, -1) {
			seen[n] = true
		}
	}
	if len(seen) < 20 {
		t.Fatalf("the dashboard's queries name %d metrics; want the dashboard to cover leadflow's metrics: %v", len(seen), seen)
	}
	for n := range seen {
		if _, ok := fams[n]; ok {
			continue
		}
		// A histogram's series are its family's name and a suffix.
		base, found := "", false
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if s, ok := strings.CutSuffix(n, suffix); ok {
				base, found = s, true
			}
		}
		if f, ok := fams[base]; found && ok && f.GetType() == dto.MetricType_HISTOGRAM {
			continue
		}
		t.Errorf("the dashboard queries %s, which leadflow does not export", n)
	}
	// And every leadflow family is on the dashboard, so a new metric is
	// seen.
	for n := range fams {
		if !strings.HasPrefix(n, "leadflow_") {
			continue
		}
		on := seen[n] || seen[n+"_bucket"] || seen[n+"_sum"] || seen[n+"_count"]
		if !on && !slices.Contains(offDashboard, n) {
			t.Errorf("%s is exported but not on the dashboard", n)
		}
	}
}

// offDashboard are the families the dashboard leaves out on purpose.
var offDashboard = []string{"leadflow_db_pool_idle_connections", "leadflow_db_pool_acquires_total"}

// TestCollectorsReadTheRealQueuesAndPools enqueues a task on a real Redis
// and reads it back through the queue collector, and the pool's size
// through the pool collector.
func TestCollectorsReadTheRealQueuesAndPools(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := b.client.Enqueue(asynq.NewTask("response:process", []byte("{}")), asynq.Queue("capture"), asynq.ProcessIn(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.Enqueue(asynq.NewTask("response:process", []byte("{}")), asynq.Queue("capture")); err != nil {
		t.Fatal(err)
	}
	fams := gather(t, b.reg)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"leadflow_queue_up", nil, 1},
		{"leadflow_queue_tasks", map[string]string{"queue": "capture", "state": "pending"}, 1},
		{"leadflow_queue_tasks", map[string]string{"queue": "capture", "state": "scheduled"}, 1},
		{"leadflow_queue_tasks", map[string]string{"queue": "nurture", "state": "pending"}, 0},
		{"leadflow_db_pool_max_connections", map[string]string{"pool": "capture"}, float64(b.pool)},
	} {
		if got := value(t, fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := value(t, fams, "leadflow_queue_oldest_pending_seconds", map[string]string{"queue": "capture"}); got < 0 {
		t.Errorf("oldest pending task is %v seconds old, want >= 0", got)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
	if _, ok := fams["process_cpu_seconds_total"]; !ok {
		t.Error("no process metrics")
	}
}

// silentServer accepts connections and never answers: a Redis that hangs.
type silentServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newSilentServer(t *testing.T) *silentServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *silentServer) close() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

// TestScrapeDoesNotWaitOnAHungRedis points the queue collector at a Redis
// that never answers: the scrape still completes, reporting the queues
// unreadable and every other metric, and a second scrape while the first
// read is still out completes too.
func TestScrapeDoesNotWaitOnAHungRedis(t *testing.T) {
	t.Parallel()
	srv := newSilentServer(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.ln.Addr().String(), ReadTimeout: time.Hour, DialTimeout: time.Hour, MaxRetries: -1})
	reg, err := NewRegistry(Config{
		Inspector:    asynq.NewInspectorFromRedisClient(rdb),
		Queues:       []string{"capture"},
		QueueTimeout: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		fams := gather(t, reg)
		if got := value(t, fams, "leadflow_queue_up", nil); got != 0 {
			t.Errorf("leadflow_queue_up = %v with Redis hung, want 0", got)
		}
		if _, ok := fams["leadflow_queue_tasks"]; ok {
			t.Error("queue sizes reported although Redis did not answer")
		}
		if _, ok := fams["go_goroutines"]; !ok {
			t.Error("the other metrics are missing")
		}
	}
	// Redis gone for good: the read that was out ends.
	srv.close()
	rdb.Close()
}

// TestLabelsAreBounded: a post to no form is labelled "none", never with
// what the caller sent.
func TestLabelsAreBounded(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(formPosts)
	FormPost(uuid.Nil, PostNotFound)
	fams := gather(t, reg)
	if got := value(t, fams, "leadflow_form_posts_total", map[string]string{"form": "none", "outcome": PostNotFound}); got < 1 {
		t.Errorf("posts to no form = %v, want >= 1", got)
	}
	var forms []string
	for _, m := range fams["leadflow_form_posts_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "form" {
				forms = append(forms, l.GetValue())
			}
		}
	}
	sort.Strings(forms)
	for _, f := range forms {
		if _, err := uuid.Parse(f); err != nil && f != "none" {
			t.Errorf("form label %q is neither a form ID nor none", f)
		}
	}
}

// TestNewRegistryRefusesAnInspectorWithoutQueues: a bad configuration is a
// clear error.
func TestNewRegistryRefusesAnInspectorWithoutQueues(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	_, err := NewRegistry(Config{Inspector: asynq.NewInspectorFromRedisClient(rdb)})
	if err == nil || !strings.Contains(err.Error(), "queues") {
		t.Errorf("NewRegistry without queues: err = %v, want one naming the queues", err)
	}
}
