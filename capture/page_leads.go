package capture

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Bounds of the lead pages.
const (
	pageTimelineItems = 100
	pageDuplicates    = 20
	pageOwnerChoices  = 1000
)

var pageLeadStatuses = []string{store.LeadNew, store.LeadNurturing, store.LeadMarketingQualified, store.LeadSalesAccepted,
	store.LeadConverted, store.LeadContacted, store.LeadDisqualified, store.LeadRecycled}

// duplicateReasons say in words why a pair was flagged.
var duplicateReasons = map[string]string{
	store.DuplicateSimilarName:    "Similar name and company",
	store.DuplicateSharedPhone:    "Same phone number",
	store.DuplicateSharedIdentity: "Same person by another identity",
}

// leadFilterForm is the leads filter as typed.
type leadFilterForm struct {
	Q, Status, Grade, Source, Owner, MinScore, MaxScore string
	Errors                                              map[string]string
}

type leadsView struct {
	Filter    leadFilterForm
	Statuses  []choice
	Owners    []choice
	Leads     []store.Lead
	OwnerName map[uuid.UUID]string
	// NextURL links to the next page, the filters kept; a whole URL, so
	// html/template normalises it rather than escaping its query as a value.
	NextURL string
}

func (p *Pages) leadsPage(ec echo.Context) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(ec)
	if err != nil {
		return err
	}
	q := ec.QueryParams()
	ff := leadFilterForm{Q: strings.TrimSpace(q.Get("q")), Status: q.Get("status"), Grade: strings.TrimSpace(q.Get("grade")),
		Source: strings.TrimSpace(q.Get("source")), Owner: q.Get("owner"), MinScore: strings.TrimSpace(q.Get("min_score")),
		MaxScore: strings.TrimSpace(q.Get("max_score")), Errors: map[string]string{}}
	f := store.LeadSearch{Page: page, Q: ff.Q, Grade: ff.Grade, Source: ff.Source}
	if len(ff.Q) > apiMaxTextLen {
		ff.Errors["q"] = fmt.Sprintf("At most %d characters.", apiMaxTextLen)
	}
	if f.Status, err = httpapi.QueryOneOf(ec, "status", pageLeadStatuses...); err != nil {
		ff.Errors["status"] = "Choose one of the statuses."
	}
	if ff.Owner != "" {
		if f.OwnerID, err = uuid.Parse(ff.Owner); err != nil {
			ff.Errors["owner"] = "Choose an owner."
		}
	}
	score := func(field, s string) *int {
		if s == "" {
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			ff.Errors[field] = "A whole number."
			return nil
		}
		return &n
	}
	f.MinScore, f.MaxScore = score("min_score", ff.MinScore), score("max_score", ff.MaxScore)
	ps, err := p.api.store.ListPeople(ec.Request().Context(), pr.WorkspaceID, pageOwnerChoices)
	if err != nil {
		return fmt.Errorf("leads page: %w", err)
	}
	v := leadsView{Filter: ff, Statuses: options(pageLeadStatuses, f.Status), OwnerName: map[uuid.UUID]string{}}
	v.Owners = []choice{{Value: "", Label: "Anyone", Selected: ff.Owner == ""}}
	for _, o := range ps {
		v.OwnerName[o.ID] = o.Name
		v.Owners = append(v.Owners, choice{Value: o.ID.String(), Label: o.Name, Selected: o.ID.String() == ff.Owner})
	}
	status := http.StatusOK
	if len(ff.Errors) > 0 {
		status = http.StatusUnprocessableEntity
		return p.con.Render(ec, status, p.t.leads, "Leads", v)
	}
	ls, err := p.api.store.SearchLeads(ec.Request().Context(), pr.WorkspaceID, f)
	if err != nil {
		return fmt.Errorf("leads page: %w", err)
	}
	var next string
	v.Leads, next = pageOf(ls, limit, func(l store.Lead) uuid.UUID { return l.ID })
	if next != "" {
		nq := url.Values{"cursor": {next}}
		for _, k := range []string{"q", "status", "grade", "source", "owner", "min_score", "max_score"} {
			if s := q.Get(k); s != "" {
				nq.Set(k, s)
			}
		}
		v.NextURL = "/console/leads?" + nq.Encode()
	}
	return p.con.Render(ec, status, p.t.leads, "Leads", v)
}

// duplicateView is one possible duplicate, both leads side by side.
type duplicateView struct {
	Pair      store.DuplicatePair
	Reason    string
	Other     *store.Lead
	Contact   *store.Contact
	Rows      []compareRow
	CanMerge  bool
	Similar   string
	OtherName string
}

type compareRow struct {
	Label, This, Other string
	Differ             bool
}

func leadName(l store.Lead) string {
	n := strings.TrimSpace(l.FirstName + " " + l.LastName)
	if n == "" {
		n = l.Email
	}
	return n
}

func compare(a, b store.Lead) []compareRow {
	row := func(label, x, y string) compareRow {
		return compareRow{Label: label, This: x, Other: y, Differ: x != y}
	}
	return []compareRow{
		row("Name", strings.TrimSpace(a.FirstName+" "+a.LastName), strings.TrimSpace(b.FirstName+" "+b.LastName)),
		row("Email", a.Email, b.Email),
		row("Phone", a.Phone, b.Phone),
		row("Company", a.Company, b.Company),
		row("Title", a.Title, b.Title),
		row("City", a.City, b.City),
		row("Country", a.Country, b.Country),
		row("Source", a.LeadSource, b.LeadSource),
		row("Status", a.Status, b.Status),
		row("Score", strconv.Itoa(a.Score)+" "+a.Grade, strconv.Itoa(b.Score)+" "+b.Grade),
		row("Created", a.CreatedAt.UTC().Format("2 Jan 2006 15:04 UTC"), b.CreatedAt.UTC().Format("2 Jan 2006 15:04 UTC")),
	}
}

type leadView struct {
	Lead       store.Lead
	Name       string
	OwnerName  string
	Timeline   []store.TimelineItem
	Duplicates []duplicateView
	CanMerge   bool
	Notice     string
	Error      string
}

func (p *Pages) leadPage(ec echo.Context) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(ec)
	if err != nil {
		return notFound(err)
	}
	v := leadView{}
	if ec.QueryParam("merged") != "" {
		v.Notice = "Merged: the other lead's responses, emails and history are on this lead now."
	}
	return p.renderLead(ec, http.StatusOK, pr, id, v)
}

func (p *Pages) renderLead(ec echo.Context, status int, pr httpapi.Principal, id uuid.UUID, v leadView) error {
	ctx := ec.Request().Context()
	l, err := p.api.store.GetLead(ctx, pr.WorkspaceID, id)
	if err != nil {
		return notFound(err)
	}
	if l.MergedInto != nil {
		// A merged lead lives on as history of the one it went into.
		return ec.Redirect(http.StatusSeeOther, "/console/leads/"+l.MergedInto.String())
	}
	v.Lead, v.Name = l, leadName(l)
	v.CanMerge = pr.Role == store.RoleMarketing || pr.Role == store.RoleAdmin
	if l.OwnerID != nil {
		if o, err := p.api.store.GetPerson(ctx, pr.WorkspaceID, *l.OwnerID); err == nil {
			v.OwnerName = o.Name
		}
	}
	if v.Timeline, err = p.api.store.LeadTimeline(ctx, pr.WorkspaceID, id, pageTimelineItems); err != nil {
		return fmt.Errorf("lead page: %w", err)
	}
	pairs, err := p.api.store.LeadDuplicatePairs(ctx, pr.WorkspaceID, id, pageDuplicates)
	if err != nil {
		return fmt.Errorf("lead page: %w", err)
	}
	for _, pair := range pairs {
		d := duplicateView{Pair: pair, Reason: cmpOr(duplicateReasons[pair.Reason], pair.Reason),
			Similar: strconv.Itoa(int(pair.Similarity*100+0.5)) + "%"}
		switch {
		case pair.OtherLeadID != nil:
			o, err := p.api.store.GetLead(ctx, pr.WorkspaceID, *pair.OtherLeadID)
			if err != nil {
				return fmt.Errorf("lead page: %w", err)
			}
			d.Other, d.OtherName, d.Rows = &o, leadName(o), compare(l, o)
			d.CanMerge = v.CanMerge && pair.Status == "open" && o.MergedInto == nil
		case pair.MatchContactID != nil:
			c, err := p.api.store.GetContact(ctx, pr.WorkspaceID, *pair.MatchContactID)
			if err != nil {
				return fmt.Errorf("lead page: %w", err)
			}
			d.Contact = &c
			d.OtherName = strings.TrimSpace(c.FirstName + " " + c.LastName)
		}
		v.Duplicates = append(v.Duplicates, d)
	}
	return p.con.Render(ec, status, p.t.lead, "Lead "+v.Name, v)
}

func (p *Pages) mergeLeads(ec echo.Context) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(ec)
	if err != nil {
		return notFound(err)
	}
	kept, err := p.api.merge(ec.Request().Context(), pr.WorkspaceID, id, ec.FormValue("other_id"), pr.Actor())
	if errs, ok := fieldErrors(err); ok {
		return p.renderLead(ec, http.StatusUnprocessableEntity, pr, id, leadView{Error: "Not merged: " + errs["other_id"] + "."})
	}
	if errors.Is(err, store.ErrConflict) {
		return p.renderLead(ec, http.StatusConflict, pr, id, leadView{Error: "Not merged: one of the two leads has changed (merged already?)."})
	}
	if err != nil {
		return notFound(err)
	}
	return ec.Redirect(http.StatusSeeOther, "/console/leads/"+kept.ID.String()+"?merged=1")
}
