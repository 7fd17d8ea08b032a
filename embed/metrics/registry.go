package metrics

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// DefaultQueueTimeout bounds how long a scrape waits for Redis.
const DefaultQueueTimeout = 2 * time.Second

// Config is what a process's registry reads at scrape time.
type Config struct {
	// Pools are the process's PostgreSQL pools by name (capture, api,
	// work); those the process does not open are left out.
	Pools map[string]*pgxpool.Pool
	// Inspector reads the Asynq queues named in Queues; nil leaves the
	// queue metrics out.
	Inspector *asynq.Inspector
	Queues    []string
	// QueueTimeout bounds a scrape's wait for Redis (DefaultQueueTimeout).
	QueueTimeout time.Duration
}

// NewRegistry returns a registry with every leadflow metric, the queue and
// pool collectors of cfg, and the Go runtime and process collectors.
func NewRegistry(cfg Config) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	cs := append(instruments(),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&poolCollector{pools: cfg.Pools},
	)
	if cfg.Inspector != nil {
		if len(cfg.Queues) == 0 {
			return nil, errors.New("metrics: an inspector needs the queues to read")
		}
		timeout := cfg.QueueTimeout
		if timeout <= 0 {
			timeout = DefaultQueueTimeout
		}
		cs = append(cs, &queueCollector{inspector: cfg.Inspector, queues: cfg.Queues, timeout: timeout})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

var (
	poolAcquired = prometheus.NewDesc("leadflow_db_pool_acquired_connections",
		"PostgreSQL connections in use, by pool.", []string{"pool"}, nil)
	poolIdle = prometheus.NewDesc("leadflow_db_pool_idle_connections",
		"PostgreSQL connections open and idle, by pool.", []string{"pool"}, nil)
	poolMax = prometheus.NewDesc("leadflow_db_pool_max_connections",
		"Most PostgreSQL connections the pool opens.", []string{"pool"}, nil)
	poolAcquires = prometheus.NewDesc("leadflow_db_pool_acquires_total",
		"Connections taken from the pool.", []string{"pool"}, nil)
	poolEmptyAcquires = prometheus.NewDesc("leadflow_db_pool_empty_acquires_total",
		"Connections taken after waiting because none was idle.", []string{"pool"}, nil)
	poolWait = prometheus.NewDesc("leadflow_db_pool_acquire_wait_seconds_total",
		"Time spent waiting for a connection from the pool.", []string{"pool"}, nil)
)

// poolCollector reads the pools' statistics at scrape time; reading them
// takes no connection.
type poolCollector struct{ pools map[string]*pgxpool.Pool }

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolMax, poolAcquires, poolEmptyAcquires, poolWait} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for name, p := range c.pools {
		s := p.Stat()
		ch <- prometheus.MustNewConstMetric(poolAcquired, prometheus.GaugeValue, float64(s.AcquiredConns()), name)
		ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(s.IdleConns()), name)
		ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()), name)
		ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.AcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(poolEmptyAcquires, prometheus.CounterValue, float64(s.EmptyAcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, s.AcquireDuration().Seconds(), name)
	}
}

var (
	queueUp = prometheus.NewDesc("leadflow_queue_up",
		"1 if Redis answered the last read of the queues in time, else 0.", nil, nil)
	queueTasks = prometheus.NewDesc("leadflow_queue_tasks",
		"Tasks in an Asynq queue, by queue and state (pending, active, scheduled, retry, archived).", []string{"queue", "state"}, nil)
	queueOldest = prometheus.NewDesc("leadflow_queue_oldest_pending_seconds",
		"Age of the oldest pending task in an Asynq queue (0 when none).", []string{"queue"}, nil)
)

// queueCollector reads the Asynq queues at scrape time. The inspector takes
// no context, so a read runs on its own goroutine and the scrape waits at
// most timeout for it; while one read is still out, no other is started and
// scrapes meanwhile wait on that one, so a hung Redis costs one goroutine,
// not one per scrape.
type queueCollector struct {
	inspector *asynq.Inspector
	queues    []string
	timeout   time.Duration

	mu      sync.Mutex
	reading *queueRead // the read in flight, or nil
}

// queueRead is one read of the queues; done is closed once infos and err
// are set.
type queueRead struct {
	done  chan struct{}
	infos []asynq.QueueInfo
	err   error
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueUp
	ch <- queueTasks
	ch <- queueOldest
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	infos, ok := c.read()
	up := 0.0
	if ok {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(queueUp, prometheus.GaugeValue, up)
	for _, q := range infos {
		for state, n := range map[string]int{"pending": q.Pending, "active": q.Active, "scheduled": q.Scheduled, "retry": q.Retry, "archived": q.Archived} {
			ch <- prometheus.MustNewConstMetric(queueTasks, prometheus.GaugeValue, float64(n), q.Queue, state)
		}
		ch <- prometheus.MustNewConstMetric(queueOldest, prometheus.GaugeValue, q.Latency.Seconds(), q.Queue)
	}
}

// read returns the queues' state, or false when Redis did not answer in
// time or failed.
func (c *queueCollector) read() ([]asynq.QueueInfo, bool) {
	c.mu.Lock()
	r := c.reading
	if r == nil {
		r = &queueRead{done: make(chan struct{})}
		c.reading = r
		go func() {
			r.infos, r.err = c.readAll()
			c.mu.Lock()
			c.reading = nil
			c.mu.Unlock()
			close(r.done)
		}()
	}
	c.mu.Unlock()
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case <-r.done:
		return r.infos, r.err == nil
	case <-timer.C:
		return nil, false
	}
}

func (c *queueCollector) readAll() ([]asynq.QueueInfo, error) {
	known, err := c.inspector.Queues()
	if err != nil {
		return nil, err
	}
	infos := make([]asynq.QueueInfo, 0, len(c.queues))
	for _, name := range c.queues {
		if !slices.Contains(known, name) {
			// Nothing was ever queued on it.
			infos = append(infos, asynq.QueueInfo{Queue: name})
			continue
		}
		q, err := c.inspector.GetQueueInfo(name)
		if err != nil {
			return nil, err
		}
		infos = append(infos, *q)
	}
	return infos, nil
}
