package capture

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// pageFormChoices bounds the forms a filter select offers; pageIntakeForms
// the forms today's intake lists.
const (
	pageFormChoices = 200
	pageIntakeForms = 20
)

var (
	pageVerdicts = []string{store.VerdictOK, store.VerdictSpam, store.VerdictReleased}
	pageStatuses = []string{store.ResponsePending, store.ResponseProcessed, store.ResponseHeld,
		store.ResponseAwaitingConfirmation, store.ResponseFailed}
)

type responsesView struct {
	Responses []store.Response
	FormNames map[uuid.UUID]string
	Forms     []choice
	Verdicts  []choice
	Statuses  []choice
	// NextURL links to the next page, the filters kept; a whole URL, so
	// html/template normalises it rather than escaping its query as a value.
	NextURL string
	// Today is today's intake, busiest forms first: since Since, the
	// midnight in the workspace's time zone Zone (UTC when ZoneSet is false),
	// as the home counts it.
	Today   []store.IntakeByForm
	Since   time.Time
	Zone    string
	ZoneSet bool
}

func options(values []string, chosen string) []choice {
	out := []choice{{Value: "", Label: "Any", Selected: chosen == ""}}
	for _, v := range values {
		out = append(out, choice{Value: v, Label: v, Selected: v == chosen})
	}
	return out
}

// formNames names the workspace's newest forms, for filters and tables.
func (p *Pages) formNames(ec echo.Context, workspaceID uuid.UUID) (map[uuid.UUID]string, []store.Form, error) {
	fs, err := p.api.store.ListForms(ec.Request().Context(), workspaceID, store.Page{Limit: pageFormChoices})
	if err != nil {
		return nil, nil, err
	}
	names := map[uuid.UUID]string{}
	for _, f := range fs {
		names[f.ID] = cmpOr(f.Name, f.Key)
	}
	return names, fs, nil
}

func (p *Pages) responsesPage(ec echo.Context) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(ec)
	if err != nil {
		return err
	}
	f := store.ResponseFilter{Page: page}
	if f.FormID, err = httpapi.QueryID(ec, "form_id"); err != nil {
		return err
	}
	if f.Channel, err = httpapi.QueryOneOf(ec, "channel", store.Channels...); err != nil {
		return err
	}
	if f.Verdict, err = httpapi.QueryOneOf(ec, "verdict", pageVerdicts...); err != nil {
		return err
	}
	if f.Status, err = httpapi.QueryOneOf(ec, "status", pageStatuses...); err != nil {
		return err
	}
	rs, err := p.api.store.ListResponses(ec.Request().Context(), pr.WorkspaceID, f)
	if err != nil {
		return fmt.Errorf("responses page: %w", err)
	}
	names, forms, err := p.formNames(ec, pr.WorkspaceID)
	if err != nil {
		return fmt.Errorf("responses page: %w", err)
	}
	ws, err := p.api.store.GetWorkspace(ec.Request().Context(), pr.WorkspaceID)
	if err != nil {
		return fmt.Errorf("responses page: %w", err)
	}
	loc, zoneSet := ws.Zone()
	since := ws.DayStart(time.Now())
	today, err := p.api.store.IntakeSince(ec.Request().Context(), pr.WorkspaceID, since, pageIntakeForms)
	if err != nil {
		return fmt.Errorf("responses page: %w", err)
	}
	rs, next := pageOf(rs, limit, func(r store.Response) uuid.UUID { return r.ID })
	v := responsesView{Today: today, Since: since, Zone: loc.String(), ZoneSet: zoneSet, Responses: rs, FormNames: names, Verdicts: options(pageVerdicts, f.Verdict), Statuses: options(pageStatuses, f.Status)}
	chosen := ""
	if f.FormID != uuid.Nil {
		chosen = f.FormID.String()
	}
	v.Forms = []choice{{Value: "", Label: "Any form", Selected: chosen == ""}}
	for _, fm := range forms {
		v.Forms = append(v.Forms, choice{Value: fm.ID.String(), Label: cmpOr(fm.Name, fm.Key), Selected: fm.ID.String() == chosen})
	}
	if next != "" {
		q := url.Values{"cursor": {next}}
		for _, k := range []string{"form_id", "channel", "verdict", "status"} {
			if s := ec.QueryParam(k); s != "" {
				q.Set(k, s)
			}
		}
		v.NextURL = "/console/responses?" + q.Encode()
	}
	return p.con.Render(ec, http.StatusOK, p.t.responses, "Responses", v)
}

type responseView struct {
	Response store.Response
	FormName string
	Files    []store.ResponseFile
	// Raw is the submission as posted, names sorted; shown as text only.
	Raw    []rawField
	Notice string
}

type rawField struct {
	Name   string
	Values []string
}

func (p *Pages) response(ec echo.Context) (httpapi.Principal, store.Response, error) {
	pr, err := principal(ec)
	if err != nil {
		return pr, store.Response{}, err
	}
	id, err := httpapi.PathID(ec)
	if err != nil {
		return pr, store.Response{}, notFound(err)
	}
	r, err := p.api.store.GetResponse(ec.Request().Context(), pr.WorkspaceID, id)
	if err != nil {
		return pr, store.Response{}, notFound(err)
	}
	return pr, r, nil
}

func (p *Pages) responsePage(ec echo.Context) error {
	pr, r, err := p.response(ec)
	if err != nil {
		return err
	}
	ctx := ec.Request().Context()
	files, err := p.api.store.ResponseFileInfos(ctx, pr.WorkspaceID, r.ID)
	if err != nil {
		return fmt.Errorf("response page: %w", err)
	}
	v := responseView{Response: r, Files: files}
	if f, err := p.api.store.GetForm(ctx, pr.WorkspaceID, r.FormID); r.FormID != uuid.Nil && err == nil {
		v.FormName = cmpOr(f.Name, f.Key)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Raw)) {
		v.Raw = append(v.Raw, rawField{Name: k, Values: r.Raw[k]})
	}
	switch {
	case ec.QueryParam("released") != "":
		v.Notice = "Released: it is being processed like any other response."
	case ec.QueryParam("retried") != "":
		v.Notice = "Queued again for processing."
	}
	return p.con.Render(ec, http.StatusOK, p.t.response, "Response", v)
}

func (p *Pages) releaseResponse(ec echo.Context) error {
	pr, r, err := p.response(ec)
	if err != nil {
		return err
	}
	if _, err := p.api.release(ec.Request().Context(), pr.WorkspaceID, r.ID, pr.Actor()); err != nil {
		return fmt.Errorf("release response: %w", err)
	}
	return ec.Redirect(http.StatusSeeOther, "/console/responses/"+r.ID.String()+"?released=1")
}

func (p *Pages) retryResponse(ec echo.Context) error {
	pr, r, err := p.response(ec)
	if err != nil {
		return err
	}
	if _, err := p.api.retry(ec.Request().Context(), pr.WorkspaceID, r.ID); err != nil {
		return fmt.Errorf("retry response: %w", err)
	}
	return ec.Redirect(http.StatusSeeOther, "/console/responses/"+r.ID.String()+"?retried=1")
}
