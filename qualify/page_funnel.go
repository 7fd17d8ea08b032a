package qualify

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/console"
	"leadflow/embed/httpapi"
	"leadflow/store"
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
	// Action is the page the period form asks again (the funnel page or
	// the home); Heading names the period's card there.
	Action, Heading string
	From, To, By    string
	Groupings       []string
	Errors          map[string]string
	Chart           string
	Bars            []funnelBar
	Height          int
	Stages          []string
	Groups          []funnelGroupRow
	More            int
	TotalLink       string
	AtTotal         bool
	Forecast        Forecast
	// FromScratch counts the period's opportunities made by sales, not
	// from leads: no stage or group counts them.
	FromScratch int64
}

// funnel draws the funnel of a period as bars: the report GET
// /reports/funnel answers, for the total or one group.
func (p *adminPages) funnel(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	v, err := p.funnelReport(ec, pr.WorkspaceID, "/console/funnel", "Period")
	if err != nil {
		return fmt.Errorf("funnel page: %w", err)
	}
	return p.con.Render(ec, funnelStatus(v), p.tmpl["funnel"], "Funnel", v)
}

// funnelStatus is 422 when the period asked does not read, else 200.
func funnelStatus(v funnelView) int {
	if v.Errors != nil {
		return http.StatusUnprocessableEntity
	}
	return http.StatusOK
}

// funnelReport is the funnel of the period ec's query asks for (the last
// 30 days by source when it asks none), laid out for the page at action.
// A period that does not read comes back with its Errors, and no error.
func (p *adminPages) funnelReport(ec echo.Context, workspaceID uuid.UUID, action, heading string) (funnelView, error) {
	q := ec.QueryParams()
	v := funnelView{Action: action, Heading: heading, From: q.Get("from"), To: q.Get("to"), By: q.Get("by"), Groupings: FunnelGroupings}
	for _, s := range FunnelStages {
		v.Stages = append(v.Stages, funnelStageLabels[s])
	}
	fq, err := ReadFunnelQuery(v.From, v.To, v.By, p.engine.now())
	var r FunnelReport
	if err == nil {
		r, err = p.engine.Funnel(ec.Request().Context(), workspaceID, fq)
	}
	if v.Errors = fieldErrors(err); v.Errors != nil {
		return v, nil
	}
	if err != nil {
		return v, err
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
		return action + "?" + u.Encode()
	}
	v.TotalLink, v.Forecast, v.FromScratch = link(nil), newForecast(r.Forecast), r.OpportunitiesFromScratch
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
	return v, nil
}

// maxIntakeForms bounds the forms today's intake lists, busiest first.
const maxIntakeForms = 20

type homeView struct {
	console.Welcome
	// Intake is today's responses by form, since Since (midnight in Zone).
	Intake []store.IntakeByForm
	Since  time.Time
	Zone   string
	// ZoneSet is false when the workspace names no time zone (or one this
	// system does not know), and today is UTC's.
	ZoneSet bool
	Admin   bool
	Funnel  funnelView
}

// home is marketing's (and the admin's) home page: today's intake by form,
// since midnight in the workspace's time zone, and the funnel of a period
// drawn as on the funnel page.
func (p *adminPages) home(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	ctx := ec.Request().Context()
	ws, err := p.store.GetWorkspace(ctx, pr.WorkspaceID)
	if err != nil {
		return fmt.Errorf("home page: %w", err)
	}
	loc, zoneSet := ws.Zone()
	me, _ := console.SignedIn(ec)
	v := homeView{Welcome: console.WelcomeOf(ec), Since: ws.DayStart(p.engine.now()),
		Zone: loc.String(), ZoneSet: zoneSet, Admin: me.Role == store.UserAdmin}
	if v.Intake, err = p.store.IntakeSince(ctx, pr.WorkspaceID, v.Since, maxIntakeForms); err != nil {
		return fmt.Errorf("home page: %w", err)
	}
	if v.Funnel, err = p.funnelReport(ec, pr.WorkspaceID, "/console/", "Funnel"); err != nil {
		return fmt.Errorf("home page: %w", err)
	}
	return p.con.Render(ec, funnelStatus(v.Funnel), p.tmpl["home"], "Home", v)
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
