package qualify

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
)

// funnelStageLabels are the stages as people read them.
var funnelStageLabels = map[string]string{
	FunnelResponses: "Responses", FunnelLeads: "Leads", FunnelNurturing: "Nurturing",
	FunnelMarketingQualified: "Marketing-qualified", FunnelSalesAccepted: "Sales-accepted",
	FunnelOpportunities: "Opportunities", FunnelConverted: "Converted",
}

// maxFunnelGroups is how many groups the funnel page lists; the chart
// shows one group (or the total) at a time.
const maxFunnelGroups = 100

// The chart's geometry, in SVG user units.
const (
	chartLabelWidth = 170
	chartBarWidth   = 320
	chartRowHeight  = 56
)

type funnelBar struct {
	Label            string
	Count            int64
	Y, BarY, TextY   int
	Width, CountX    int
	Rate, Median     string
	HasRate, HasTime bool
}

type funnelGroupRow struct {
	Name, Link string
	Counts     []int64
	Current    bool
}

type funnelView struct {
	From, To, By string
	Groupings    []string
	Errors       map[string]string
	Chart        string
	Bars         []funnelBar
	Height       int
	Stages       []string
	Groups       []funnelGroupRow
	More         int
	TotalLink    string
	AtTotal      bool
	Forecast     Forecast
}

// funnel draws the funnel of a period as bars: the report GET
// /reports/funnel answers, for the total or one group.
func (p *adminPages) funnel(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	q := ec.QueryParams()
	v := funnelView{From: q.Get("from"), To: q.Get("to"), By: q.Get("by"), Groupings: FunnelGroupings}
	for _, s := range FunnelStages {
		v.Stages = append(v.Stages, funnelStageLabels[s])
	}
	fq, err := ReadFunnelQuery(v.From, v.To, v.By, p.engine.now())
	var r FunnelReport
	if err == nil {
		r, err = p.engine.Funnel(ec.Request().Context(), pr.WorkspaceID, fq)
	}
	if v.Errors = fieldErrors(err); v.Errors != nil {
		return p.con.Render(ec, http.StatusUnprocessableEntity, p.tmpl["funnel"], "Funnel", v)
	}
	if err != nil {
		return fmt.Errorf("funnel page: %w", err)
	}
	if v.From == "" {
		v.From = fq.From.Format(time.DateOnly)
	}
	if v.To == "" {
		v.To = fq.To.Format(time.DateOnly)
	}
	v.By = fq.By
	link := func(group *string) string {
		u := url.Values{"from": {v.From}, "to": {v.To}, "by": {v.By}}
		if group != nil {
			u.Set("group", *group)
		}
		return "/console/funnel?" + u.Encode()
	}
	v.TotalLink, v.Forecast = link(nil), newForecast(r.Forecast)
	shown, chosen := r.Total, q.Has("group")
	v.Chart, v.AtTotal = "All "+fq.By+"s", !chosen
	for i, g := range r.Groups {
		name := groupName(g)
		if chosen && g.Key == q.Get("group") {
			shown, v.Chart = g, name
		}
		if i >= maxFunnelGroups {
			v.More++
			continue
		}
		row := funnelGroupRow{Name: name, Link: link(&g.Key), Current: chosen && g.Key == q.Get("group")}
		for _, s := range g.Stages {
			row.Counts = append(row.Counts, s.Count)
		}
		v.Groups = append(v.Groups, row)
	}
	v.Bars, v.Height = funnelBars(shown.Stages)
	return p.con.Render(ec, http.StatusOK, p.tmpl["funnel"], "Funnel", v)
}

func groupName(g FunnelGroup) string {
	switch {
	case g.Name != "":
		return g.Name
	case g.Key == "":
		return "(none)"
	}
	return g.Key
}

// funnelBars lays the stages out as horizontal bars scaled to the largest
// count, each with its rate and median time from the stage before.
func funnelBars(stages []FunnelStage) ([]funnelBar, int) {
	var top int64 = 1
	for _, s := range stages {
		top = max(top, s.Count)
	}
	bars := make([]funnelBar, len(stages))
	for i, s := range stages {
		y := i * chartRowHeight
		w := int(math.Round(float64(s.Count) / float64(top) * chartBarWidth))
		if s.Count > 0 {
			w = max(w, 2)
		}
		b := funnelBar{Label: funnelStageLabels[s.Stage], Count: s.Count, Y: y + 12, BarY: y + 20, TextY: y + 37,
			Width: w, CountX: chartLabelWidth + w + 8}
		if s.ConversionRate != nil {
			b.HasRate, b.Rate = true, fmt.Sprintf("%.1f%%", *s.ConversionRate*100)
		}
		if s.MedianSeconds != nil {
			b.HasTime, b.Median = true, formatSeconds(*s.MedianSeconds)
		}
		bars[i] = b
	}
	return bars, len(stages)*chartRowHeight + 8
}

// formatSeconds shows a duration in its two largest units.
func formatSeconds(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Second)
	days, hours, mins := int(d.Hours())/24, int(d.Hours())%24, int(d.Minutes())%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%dm %ds", mins, int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}
