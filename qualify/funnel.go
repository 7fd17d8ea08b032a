package qualify

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"leadflow/store"
)

// Funnel stages, in order.
const (
	FunnelResponses          = "responses"
	FunnelLeads              = "leads"
	FunnelNurturing          = "nurturing"
	FunnelMarketingQualified = "marketing_qualified"
	FunnelSalesAccepted      = "sales_accepted"
	FunnelOpportunities      = "opportunities"
	FunnelConverted          = "converted"
)

// FunnelStages are the funnel's stages, in order.
var FunnelStages = []string{
	FunnelResponses, FunnelLeads, FunnelNurturing, FunnelMarketingQualified,
	FunnelSalesAccepted, FunnelOpportunities, FunnelConverted,
}

// FunnelGroupings are what a funnel can be grouped by.
var FunnelGroupings = []string{store.FunnelBySource, store.FunnelByCampaign, store.FunnelByForm}

// FunnelQuery asks for the funnel of [From, To) grouped By.
type FunnelQuery struct {
	From, To time.Time
	By       string
}

// FunnelReport is the funnel of a time range: per group and in total, how
// many reached each stage. Forecast is apart from the funnel: it sums
// opportunities only, so responses and leads are never in it.
//
// OpportunitiesFromScratch counts the opportunities sales made in the range
// with no lead behind them. They are no stage of the funnel (no response or
// lead came before them) and belong to no group (a lead source, a campaign
// or a form means nothing to them), so they are counted apart, once.
type FunnelReport struct {
	From                     time.Time      `json:"from"`
	To                       time.Time      `json:"to"`
	By                       string         `json:"by"`
	Total                    FunnelGroup    `json:"total"`
	Groups                   []FunnelGroup  `json:"groups"`
	Forecast                 store.Forecast `json:"forecast"`
	OpportunitiesFromScratch int64          `json:"opportunities_from_scratch"`
}

// FunnelGroup is one group's stages: a lead source, a campaign or a form
// (by its ID, with its name). The key "" gathers what has none.
type FunnelGroup struct {
	Key    string        `json:"key"`
	Name   string        `json:"name,omitempty"`
	Stages []FunnelStage `json:"stages"`
}

// FunnelStage is how many reached a stage in the range (responses received,
// leads created, leads moved to the status, opportunities opened; a lead
// counts once per stage), the conversion rate from the stage before (nil
// for the first stage or when the one before counted none) and the median
// seconds leads took from first reaching the stage before (nil when none
// reached both).
type FunnelStage struct {
	Stage          string   `json:"stage"`
	Count          int64    `json:"count"`
	ConversionRate *float64 `json:"conversion_rate"`
	MedianSeconds  *float64 `json:"median_seconds"`
}

// Funnel reports the workspace's funnel.
func (e *Engine) Funnel(ctx context.Context, workspaceID uuid.UUID, fq FunnelQuery) (FunnelReport, error) {
	bad := map[string]string{}
	if !slices.Contains(FunnelGroupings, fq.By) {
		bad["by"] = "must be one of source, campaign, form"
	}
	if !fq.From.Before(fq.To) {
		bad["from"] = "must be before to"
	}
	if len(bad) > 0 {
		return FunnelReport{}, &ValidationError{Fields: bad}
	}
	// The responses' counts and the leads' stages read different tables and
	// take the longest; they run at once, each on connections of its own.
	var (
		responses   []store.FunnelResponseRow
		leads       []store.FunnelLeadRow
		fromScratch int64
		forecast    store.Forecast
		formNames   map[uuid.UUID]string
	)
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() (err error) {
		responses, err = e.cfg.Store.FunnelResponses(ectx, workspaceID, fq.From, fq.To, fq.By)
		return err
	})
	eg.Go(func() (err error) {
		leads, err = e.cfg.Store.FunnelLeads(ectx, workspaceID, fq.From, fq.To, fq.By)
		return err
	})
	eg.Go(func() (err error) {
		if fromScratch, err = e.cfg.Store.FunnelOpportunitiesFromScratch(ectx, workspaceID, fq.From, fq.To); err != nil {
			return err
		}
		if forecast, err = e.cfg.Store.FunnelForecast(ectx, workspaceID); err != nil {
			return err
		}
		if fq.By == store.FunnelByForm {
			formNames, err = e.cfg.Store.FormNames(ectx, workspaceID)
		}
		return err
	})
	if err := eg.Wait(); err != nil {
		return FunnelReport{}, fmt.Errorf("funnel: %w", err)
	}

	type key struct {
		group string
		total bool
	}
	counts := map[key]*store.FunnelLeadRow{}
	resp := map[key]int64{}
	var keys []string
	seen := map[string]bool{}
	note := func(k key) {
		if !k.total && !seen[k.group] {
			seen[k.group] = true
			keys = append(keys, k.group)
		}
	}
	for _, r := range responses {
		k := key{r.Group, r.Total}
		resp[k] = r.Responses
		note(k)
	}
	for i := range leads {
		k := key{leads[i].Group, leads[i].Total}
		counts[k] = &leads[i]
		note(k)
	}
	slices.Sort(keys)

	group := func(k key) FunnelGroup {
		row := counts[k]
		if row == nil {
			row = &store.FunnelLeadRow{}
		}
		g := FunnelGroup{Key: k.group, Stages: funnelStages(resp[k], *row)}
		if fq.By == store.FunnelByForm && !k.total {
			if id, err := uuid.Parse(k.group); err == nil {
				g.Name = formNames[id]
			}
		}
		return g
	}
	report := FunnelReport{
		From: fq.From, To: fq.To, By: fq.By,
		Total:                    group(key{total: true}),
		Groups:                   make([]FunnelGroup, 0, len(keys)),
		OpportunitiesFromScratch: fromScratch,
		Forecast:                 forecast,
	}
	for _, k := range keys {
		report.Groups = append(report.Groups, group(key{group: k}))
	}
	return report, nil
}

// funnelStages lays a group's counts and medians out as stages with their
// conversion rates.
func funnelStages(responses int64, r store.FunnelLeadRow) []FunnelStage {
	stages := []FunnelStage{
		{Stage: FunnelResponses, Count: responses},
		{Stage: FunnelLeads, Count: r.Leads, MedianSeconds: r.LeadsMedian},
		{Stage: FunnelNurturing, Count: r.Nurturing, MedianSeconds: r.NurturingMedian},
		{Stage: FunnelMarketingQualified, Count: r.MarketingQualified, MedianSeconds: r.MarketingQualifiedMedian},
		{Stage: FunnelSalesAccepted, Count: r.SalesAccepted, MedianSeconds: r.SalesAcceptedMedian},
		{Stage: FunnelOpportunities, Count: r.Opportunities, MedianSeconds: r.OpportunitiesMedian},
		{Stage: FunnelConverted, Count: r.Converted, MedianSeconds: r.ConvertedMedian},
	}
	for i := 1; i < len(stages); i++ {
		if prev := stages[i-1].Count; prev > 0 {
			rate := math.Round(float64(stages[i].Count)/float64(prev)*10000) / 10000
			stages[i].ConversionRate = &rate
		}
	}
	return stages
}
