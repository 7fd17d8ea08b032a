package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"leadflow/store"
)

// smallLeads is the load of the ordinary test run: big enough that the
// planner makes at every hot query the choice it makes at a million leads
// (BenchmarkMillionLeads/plans checks the same plans there), small enough
// to load in seconds.
const smallLeads = 20_000

// hotQuery is a query that runs over and over whatever the traffic (a
// periodic job's claim, a report), and the indexes its plan must use.
type hotQuery struct {
	name string
	// job says who runs it and how often.
	job  string
	call func(ctx context.Context, q *store.Queries, d bigData)
	want []string
	// whole names big tables the plan may read end to end, and why.
	whole []string
	// perRow, when set, bounds the rows the plan may read from big tables
	// to perRow for each row it returns (plus slack): a periodic query that
	// reads rows only to drop them rereads its backlog at every round.
	perRow float64
}

// readSlack is what a bounded query may read beyond perRow per returned
// row: a claim reads each row it takes up to three or four times
// (candidate, lock by key, update) and skips the few that are on the queue
// right now.
const readSlack = 10

// hotQueries are the periodic jobs' queries (capture's sweeper, the nurture
// scheduler, qualify's scoring, decay, SLA and webhook jobs) and the
// funnel report's, called as their jobs call them at bigNow.
var hotQueries = []hotQuery{
	{"PendingResponses", "capture sweeper, every 30 s", func(ctx context.Context, q *store.Queries, d bigData) {
		q.PendingResponses(ctx, bigNow.Add(-10*time.Second), store.PendingResponse{}, 1000)
	}, []string{"responses_pending"}, nil, 0},
	{"ClaimDueEnrollments", "nurture scheduler, every 1 s", func(ctx context.Context, q *store.Queries, d bigData) {
		q.ClaimDueEnrollments(ctx, bigNow, bigNow.Add(-time.Minute), 1000)
	}, []string{"enrollments_due_new", "enrollments_due_lease"}, nil, 3},
	{"ClaimQueuedMessages", "nurture scheduler, every 1 s", func(ctx context.Context, q *store.Queries, d bigData) {
		q.ClaimQueuedMessages(ctx, bigNow, bigNow.Add(-time.Minute), 1000)
	}, []string{"messages_queued_new", "messages_queued_lease", "messages_pkey"}, nil, 4},
	{"ClaimScoreDirty", "qualify scoring, every 1 s", func(ctx context.Context, q *store.Queries, d bigData) {
		q.ClaimScoreDirty(ctx, 100)
	}, []string{"leads_pkey"}, nil, 0},
	{"ClaimScoreJob", "qualify score jobs, every 1 s", func(ctx context.Context, q *store.Queries, d bigData) {
		q.ClaimScoreJob(ctx)
	}, nil, nil, 0},
	{"PurgeOrphanScoreDirty", "qualify decay, every 5 min", func(ctx context.Context, q *store.Queries, d bigData) {
		q.PurgeOrphanScoreDirty(ctx)
	}, []string{"leads_pkey"}, nil, 0},
	{"MarkStaleScoresDirty", "qualify decay, every 5 min", func(ctx context.Context, q *store.Queries, d bigData) {
		q.MarkStaleScoresDirty(ctx, bigNow.Add(-time.Hour), 1000)
	}, []string{"leads_scored_at_live", "score_dirty_pkey"}, nil, 0},
	{"DueHandoffs", "qualify SLA, every 1 s", func(ctx context.Context, q *store.Queries, d bigData) {
		q.DueHandoffs(ctx, bigNow, 50)
	}, []string{"handoffs_sla_unescalated"}, nil, 1},
	{"ClaimWebhookDeliveries", "qualify webhooks, every 1 s", func(ctx context.Context, q *store.Queries, d bigData) {
		q.ClaimWebhookDeliveries(ctx, bigNow, bigNow.Add(2*time.Minute), 32, 2)
	}, []string{"webhook_deliveries_due"}, nil, 3},
	{"SearchLeads", "console leads page, a search for a rare name", func(ctx context.Context, q *store.Queries, d bigData) {
		// A name search reads the names like it, however many: what it
		// reads grows with the matches, never with the workspace.
		q.SearchLeads(ctx, d.ws, store.LeadSearch{Q: "last4242", Page: store.Page{Limit: store.DefaultPageLimit + 1}})
	}, []string{"leads_fuzzy", "leads_email_trgm"}, nil, 0},
	{"SearchLeadsByEmail", "console leads page, a search for part of an address", func(ctx context.Context, q *store.Queries, d bigData) {
		q.SearchLeads(ctx, d.ws, store.LeadSearch{Q: "lead4242@", Page: store.Page{Limit: store.DefaultPageLimit + 1}})
	}, []string{"leads_email_trgm"}, nil, 20},
	{"SearchLeadsByStatus", "console leads page, one status", func(ctx context.Context, q *store.Queries, d bigData) {
		q.SearchLeads(ctx, d.ws, store.LeadSearch{Status: store.LeadConverted, Page: store.Page{Limit: store.DefaultPageLimit + 1}})
	}, []string{"leads_status"}, nil, 3},
	{"FunnelLeads", "GET /reports/funnel, last 30 days", func(ctx context.Context, q *store.Queries, d bigData) {
		q.FunnelLeads(ctx, d.ws, bigNow.AddDate(0, 0, -30), bigNow, store.FunnelBySource)
	}, []string{"lead_funnel_span"}, nil, 0},
	{"FunnelResponses", "GET /reports/funnel, last 30 days", func(ctx context.Context, q *store.Queries, d bigData) {
		q.FunnelResponses(ctx, d.ws, bigNow.AddDate(0, 0, -30), bigNow, store.FunnelBySource)
	}, []string{"responses_received_counts"}, nil, 0},
	{"FunnelOpportunitiesFromScratch", "GET /reports/funnel, last 30 days", func(ctx context.Context, q *store.Queries, d bigData) {
		q.FunnelOpportunitiesFromScratch(ctx, d.ws, bigNow.AddDate(0, 0, -30), bigNow)
	}, []string{"opportunities_from_scratch"}, nil, 0},
	{"LeadTimeline", "GET /console/leads/:id and the handoff page, each view", func(ctx context.Context, q *store.Queries, d bigData) {
		q.LeadTimeline(ctx, d.ws, d.convertedLead(ctx), 100)
	}, []string{"responses_lead_first", "messages_lead", "lead_status_history_lead", "lead_score_history_lead",
		"lead_audit_lead", "handoffs_lead", "handoff_events_handoff", "qualification_decisions_lead"}, nil, 0},
}

// convertedLead is a lead of d with the longest of histories: nurtured,
// qualified, accepted and converted.
func (d bigData) convertedLead(ctx context.Context) uuid.UUID {
	var id uuid.UUID
	if err := d.st.Pool.QueryRow(ctx, `SELECT id FROM leads WHERE workspace_id = $1 AND status = 'converted' LIMIT 1`,
		d.ws).Scan(&id); err != nil {
		panic(fmt.Sprintf("a converted lead: %v", err))
	}
	return id
}

func TestHotQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	d := loadBig(t, smallLeads)
	for _, p := range explainHot(t, d) {
		t.Logf("%s", p)
	}
}

// queryPlan is what EXPLAIN ANALYZE said of one hot query.
type queryPlan struct {
	query      hotQuery
	scans      []string // "Index Scan responses_pending on responses", in plan order
	indexes    []string
	cost       float64
	planning   time.Duration
	execution  time.Duration
	buffers    int64 // shared blocks hit or read
	actualRows float64
	// read counts the rows the plan's scans of big tables fetched, those
	// their filters dropped included, over all loops.
	read float64
}

func (p queryPlan) String() string {
	return fmt.Sprintf("%-24s cost=%.0f rows=%.0f read=%.0f buffers=%d time=%s plan: %s",
		p.query.name, p.cost, p.actualRows, p.read, p.buffers, p.execution.Round(time.Microsecond), strings.Join(p.scans, "; "))
}

// explainHot explains (and runs, in a transaction rolled back) every hot
// query on d, and fails the test when a plan reads a big table from end to
// end or leaves out an index it needs.
func explainHot(tb testing.TB, d bigData) []queryPlan {
	tb.Helper()
	ctx := context.Background()
	var out []queryPlan
	for _, hq := range hotQueries {
		var c capturer
		hq.call(ctx, store.QueriesOn(&c), d)
		if c.sql == "" {
			tb.Fatalf("%s: sent no query", hq.name)
		}
		p, err := explain(ctx, d.st.Pool, c.sql, c.args)
		if err != nil {
			tb.Fatalf("%s: %v", hq.name, err)
		}
		p.query = hq
		out = append(out, p)
		for _, s := range p.scans {
			for _, t := range bigTables {
				if slices.Contains(hq.whole, t) {
					continue
				}
				if strings.HasPrefix(s, "Seq Scan on "+t+" ") || s == "Seq Scan on "+t {
					tb.Errorf("%s reads all of %s (%s rows) at %s: %s", hq.name, t, fmt.Sprint(d.rows[t]), d, p)
				}
			}
		}
		for _, want := range hq.want {
			if !slices.Contains(p.indexes, want) {
				tb.Errorf("%s does not use index %s at %s: %s", hq.name, want, d, p)
			}
		}
		if hq.perRow > 0 && p.read > hq.perRow*p.actualRows+readSlack {
			tb.Errorf("%s reads %.0f rows of big tables to return %.0f (at most %.0f per row) at %s: %s",
				hq.name, p.read, p.actualRows, hq.perRow, d, p)
		}
	}
	return out
}

// explain runs EXPLAIN (ANALYZE, BUFFERS) of sql in a transaction it rolls
// back, so claims and deletes leave the data as it was.
func explain(ctx context.Context, pool *pgxpool.Pool, sql string, args []any) (queryPlan, error) {
	var raw []byte
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// As FunnelLeads runs; no periodic query costs enough for JIT.
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+sql, args...).Scan(&raw); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		return queryPlan{}, fmt.Errorf("explain: %w", err)
	}
	var doc []struct {
		Plan          planNode `json:"Plan"`
		PlanningTime  float64  `json:"Planning Time"`
		ExecutionTime float64  `json:"Execution Time"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc) != 1 {
		return queryPlan{}, fmt.Errorf("explain output: %v: %s", err, raw)
	}
	top := doc[0]
	p := queryPlan{
		cost:       top.Plan.TotalCost,
		planning:   time.Duration(top.PlanningTime * float64(time.Millisecond)),
		execution:  time.Duration(top.ExecutionTime * float64(time.Millisecond)),
		buffers:    top.Plan.SharedHit + top.Plan.SharedRead,
		actualRows: top.Plan.ActualRows,
	}
	var walk func(n planNode)
	walk = func(n planNode) {
		if n.Relation != "" {
			s := n.NodeType
			if n.Index != "" {
				s += " " + n.Index
				p.indexes = append(p.indexes, n.Index)
			}
			p.scans = append(p.scans, fmt.Sprintf("%s on %s (%.0f rows x%.0f, %.0f dropped)", s, n.Relation, n.ActualRows, n.Loops, n.dropped()))
			if slices.Contains(bigTables, n.Relation) && n.NodeType != "ModifyTable" {
				p.read += (n.ActualRows + n.dropped()) * n.Loops
			}
		} else if n.Index != "" { // a Bitmap Index Scan names only its index
			p.indexes = append(p.indexes, n.Index)
			// Its entries are read too, though the heap scan above may
			// never fetch them.
			p.read += n.ActualRows * n.Loops
			p.scans = append(p.scans, fmt.Sprintf("%s %s (%.0f rows x%.0f)", n.NodeType, n.Index, n.ActualRows, n.Loops))
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(top.Plan)
	return p, nil
}

var errRollback = errors.New("rollback")

type planNode struct {
	NodeType   string     `json:"Node Type"`
	Relation   string     `json:"Relation Name"`
	Index      string     `json:"Index Name"`
	TotalCost  float64    `json:"Total Cost"`
	ActualRows float64    `json:"Actual Rows"`
	Loops      float64    `json:"Actual Loops"`
	SharedHit  int64      `json:"Shared Hit Blocks"`
	SharedRead int64      `json:"Shared Read Blocks"`
	Plans      []planNode `json:"Plans"`
	// EXPLAIN gives these per loop, as it gives Actual Rows.
	RemovedByFilter  float64 `json:"Rows Removed by Filter"`
	RemovedByRecheck float64 `json:"Rows Removed by Index Recheck"`
}

// dropped is what the node read, per loop, and its conditions then dropped.
func (n planNode) dropped() float64 { return n.RemovedByFilter + n.RemovedByRecheck }

// capturer is an executor that runs nothing: it keeps the last statement a
// store method sent, with its arguments, for explain.
type capturer struct {
	sql  string
	args []any
}

func (c *capturer) keep(sql string, args []any) { c.sql, c.args = sql, args }

func (c *capturer) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c.keep(sql, args)
	return pgconn.CommandTag{}, errCaptured
}

func (c *capturer) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.keep(sql, args)
	return errRows{}, nil
}

func (c *capturer) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	c.keep(sql, args)
	return errRow{}
}

func (c *capturer) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errCaptured
}

func (c *capturer) SendBatch(context.Context, *pgx.Batch) pgx.BatchResults { return nil }

var errCaptured = errors.New("captured, not run")

type errRow struct{}

func (errRow) Scan(...any) error { return errCaptured }

// errRows is a result that failed before its first row.
type errRows struct{}

func (errRows) Close()                                       {}
func (errRows) Err() error                                   { return errCaptured }
func (errRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (errRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (errRows) Next() bool                                   { return false }
func (errRows) Scan(...any) error                            { return errCaptured }
func (errRows) Values() ([]any, error)                       { return nil, errCaptured }
func (errRows) RawValues() [][]byte                          { return nil }
func (errRows) Conn() *pgx.Conn                              { return nil }
func (errRows) TypeMap() *pgtype.Map                         { return nil }
