package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"leadflow/store"
)

// BenchmarkMillionLeads loads a workspace of 1,000,000 leads once (see
// loadBig: a few minutes) and then times the funnel report's queries over
// ranges of one month to the whole two years, and explains every hot query
// there, failing as TestHotQueriesUseIndexes does:
//
//	go test -run '^$' -bench MillionLeads -benchtime 3x ./store/
func BenchmarkMillionLeads(b *testing.B) {
	d := loadBig(b, 1_000_000)
	b.Run("plans", func(b *testing.B) {
		var plans []queryPlan
		for range b.N {
			plans = explainHot(b, d)
		}
		for _, p := range plans {
			b.Logf("%s", p)
		}
	})
	b.Run("explain/730d", func(b *testing.B) {
		for range b.N {
			explainFunnel(b, d, bigNow.AddDate(0, 0, -730), bigNow)
		}
	})
	for _, r := range []struct {
		name string
		days int
		by   string
	}{
		{"funnel/30d", 30, store.FunnelBySource},
		{"funnel/90d", 90, store.FunnelBySource},
		{"funnel/90d_by_form", 90, store.FunnelByForm},
		{"funnel/365d", 365, store.FunnelBySource},
		{"funnel/730d", 730, store.FunnelBySource},
	} {
		b.Run(r.name, func(b *testing.B) {
			from := bigNow.AddDate(0, 0, -r.days)
			for range b.N {
				funnelReport(b, d, from, bigNow, r.by)
			}
		})
	}
	// The longest ranges again with every statement one after the other
	// (in one transaction), to tell what running them at once gains from
	// what the machine's load gives or takes.
	for _, days := range []int{365, 730} {
		b.Run(fmt.Sprintf("funnel_serial/%dd", days), func(b *testing.B) {
			from := bigNow.AddDate(0, 0, -days)
			for range b.N {
				ctx := context.Background()
				err := d.st.InTx(ctx, func(q *store.Queries) error {
					if _, err := q.FunnelResponses(ctx, d.ws, from, bigNow, store.FunnelBySource); err != nil {
						return err
					}
					if _, err := q.FunnelLeads(ctx, d.ws, from, bigNow, store.FunnelBySource); err != nil {
						return err
					}
					if _, err := q.FunnelOpportunitiesFromScratch(ctx, d.ws, from, bigNow); err != nil {
						return err
					}
					_, err := q.FunnelForecast(ctx, d.ws)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// funnelReport runs the queries GET /reports/funnel runs, as it runs them:
// the response counts, the lead stages and the rest at the same time.
func funnelReport(b *testing.B, d bigData, from, to time.Time, by string) {
	eg, ctx := errgroup.WithContext(context.Background())
	eg.Go(func() error {
		_, err := d.st.FunnelResponses(ctx, d.ws, from, to, by)
		return err
	})
	var rows []store.FunnelLeadRow
	eg.Go(func() (err error) {
		rows, err = d.st.FunnelLeads(ctx, d.ws, from, to, by)
		return err
	})
	eg.Go(func() error {
		if _, err := d.st.FunnelOpportunitiesFromScratch(ctx, d.ws, from, to); err != nil {
			return err
		}
		if _, err := d.st.FunnelForecast(ctx, d.ws); err != nil {
			return err
		}
		if by == store.FunnelByForm {
			_, err := d.st.FormNames(ctx, d.ws)
			return err
		}
		return nil
	})
	if err := eg.Wait(); err != nil {
		b.Fatal(err)
	}
	if len(rows) == 0 || rows[len(rows)-1].Leads == 0 {
		b.Fatalf("funnel of %s to %s counted no leads: %+v", from, to, rows)
	}
}

// explainFunnel logs EXPLAIN ANALYZE of the report's two long statements
// over [from, to) grouped by source: the response counts and the lead
// stages.
func explainFunnel(b *testing.B, d bigData, from, to time.Time) {
	ctx := context.Background()
	for name, call := range map[string]func(q *store.Queries){
		"FunnelResponses": func(q *store.Queries) { q.FunnelResponses(ctx, d.ws, from, to, store.FunnelBySource) },
		"FunnelLeads":     func(q *store.Queries) { q.FunnelLeads(ctx, d.ws, from, to, store.FunnelBySource) },
	} {
		var c capturer
		call(store.QueriesOn(&c))
		var plan strings.Builder
		err := pgx.BeginFunc(ctx, d.st.Pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL jit = off; SET LOCAL work_mem = '64MB'`); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+c.sql, c.args...)
			if err != nil {
				return err
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			for _, l := range lines {
				plan.WriteString(l + "\n")
			}
			return err
		})
		if err != nil {
			b.Fatalf("explain %s: %v", name, err)
		}
		b.Logf("%s from %s to %s:\n%s", name, from, to, plan.String())
	}
}
