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

// funnelGroup is the SQL of each grouping: over a lead (l) and its first
// response (fr), and over a response (r).
var funnelGroup = map[string]struct{ lead, response string }{
	FunnelBySource:   {"l.lead_source", "r.lead_source"},
	FunnelByCampaign: {"l.campaign", "r.campaign"},
	FunnelByForm:     {"COALESCE(fr.form_id::text, '')", "r.form_id::text"},
}

// FunnelLeads counts, per group and in total, the leads that reached each
// stage in [from, to): created; moved to nurturing, marketing_qualified,
// sales_accepted, converted (from lead_status_history); given an
// opportunity. Medians run over the leads counted at the later stage, from
// the first time each reached the stage before. Leads merged into another
// are history and not counted.
func (q *Queries) FunnelLeads(ctx context.Context, workspaceID uuid.UUID, from, to time.Time, by string) ([]FunnelLeadRow, error) {
	g, ok := funnelGroup[by]
	if !ok {
		return nil, fmt.Errorf("funnel leads: unknown grouping %q", by)
	}
	sql := `
		WITH cand AS (
			SELECT id AS lead_id FROM leads
			WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3
			UNION
			SELECT lead_id FROM lead_status_history
			WHERE workspace_id = $1 AND at >= $2 AND at < $3
			  AND to_status IN ('nurturing', 'marketing_qualified', 'sales_accepted', 'converted')
			UNION
			SELECT lead_id FROM opportunities
			WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3
		), fr AS (
			-- Each candidate's first response.
			SELECT DISTINCT ON (r.lead_id) r.lead_id, r.form_id, r.received_at
			FROM cand JOIN responses r ON r.workspace_id = $1 AND r.lead_id = cand.lead_id
			ORDER BY r.lead_id, r.received_at, r.id
		), h AS (
			-- When each candidate first reached each stage, and whether it did in the range.
			SELECT s.lead_id,
				min(s.at) FILTER (WHERE s.to_status = 'nurturing') AS t_nurturing,
				min(s.at) FILTER (WHERE s.to_status = 'marketing_qualified') AS t_mq,
				min(s.at) FILTER (WHERE s.to_status = 'sales_accepted') AS t_sa,
				min(s.at) FILTER (WHERE s.to_status = 'converted') AS t_converted,
				bool_or(s.at >= $2 AND s.at < $3) FILTER (WHERE s.to_status = 'nurturing') AS in_nurturing,
				bool_or(s.at >= $2 AND s.at < $3) FILTER (WHERE s.to_status = 'marketing_qualified') AS in_mq,
				bool_or(s.at >= $2 AND s.at < $3) FILTER (WHERE s.to_status = 'sales_accepted') AS in_sa,
				bool_or(s.at >= $2 AND s.at < $3) FILTER (WHERE s.to_status = 'converted') AS in_converted
			FROM cand JOIN lead_status_history s ON s.workspace_id = $1 AND s.lead_id = cand.lead_id
			GROUP BY s.lead_id
		), m AS (
			SELECT ` + g.lead + ` AS grp,
				fr.received_at AS t_response,
				l.created_at AS t_lead,
				l.created_at >= $2 AND l.created_at < $3 AS in_lead,
				h.t_nurturing, h.t_mq, h.t_sa, h.t_converted,
				COALESCE(h.in_nurturing, false) AS in_nurturing,
				COALESCE(h.in_mq, false) AS in_mq,
				COALESCE(h.in_sa, false) AS in_sa,
				COALESCE(h.in_converted, false) AS in_converted,
				o.created_at AS t_opportunity,
				COALESCE(o.created_at >= $2 AND o.created_at < $3, false) AS in_opportunity
			FROM cand
			JOIN leads l ON l.workspace_id = $1 AND l.id = cand.lead_id AND l.merged_into IS NULL
			LEFT JOIN fr ON fr.lead_id = l.id
			LEFT JOIN h ON h.lead_id = l.id
			LEFT JOIN opportunities o ON o.workspace_id = $1 AND o.lead_id = l.id
		)
		SELECT COALESCE(grp, '') AS grp, GROUPING(grp) = 1 AS total,
			count(*) FILTER (WHERE in_lead) AS leads,
			count(*) FILTER (WHERE in_nurturing) AS nurturing,
			count(*) FILTER (WHERE in_mq) AS marketing_qualified,
			count(*) FILTER (WHERE in_sa) AS sales_accepted,
			count(*) FILTER (WHERE in_opportunity) AS opportunities,
			count(*) FILTER (WHERE in_converted) AS converted,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t_lead - t_response)::float8)
				FILTER (WHERE in_lead AND t_response <= t_lead) AS leads_median,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t_nurturing - t_lead)::float8)
				FILTER (WHERE in_nurturing AND t_lead <= t_nurturing) AS nurturing_median,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t_mq - t_nurturing)::float8)
				FILTER (WHERE in_mq AND t_nurturing <= t_mq) AS marketing_qualified_median,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t_sa - t_mq)::float8)
				FILTER (WHERE in_sa AND t_mq <= t_sa) AS sales_accepted_median,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t_opportunity - t_sa)::float8)
				FILTER (WHERE in_opportunity AND t_sa <= t_opportunity) AS opportunities_median,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t_converted - t_opportunity)::float8)
				FILTER (WHERE in_converted AND t_opportunity <= t_converted) AS converted_median
		FROM m
		GROUP BY GROUPING SETS ((grp), ())
		ORDER BY total, grp`
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
	// The plan is many small index reads whose cost estimate passes the
	// JIT thresholds at a million leads; compiling it took longer (6 s)
	// than running it.
	err := pgx.BeginFunc(ctx, b, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
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
// [from, to), spam aside.
func (q *Queries) FunnelResponses(ctx context.Context, workspaceID uuid.UUID, from, to time.Time, by string) ([]FunnelResponseRow, error) {
	g, ok := funnelGroup[by]
	if !ok {
		return nil, fmt.Errorf("funnel responses: unknown grouping %q", by)
	}
	rows, _ := q.db.Query(ctx, `
		SELECT COALESCE(grp, '') AS grp, GROUPING(grp) = 1 AS total, count(*) AS responses
		FROM (
			SELECT `+g.response+` AS grp FROM responses r
			WHERE r.workspace_id = $1 AND r.received_at >= $2 AND r.received_at < $3
			  AND r.verdict <> 'spam'
		) r
		GROUP BY GROUPING SETS ((grp), ())
		ORDER BY total, grp`,
		workspaceID, from, to)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[FunnelResponseRow])
	return out, interpret(err, "funnel responses")
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
