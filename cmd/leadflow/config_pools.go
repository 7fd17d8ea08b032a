package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"
)

// poolSettings size the PostgreSQL pools a process keeps, one per kind of
// work, so that no kind can take every connection from another: admin
// reports cannot make a website form wait, nor workers the admin API.
type poolSettings struct {
	// Capture serves form posts, hosted form pages, tracking links and
	// /readyz.
	Capture int
	// API serves the admin API.
	API int
	// Work serves the workers, the scheduler and the sweepers; by default
	// the worker concurrency plus the loops that read PostgreSQL.
	Work int
	// APIStatementTimeout is the longest an admin API statement may run
	// before the server cancels it (0: no limit).
	APIStatementTimeout time.Duration
}

// workLoops is how many connections the work process's own loops (the
// response sweeper, the nurture scheduler, qualify's jobs) need on top of
// its task concurrency.
const workLoops = 4

func (p poolSettings) String() string {
	return fmt.Sprintf("db_pools=capture:%d,api:%d,work:%d api_statement_timeout=%s", p.Capture, p.API, p.Work, p.APIStatementTimeout)
}

// poolFlags registers the pool settings on fs and returns the function that
// reads them once fs is parsed; concurrency is the worker concurrency.
func poolFlags(fs *flag.FlagSet, getenv func(string) string) func(concurrency int) (poolSettings, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var capture, api, work, timeout string
	fs.StringVar(&capture, "db-pool-capture", env("LEADFLOW_DB_POOL_CAPTURE", "8"), "PostgreSQL connections for form capture, hosted forms and tracking (LEADFLOW_DB_POOL_CAPTURE)")
	fs.StringVar(&api, "db-pool-api", env("LEADFLOW_DB_POOL_API", "4"), "PostgreSQL connections for the admin API (LEADFLOW_DB_POOL_API)")
	fs.StringVar(&work, "db-pool-work", getenv("LEADFLOW_DB_POOL_WORK"), "PostgreSQL connections for the workers (LEADFLOW_DB_POOL_WORK; default the worker concurrency + 4)")
	fs.StringVar(&timeout, "api-statement-timeout", env("LEADFLOW_API_STATEMENT_TIMEOUT", "10s"), "longest an admin API statement may run; 0 for no limit (LEADFLOW_API_STATEMENT_TIMEOUT)")
	return func(concurrency int) (poolSettings, error) {
		var p poolSettings
		var errs []error
		size := func(name, v string) int {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				errs = append(errs, fmt.Errorf("%s %q: want a whole number >= 1", name, v))
			}
			return n
		}
		p.Capture = size("capture pool size", capture)
		p.API = size("api pool size", api)
		if work == "" {
			p.Work = max(concurrency, 1) + workLoops
		} else {
			p.Work = size("work pool size", work)
		}
		var err error
		if p.APIStatementTimeout, err = time.ParseDuration(timeout); err != nil || p.APIStatementTimeout < 0 {
			errs = append(errs, fmt.Errorf("api statement timeout %q: want a duration such as 10s, or 0 for none", timeout))
		}
		return p, errors.Join(errs...)
	}
}
