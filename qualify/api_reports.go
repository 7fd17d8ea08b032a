package qualify

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// defaultFunnelRange is the funnel's range when from is not given.
const defaultFunnelRange = 30 * 24 * time.Hour

// The bounds a report may reach: leadflow keeps nothing from before 1970,
// and a time past the year 9999 cannot be written back in the report's
// JSON, nor stored by every database type.
var (
	minReportTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxReportTime = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// reportTimeHint is what a bad report bound is told.
const reportTimeHint = "must be a date (YYYY-MM-DD) or an RFC 3339 time from 1970-01-01 to 2999-12-31"

// Forecast is how the API shows a store.Forecast.
type Forecast struct {
	Opportunities int64  `json:"opportunities"`
	Amount        string `json:"amount"`
}

func newForecast(r store.Forecast) Forecast {
	return Forecast{
		Opportunities: r.Opportunities,
		Amount:        r.Amount,
	}
}

// apiFunnelReport is the funnel as the API shows it (see FunnelReport).
type apiFunnelReport struct {
	From     time.Time     `json:"from"`
	To       time.Time     `json:"to"`
	By       string        `json:"by"`
	Total    FunnelGroup   `json:"total"`
	Groups   []FunnelGroup `json:"groups"`
	Forecast Forecast      `json:"forecast"`
	// OpportunitiesFromScratch counts the opportunities sales made in the
	// period with no lead behind them: no stage or group counts them.
	OpportunitiesFromScratch int64 `json:"opportunities_from_scratch"`
}

func newAPIFunnelReport(r FunnelReport) apiFunnelReport {
	return apiFunnelReport{From: r.From, To: r.To, By: r.By, Total: r.Total, Groups: r.Groups, Forecast: newForecast(r.Forecast),
		OpportunitiesFromScratch: r.OpportunitiesFromScratch}
}

// funnelReport answers the funnel: GET /reports/funnel?from=&to=&by=.
// from and to are RFC 3339 times or dates (YYYY-MM-DD, UTC); a date as to
// includes that whole day. to defaults to now and from to 30 days before
// it; by to source.
func (api *API) funnelReport(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	fq, err := ReadFunnelQuery(c.QueryParam("from"), c.QueryParam("to"), c.QueryParam("by"), api.engine.now())
	if err != nil {
		return err
	}
	r, err := api.engine.Funnel(c.Request().Context(), p.WorkspaceID, fq)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newAPIFunnelReport(r))
}

// ReadFunnelQuery reads a funnel's range and grouping as people give them
// (the API's query parameters, the console's form): from and to are RFC
// 3339 times or dates (YYYY-MM-DD, UTC), a date as to including that whole
// day; to defaults to now, from to 30 days before to, by to source. A bad
// bound is a ValidationError on its name.
func ReadFunnelQuery(fromText, toText, by string, now time.Time) (FunnelQuery, error) {
	bad := map[string]string{}
	to, ok := parseReportTime(toText, true)
	if !ok {
		bad["to"] = reportTimeHint
	}
	from, ok := parseReportTime(fromText, false)
	if !ok {
		bad["from"] = reportTimeHint
	}
	if len(bad) > 0 {
		return FunnelQuery{}, &ValidationError{Fields: bad}
	}
	if to.IsZero() {
		to = now.UTC()
	}
	if from.IsZero() {
		from = to.Add(-defaultFunnelRange)
	}
	if by == "" {
		by = FunnelGroupings[0]
	}
	return FunnelQuery{From: from, To: to, By: by}, nil
}

// parseReportTime reads a report bound; "" is the zero time. A date as the
// end of a range means the end of that day. A bound outside
// [minReportTime, maxReportTime] is not ok.
func parseReportTime(v string, end bool) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.DateOnly, v)
	if err == nil && end {
		t = t.AddDate(0, 0, 1)
	}
	if err != nil {
		t, err = time.Parse(time.RFC3339Nano, v)
	}
	t = t.UTC()
	return t, err == nil && !t.Before(minReportTime) && !t.After(maxReportTime)
}
