package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"leadflow/store"
)

// funnelSources are the tables lead_funnel is kept from: the report reads
// lead_funnel instead, and never these.
var funnelSources = []string{"leads", "lead_status_history", "opportunities"}

// The funnel report, over every range it offers and every grouping, reads
// lead_funnel and the responses' index, never the tables lead_funnel is
// kept from; up to a quarter it reads no big table end to end. A year or
// two holds most leads, and reading lead_funnel whole is then its cheapest
// plan.
func TestFunnelReportPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := loadBig(t, smallLeads)
	for _, days := range []int{30, 90, 365, 730} {
		for _, by := range []string{store.FunnelBySource, store.FunnelByCampaign, store.FunnelByForm} {
			from := bigNow.AddDate(0, 0, -days)
			for _, call := range []struct {
				name string
				run  func(q *store.Queries)
			}{
				{"FunnelLeads", func(q *store.Queries) { q.FunnelLeads(ctx, d.ws, from, bigNow, by) }},
				{"FunnelResponses", func(q *store.Queries) { q.FunnelResponses(ctx, d.ws, from, bigNow, by) }},
			} {
				name := fmt.Sprintf("%s %dd by %s", call.name, days, by)
				var c capturer
				call.run(store.QueriesOn(&c))
				if c.sql == "" {
					t.Fatalf("%s: sent no query", name)
				}
				p, err := explain(ctx, d.st.Pool, c.sql, c.args)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				p.query.name = name
				t.Logf("%s", p)
				for _, s := range p.scans {
					for _, tbl := range bigTables {
						read := strings.Contains(s, " on "+tbl+" ")
						if read && slices.Contains(funnelSources, tbl) {
							t.Errorf("%s reads %s, which lead_funnel is kept from, at %s: %s", name, tbl, d, p)
						}
						if read && days <= 90 && strings.Contains(s, "Seq Scan on ") {
							t.Errorf("%s reads all of %s at %s: %s", name, tbl, d, p)
						}
					}
				}
			}
		}
	}
}
