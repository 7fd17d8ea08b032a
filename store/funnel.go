package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Funnel groupings.
const (
	FunnelBySource   = "source"
	FunnelByCampaign = "campaign"
	FunnelByForm     = "form"
)

// FunnelLeadRow is one group's lead stages in a time range: how many leads
// reached each stage in it (a lead counts once per stage), and the median
// seconds each took from first reaching the stage before (nil when no lead
// did both). Total marks the row summing every group.
type FunnelLeadRow struct {
	Group              string `db:"grp"`
	Total              bool   `db:"total"`
	Leads              int64  `db:"leads"`
	Nurturing          int64  `db:"nurturing"`
	MarketingQualified int64  `db:"marketing_qualified"`
	SalesAccepted      int64  `db:"sales_accepted"`
	Opportunities      int64  `db:"opportunities"`
	Converted          int64  `db:"converted"`
	// From the lead's first response to the lead.
	LeadsMedian              *float64 `db:"leads_median"`
	NurturingMedian          *float64 `db:"nurturing_median"`
	MarketingQualifiedMedian *float64 `db:"marketing_qualified_median"`
	SalesAcceptedMedian      *float64 `db:"sales_accepted_median"`
	OpportunitiesMedian      *float64 `db:"opportunities_median"`
	ConvertedMedian          *float64 `db:"converted_median"`
}

// FunnelResponseRow counts one group's responses received in a time range.
type FunnelResponseRow struct {
	Group     string `db:"grp"`
	Total     bool   `db:"total"`
	Responses int64  `db:"responses"`
}

// Forecast is what the sales admins put in the forecast: opportunities
// only, never responses or leads.
type Forecast struct {
	Opportunities int64  `db:"opportunities"`
	Amount        string `db:"amount"`
}

// funnelGroup is the SQL of each grouping: over a lead's funnel row (f),
// and over a response (r).
var funnelGroup = map[string]struct{ lead, response string }{
	FunnelBySource:   {"f.lead_source", "r.lead_source"},
	FunnelByCampaign: {"f.campaign", "r.campaign"},
	FunnelByForm:     {"COALESCE(f.form_id::text, '')", "COALESCE(r.form_id::text, '')"},
}

// FunnelLeads counts, per group and in total, the leads that reached each
// stage in [from, to): created; moved to nurturing, marketing_qualified,
// sales_accepted, converted (at any of the times it did); given an
// opportunity. Medians run over the leads counted at the later stage, from
// the first time each reached the stage before. Leads merged into another
// are history and not counted. It reads one lead_funnel row per lead whose
// span of stage times reaches into the range, through lead_funnel_span.
func (q *Queries) FunnelLeads(ctx context.Context, workspaceID uuid.UUID, from, to time.Time, by string) ([]FunnelLeadRow, error) {
	g, ok := funnelGroup[by]
	if !ok {
		return nil, fmt.Errorf("funnel leads: unknown grouping %q", by)
	}
	// A stage was reached in the range when its first time is in it or, for
	// a lead that reached it again, any of its times is; a reversed range
	// holds nothing. The medians sort the durations lead_funnel keeps
	// (00022), a lead's only where it reached the stage before first. The
	// leads are sorted by group byte-wise (a locale's collation makes that
	// sort several times slower), carrying only what the aggregates read;
	// the few rows out are ordered as text always was.
	sql := `
		WITH m AS (
			SELECT (` + g.lead + `) COLLATE "C" AS grp,
				f.created_at >= $2 AND f.created_at < $3 AS in_lead,
				COALESCE(f.nurturing_at >= $2 AND f.nurturing_at < $3, false)
					OR f.nurturing_times IS NOT NULL AND f.nurturing_times && w.r AS in_nurturing,
				COALESCE(f.marketing_qualified_at >= $2 AND f.marketing_qualified_at < $3, false)
					OR f.marketing_qualified_times IS NOT NULL AND f.marketing_qualified_times && w.r AS in_mq,
				COALESCE(f.sales_accepted_at >= $2 AND f.sales_accepted_at < $3, false)
					OR f.sales_accepted_times IS NOT NULL AND f.sales_accepted_times && w.r AS in_sa,
				COALESCE(f.converted_at >= $2 AND f.converted_at < $3, false)
					OR f.converted_times IS NOT NULL AND f.converted_times && w.r AS in_converted,
				COALESCE(f.opportunity_at >= $2 AND f.opportunity_at < $3, false) AS in_opportunity,
				f.lead_secs, f.nurturing_secs, f.marketing_qualified_secs, f.sales_accepted_secs,
				f.opportunity_secs, f.converted_secs
			FROM lead_funnel f,
				(SELECT tstzrange(least($2::timestamptz, $3::timestamptz), $3::timestamptz, '[)') AS r) w
			WHERE f.workspace_id = $1 AND NOT f.merged AND f.last_at >= $2 AND f.first_at < $3
		)
		SELECT COALESCE(grp, '') AS grp, GROUPING(grp) = 1 AS total,
			count(*) FILTER (WHERE in_lead) AS leads,
			count(*) FILTER (WHERE in_nurturing) AS nurturing,
			count(*) FILTER (WHERE in_mq) AS marketing_qualified,
			count(*) FILTER (WHERE in_sa) AS sales_accepted,
			count(*) FILTER (WHERE in_opportunity) AS opportunities,
			count(*) FILTER (WHERE in_converted) AS converted,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_secs)
				FILTER (WHERE in_lead AND lead_secs >= 0) AS leads_median,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY nurturing_secs)
				FILTER (WHERE in_nurturing AND nurturing_secs >= 0) AS nurturing_median,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY marketing_qualified_secs)
				FILTER (WHERE in_mq AND marketing_qualified_secs >= 0) AS marketing_qualified_median,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY sales_accepted_secs)
				FILTER (WHERE in_sa AND sales_accepted_secs >= 0) AS sales_accepted_median,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY opportunity_secs)
				FILTER (WHERE in_opportunity AND opportunity_secs >= 0) AS opportunities_median,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY converted_secs)
				FILTER (WHERE in_converted AND converted_secs >= 0) AS converted_median
		FROM m
		WHERE in_lead OR in_nurturing OR in_mq OR in_sa OR in_converted OR in_opportunity
		GROUP BY GROUPING SETS ((grp), ())
		ORDER BY total, COALESCE(grp, '') COLLATE "default"`
	var out []FunnelLeadRow
	run := func(db DBTX) error {
		rows, _ := db.Query(ctx, sql, workspaceID, from, to)
		var err error
		out, err = pgx.CollectRows(rows, pgx.RowToStructByName[FunnelLeadRow])
		return err
	}
	b, ok := q.db.(beginner)
	if !ok {
		return out, interpret(run(q.db), "funnel leads")
	}
	// At a million leads the plan's cost estimate passes the JIT
	// thresholds; compiling it takes longer than the scan it would speed up.
	// Each median sorts its leads' durations, and the leads are sorted by
	// group (by each parallel worker, its share): 64 MB keeps a million of
	// either in memory instead of spilling to disk.
	err := pgx.BeginFunc(ctx, b, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off; SET LOCAL work_mem = '64MB'`); err != nil {
			return err
		}
		return run(tx)
	})
	return out, interpret(err, "funnel leads")
}

// beginner is what opens a transaction: a pool, or a transaction (a
// savepoint).
type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// FunnelResponses counts, per group and in total, the responses received in
// [from, to), spam aside, from the index responses_received_counts alone
// over short ranges. The total sums the groups' counts rather than being a
// grouping set of its own: a count by group alone can be split between
// parallel workers, which a long range's count, reading most of the table,
// then is.
func (q *Queries) FunnelResponses(ctx context.Context, workspaceID uuid.UUID, from, to time.Time, by string) ([]FunnelResponseRow, error) {
	g, ok := funnelGroup[by]
	if !ok {
		return nil, fmt.Errorf("funnel responses: unknown grouping %q", by)
	}
	rows, _ := q.db.Query(ctx, `
		WITH g AS (
			SELECT `+g.response+` AS grp, count(*) AS responses FROM responses r
			WHERE r.workspace_id = $1 AND r.received_at >= $2 AND r.received_at < $3
			  AND r.verdict <> 'spam'
			GROUP BY 1
		)
		SELECT COALESCE(grp, '') AS grp, false AS total, responses FROM g
		UNION ALL
		SELECT '', true, COALESCE(sum(responses), 0)::int8 FROM g
		ORDER BY total, grp`,
		workspaceID, from, to)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[FunnelResponseRow])
	return out, interpret(err, "funnel responses")
}

// FunnelOpportunitiesFromScratch counts the opportunities sales created in
// [from, to) with no lead behind them, which the funnel's stages never
// count: through opportunities_from_scratch, however many came from leads.
func (q *Queries) FunnelOpportunitiesFromScratch(ctx context.Context, workspaceID uuid.UUID, from, to time.Time) (int64, error) {
	var n int64
	err := q.db.QueryRow(ctx, `
		SELECT count(*) FROM opportunities
		WHERE workspace_id = $1 AND lead_id IS NULL AND created_at >= $2 AND created_at < $3`,
		workspaceID, from, to).Scan(&n)
	return n, interpret(err, "funnel opportunities from scratch")
}

// FunnelForecast sums the opportunities sales admins put in the forecast.
func (q *Queries) FunnelForecast(ctx context.Context, workspaceID uuid.UUID) (Forecast, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT count(*) AS opportunities, COALESCE(sum(amount), 0)::numeric(16, 2)::text AS amount
		FROM opportunities WHERE workspace_id = $1 AND in_forecast`, workspaceID)
	f, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Forecast])
	return f, interpret(err, "funnel forecast")
}

// FormNames maps the workspace's form IDs to their names, for a report
// grouped by form.
func (q *Queries) FormNames(ctx context.Context, workspaceID uuid.UUID) (map[uuid.UUID]string, error) {
	rows, _ := q.db.Query(ctx, `SELECT id, name FROM forms WHERE workspace_id = $1`, workspaceID)
	type idName struct {
		ID   uuid.UUID `db:"id"`
		Name string    `db:"name"`
	}
	fs, err := pgx.CollectRows(rows, pgx.RowToStructByName[idName])
	if err != nil {
		return nil, interpret(err, "form names")
	}
	out := make(map[uuid.UUID]string, len(fs))
	for _, f := range fs {
		out[f.ID] = f.Name
	}
	return out, nil
}
