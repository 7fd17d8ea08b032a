package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"leadflow/store"
	"leadflow/store/storetest"
)

// funnelFromHistorySQL is the funnel report as it was computed before the
// per-lead stage table: from every candidate's whole status history and
// responses. The report must give the same rows from the stage table.
const funnelFromHistorySQL = `
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
			SELECT DISTINCT ON (r.lead_id) r.lead_id, r.form_id, r.received_at
			FROM cand JOIN responses r ON r.workspace_id = $1 AND r.lead_id = cand.lead_id
			ORDER BY r.lead_id, r.received_at, r.id
		), h AS (
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
			SELECT %s AS grp,
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

// funnelFromHistoryGroup is each grouping's SQL in funnelFromHistorySQL.
var funnelFromHistoryGroup = map[string]string{
	store.FunnelBySource:   "l.lead_source",
	store.FunnelByCampaign: "l.campaign",
	store.FunnelByForm:     "COALESCE(fr.form_id::text, '')",
}

func funnelFromHistory(t *testing.T, st *store.Store, ws uuid.UUID, from, to time.Time, by string) []store.FunnelLeadRow {
	t.Helper()
	rows, _ := st.Pool.Query(context.Background(), fmt.Sprintf(funnelFromHistorySQL, funnelFromHistoryGroup[by]), ws, from, to)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[store.FunnelLeadRow])
	if err != nil {
		t.Fatalf("funnel from history: %v", err)
	}
	return out
}

// funnelResponsesByGroupingSets counts responses as the report did before
// its total was summed from the groups: the total a grouping set of its own.
func funnelResponsesByGroupingSets(t *testing.T, st *store.Store, ws uuid.UUID, from, to time.Time, by string) []store.FunnelResponseRow {
	t.Helper()
	grp := map[string]string{store.FunnelBySource: "r.lead_source", store.FunnelByCampaign: "r.campaign",
		store.FunnelByForm: "r.form_id::text"}[by]
	rows, _ := st.Pool.Query(context.Background(), `
		SELECT COALESCE(grp, '') AS grp, GROUPING(grp) = 1 AS total, count(*) AS responses
		FROM (
			SELECT `+grp+` AS grp FROM responses r
			WHERE r.workspace_id = $1 AND r.received_at >= $2 AND r.received_at < $3
			  AND r.verdict <> 'spam'
		) r
		GROUP BY GROUPING SETS ((grp), ())
		ORDER BY total, grp`, ws, from, to)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[store.FunnelResponseRow])
	if err != nil {
		t.Fatalf("responses by grouping sets: %v", err)
	}
	return out
}

// funnelWorld builds varied lead histories in a workspace through the store
// and the way the application writes them: leads created over two years,
// responses made into leads, stages reached, left and reached again
// (recycled leads, leads moved back and forth), merges that move a lead's
// responses to another, opportunities; and the rarer writes no flow makes
// today but the schema allows (a response moved away from its lead, history
// and opportunities corrected or deleted).
type funnelWorld struct {
	t     *testing.T
	st    *store.Store
	ws    uuid.UUID
	rnd   *rand.Rand
	start time.Time
	forms []uuid.UUID
	leads []uuid.UUID
}

func newFunnelWorld(t *testing.T, st *store.Store, seed uint64) *funnelWorld {
	t.Helper()
	ctx := context.Background()
	w := &funnelWorld{t: t, st: st, rnd: rand.New(rand.NewPCG(seed, 7)), start: time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)}
	ws, err := st.EnsureWorkspace(ctx, fmt.Sprintf("funnel-%d-%s", seed, store.NewID()))
	if err != nil {
		t.Fatal(err)
	}
	w.ws = ws.ID
	for i := range 3 {
		id := store.NewID()
		w.exec(`INSERT INTO forms (id, workspace_id, key, name, kind) VALUES ($1, $2, $3, $4, 'contact_us')`,
			id, w.ws, "fw"+id.String()[:8]+id.String()[24:], fmt.Sprintf("Form %d", i))
		w.forms = append(w.forms, id)
	}
	return w
}

func (w *funnelWorld) exec(sql string, args ...any) {
	w.t.Helper()
	if _, err := w.st.Pool.Exec(context.Background(), sql, args...); err != nil {
		w.t.Fatalf("%s: %v", sql, err)
	}
}

// at is a random time in the world's two years, truncated to the second
// at times so that some events share their second.
func (w *funnelWorld) at() time.Time {
	t := w.start.Add(time.Duration(w.rnd.Int64N(int64(730 * 24 * time.Hour))))
	if w.rnd.IntN(4) == 0 {
		t = t.Truncate(time.Hour)
	}
	return t
}

func (w *funnelWorld) after(t time.Time) time.Time {
	return t.Add(time.Duration(w.rnd.Int64N(int64(40 * 24 * time.Hour))))
}

func (w *funnelWorld) pick(xs ...string) string { return xs[w.rnd.IntN(len(xs))] }

// response stores a response posted at at and, when lead is set, makes it
// into that lead: half as capture and the worker do (insert, then process),
// half inserted with its lead (an import).
func (w *funnelWorld) response(lead *uuid.UUID, at time.Time) uuid.UUID {
	w.t.Helper()
	ctx := context.Background()
	id := store.NewID()
	form := w.forms[w.rnd.IntN(len(w.forms))]
	verdict := w.pick("ok", "ok", "ok", "spam")
	if lead != nil && w.rnd.IntN(2) == 0 {
		w.exec(`INSERT INTO responses (id, workspace_id, form_id, received_at, raw, fields, verdict, status, lead_id)
			VALUES ($1, $2, $3, $4, '{}', '{}', $5, 'processed', $6)`, id, w.ws, form, at, verdict, *lead)
		return id
	}
	if err := w.st.InsertResponses(ctx, []store.Response{{ID: id, WorkspaceID: w.ws, FormID: form, ReceivedAt: at,
		Fields: []byte(`{}`), Verdict: verdict}}, nil); err != nil {
		w.t.Fatal(err)
	}
	if lead != nil {
		if _, err := w.st.MarkResponseProcessed(ctx, w.ws, id, *lead, "lead_created", at); err != nil {
			w.t.Fatal(err)
		}
	}
	return id
}

// moved records that lead reached status at at, as the history trigger
// would have.
func (w *funnelWorld) moved(lead uuid.UUID, status string, at time.Time) {
	w.t.Helper()
	w.exec(`INSERT INTO lead_status_history (workspace_id, lead_id, from_status, to_status, at)
		VALUES ($1, $2, 'x', $3, $4)`, w.ws, lead, status, at)
}

func (w *funnelWorld) opportunity(lead uuid.UUID, at time.Time) {
	w.t.Helper()
	ctx := context.Background()
	a, err := w.st.InsertAccount(ctx, store.Account{WorkspaceID: w.ws, Name: "Co " + lead.String()})
	if err != nil {
		w.t.Fatal(err)
	}
	c, _, err := w.st.EnsureContact(ctx, store.Contact{WorkspaceID: w.ws, AccountID: &a.ID})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.st.InsertOpportunity(ctx, store.Opportunity{WorkspaceID: w.ws, AccountID: a.ID, ContactID: c.ID,
		LeadID: lead, Name: "Deal", Stage: store.StageQualification, CreatedAt: at}); err != nil {
		w.t.Fatal(err)
	}
}

// build makes n leads with their histories, then merges, moves and
// corrections among them.
func (w *funnelWorld) build(n int) {
	w.t.Helper()
	ctx := context.Background()
	stages := []string{store.LeadNurturing, store.LeadMarketingQualified, store.LeadSalesAccepted, store.LeadConverted}
	for i := range n {
		created := w.at()
		l, err := w.st.InsertLead(ctx, store.Lead{WorkspaceID: w.ws, Status: store.LeadNew, CreatedAt: created,
			LeadSource: w.pick("web", "ads", "event", ""), Campaign: w.pick("", "spring", "launch")})
		if err != nil {
			w.t.Fatal(err)
		}
		w.leads = append(w.leads, l.ID)
		// Most leads come from a response a little before; some have
		// several, a few none, a few a response posted after the lead.
		responses := w.rnd.IntN(3)
		if i%7 != 0 {
			responses++
		}
		for range responses {
			at := created.Add(-time.Duration(w.rnd.IntN(600)) * time.Second)
			if w.rnd.IntN(5) == 0 {
				at = w.after(created)
			}
			w.response(&l.ID, at)
		}
		// The path: how far the lead goes, each stage after the one before.
		t := created
		reached := w.rnd.IntN(len(stages) + 1)
		for s := range reached {
			t = w.after(t)
			w.moved(l.ID, stages[s], t)
			if s == 2 && w.rnd.IntN(2) == 0 {
				w.opportunity(l.ID, w.after(t))
			}
		}
		// Recycled or moved back and forth: stages reached again later,
		// some at the very time of an earlier arrival.
		for range w.rnd.IntN(4) {
			if w.rnd.IntN(3) == 0 {
				t = w.after(t)
				w.moved(l.ID, w.pick(store.LeadRecycled, store.LeadDisqualified, store.LeadContacted), t)
			}
			t = w.after(t)
			if w.rnd.IntN(6) == 0 {
				t = created
			}
			w.moved(l.ID, stages[w.rnd.IntN(len(stages))], t)
		}
		// A few stage moves go through the leads table and its trigger,
		// at the real now.
		if i%11 == 0 {
			if _, err := w.st.MoveLeadToStatus(ctx, w.ws, l.ID, w.pick(stages...), "", time.Time{}); err != nil {
				w.t.Fatal(err)
			}
		}
	}
	// Responses that are nobody's lead.
	for range n / 10 {
		w.response(nil, w.at())
	}
	// Merges: the retired lead's responses move to the survivor, whose
	// first response may then be an earlier one.
	for i := 0; i+1 < len(w.leads); i += 9 {
		from, into := w.leads[i], w.leads[i+1]
		if _, err := w.st.MarkLeadMerged(ctx, w.ws, from, into, time.Time{}); err != nil {
			w.t.Fatal(err)
		}
		if _, err := w.st.MoveResponses(ctx, w.ws, from, into); err != nil {
			w.t.Fatal(err)
		}
	}
	// A merge undone.
	w.exec(`UPDATE leads SET merged_into = NULL WHERE id = $1`, w.leads[0])
	// A lead's attribution changed by a later submission.
	for i := 2; i < len(w.leads); i += 13 {
		l, err := w.st.LockLead(ctx, w.ws, w.leads[i])
		if err != nil {
			w.t.Fatal(err)
		}
		l.LeadSource, l.Campaign = w.pick("partner", "web"), w.pick("autumn", "")
		if _, err := w.st.UpdateLeadProfile(ctx, l); err != nil {
			w.t.Fatal(err)
		}
	}
	// Rarer writes: each lead's first response moved to another lead or
	// given another time; history corrected or deleted; opportunities
	// re-dated or deleted; a lead re-dated.
	w.exec(`UPDATE responses r SET lead_id = $2 FROM (
			SELECT DISTINCT ON (lead_id) id FROM responses WHERE workspace_id = $1 AND lead_id = ANY ($3)
			ORDER BY lead_id, received_at, id) f
		WHERE r.id = f.id`, w.ws, w.leads[5], w.leads[20:30])
	w.exec(`UPDATE responses SET received_at = received_at + interval '20 days'
		WHERE workspace_id = $1 AND lead_id = ANY ($2)`, w.ws, w.leads[30:40])
	w.exec(`UPDATE lead_status_history SET at = at - interval '300 days'
		WHERE workspace_id = $1 AND lead_id = ANY ($2) AND to_status = 'nurturing'`, w.ws, w.leads[40:50])
	w.exec(`DELETE FROM lead_status_history WHERE workspace_id = $1 AND lead_id = ANY ($2) AND to_status = 'marketing_qualified'`,
		w.ws, w.leads[50:60])
	w.exec(`UPDATE opportunities SET created_at = created_at + interval '90 days' WHERE workspace_id = $1 AND lead_id = ANY ($2)`,
		w.ws, w.leads[60:90])
	w.exec(`DELETE FROM opportunities WHERE workspace_id = $1 AND lead_id = ANY ($2)`, w.ws, w.leads[90:120])
	w.exec(`UPDATE leads SET created_at = created_at - interval '45 days' WHERE workspace_id = $1 AND id = ANY ($2)`,
		w.ws, w.leads[120:130])
}

// leadFunnelSourceColumns are lead_funnel's columns that the view
// lead_funnel_source computes; the others are generated from them.
const leadFunnelSourceColumns = `lead_id, workspace_id, merged, lead_source, campaign, created_at,
	response_id, response_at, form_id, nurturing_at, marketing_qualified_at, sales_accepted_at, converted_at,
	nurturing_times, marketing_qualified_times, sales_accepted_times, converted_times, opportunity_at, first_at, last_at`

// The report read from the stage table gives row for row what it gave from
// the whole history, and its response counts what they were, over every
// grouping and many ranges: open and closed, one day to all time, ranges
// that hold no event, empty and reversed ones.
func TestFunnelStagesMatchHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.NewStore(t)
	w := newFunnelWorld(t, st, 1)
	w.build(400)
	// Another workspace's leads are not this one's.
	other := newFunnelWorld(t, st, 2)
	other.build(150)

	// The triggers kept each lead's row as the source tables give it.
	for _, ws := range []uuid.UUID{w.ws, other.ws} {
		var missing, extra, total int
		if err := st.Pool.QueryRow(ctx, `
			SELECT (SELECT count(*) FROM (SELECT * FROM lead_funnel_source WHERE workspace_id = $1
					EXCEPT SELECT `+leadFunnelSourceColumns+` FROM lead_funnel WHERE workspace_id = $1) d),
				(SELECT count(*) FROM (SELECT `+leadFunnelSourceColumns+` FROM lead_funnel WHERE workspace_id = $1
					EXCEPT SELECT * FROM lead_funnel_source WHERE workspace_id = $1) d),
				(SELECT count(*) FROM lead_funnel WHERE workspace_id = $1)`, ws).Scan(&missing, &extra, &total); err != nil {
			t.Fatal(err)
		}
		if missing != 0 || extra != 0 || total == 0 {
			t.Errorf("lead_funnel of workspace %s: %d rows differ from the source, %d extra, %d in all", ws, missing, extra, total)
		}
	}
	// Some leads reached a stage more than once.
	var repeated int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM lead_funnel WHERE workspace_id = $1
		AND (nurturing_times IS NOT NULL OR marketing_qualified_times IS NOT NULL OR converted_times IS NOT NULL)`, w.ws).Scan(&repeated); err != nil {
		t.Fatal(err)
	}
	if repeated < 20 {
		t.Fatalf("only %d leads reached a stage twice", repeated)
	}

	type span struct{ from, to time.Time }
	spans := []span{
		{w.start.AddDate(-1, 0, 0), w.start.AddDate(3, 0, 0)}, // all time
		{w.start, w.start.AddDate(2, 0, 0)},
		{w.start.AddDate(1, 6, 0), w.start.AddDate(1, 9, 0)},
		{w.start.AddDate(0, 3, 0), w.start.AddDate(0, 3, 1)},
		{w.start.AddDate(-1, 0, 0), w.start},                 // before anything
		{w.start.AddDate(1, 0, 0), w.start.AddDate(1, 0, 0)}, // empty
		{w.start.AddDate(1, 1, 0), w.start.AddDate(1, 0, 0)}, // reversed
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)},
	}
	for range 12 {
		from := w.at()
		spans = append(spans, span{from, from.Add(time.Duration(w.rnd.Int64N(int64(200 * 24 * time.Hour))))})
	}
	// Bounds on an event's very time: at the start it is in, at the end out.
	var edge time.Time
	if err := st.Pool.QueryRow(ctx, `SELECT at FROM lead_status_history WHERE workspace_id = $1 AND to_status = 'nurturing'
		ORDER BY at LIMIT 1 OFFSET 20`, w.ws).Scan(&edge); err != nil {
		t.Fatal(err)
	}
	spans = append(spans, span{edge, edge.AddDate(0, 1, 0)}, span{edge.AddDate(0, -1, 0), edge})
	nonEmpty := 0
	for _, s := range spans {
		for _, by := range []string{store.FunnelBySource, store.FunnelByCampaign, store.FunnelByForm} {
			want := funnelFromHistory(t, st, w.ws, s.from, s.to, by)
			got, err := st.FunnelLeads(ctx, w.ws, s.from, s.to, by)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("funnel by %s from %s to %s (-history +stages):\n%s", by, s.from, s.to, diff)
			}
			if len(want) > 1 {
				nonEmpty++
			}
			wantResponses := funnelResponsesByGroupingSets(t, st, w.ws, s.from, s.to, by)
			gotResponses, err := st.FunnelResponses(ctx, w.ws, s.from, s.to, by)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantResponses, gotResponses); diff != "" {
				t.Errorf("responses by %s from %s to %s (-grouping sets +report):\n%s", by, s.from, s.to, diff)
			}
		}
	}
	// The comparison means something only if the ranges held leads.
	if nonEmpty < 3*(len(spans)-3) {
		t.Fatalf("only %d of %d reports counted any lead", nonEmpty, 3*len(spans))
	}
}

// BenchmarkFunnelWrites times the writes the funnel's stage table follows,
// one lead's life per op: capture's insert of a response, the worker's lead
// and processed response, two stage moves, an opportunity.
//
//	go test -run '^$' -bench FunnelWrites -benchtime 2000x ./store/
func BenchmarkFunnelWrites(b *testing.B) {
	ctx := context.Background()
	st := storetest.NewStore(b)
	ws, err := st.EnsureWorkspace(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	form := store.NewID()
	if _, err := st.Pool.Exec(ctx, `INSERT INTO forms (id, workspace_id, key, name, kind) VALUES ($1, $2, 'benchform', 'F', 'contact_us')`,
		form, ws.ID); err != nil {
		b.Fatal(err)
	}
	a, err := st.InsertAccount(ctx, store.Account{WorkspaceID: ws.ID, Name: "Co"})
	if err != nil {
		b.Fatal(err)
	}
	c, _, err := st.EnsureContact(ctx, store.Contact{WorkspaceID: ws.ID, AccountID: &a.ID})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	var capture, worker time.Duration
	b.ResetTimer()
	for i := range b.N {
		r := store.Response{ID: store.NewID(), WorkspaceID: ws.ID, FormID: form, ReceivedAt: now, Fields: []byte(`{}`)}
		t0 := time.Now()
		if err := st.InsertResponses(ctx, []store.Response{r}, nil); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		capture += t1.Sub(t0)
		l, err := st.InsertLead(ctx, store.Lead{WorkspaceID: ws.ID, Status: store.LeadNew, CreatedAt: now, LeadSource: "web"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.MarkResponseProcessed(ctx, ws.ID, r.ID, l.ID, "lead_created", now); err != nil {
			b.Fatal(err)
		}
		for _, s := range []string{store.LeadNurturing, store.LeadMarketingQualified} {
			if _, err := st.MoveLeadToStatus(ctx, ws.ID, l.ID, s, "", now); err != nil {
				b.Fatal(err)
			}
		}
		if i%10 == 0 {
			if _, err := st.InsertOpportunity(ctx, store.Opportunity{WorkspaceID: ws.ID, AccountID: a.ID, ContactID: c.ID,
				LeadID: l.ID, Name: "Deal", Stage: store.StageQualification, CreatedAt: now}); err != nil {
				b.Fatal(err)
			}
		}
		worker += time.Since(t1)
	}
	b.ReportMetric(float64(capture.Microseconds())/float64(b.N), "capture-µs/op")
	b.ReportMetric(float64(worker.Microseconds())/float64(b.N), "worker-µs/op")
}
