package store_test

import (
	"context"
	"testing"
	"time"

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
}

// funnelReport runs the queries GET /reports/funnel runs.
func funnelReport(b *testing.B, d bigData, from, to time.Time, by string) {
	ctx := context.Background()
	if _, err := d.st.FunnelResponses(ctx, d.ws, from, to, by); err != nil {
		b.Fatal(err)
	}
	rows, err := d.st.FunnelLeads(ctx, d.ws, from, to, by)
	if err != nil {
		b.Fatal(err)
	}
	if len(rows) == 0 || rows[len(rows)-1].Leads == 0 {
		b.Fatalf("funnel of %s to %s counted no leads: %+v", from, to, rows)
	}
	if _, err := d.st.FunnelForecast(ctx, d.ws); err != nil {
		b.Fatal(err)
	}
	if by == store.FunnelByForm {
		if _, err := d.st.FormNames(ctx, d.ws); err != nil {
			b.Fatal(err)
		}
	}
}
