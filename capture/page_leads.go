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

// Owner names a listed lead's owner: "" for none, the person's name, or
// a placeholder for an owner beyond the people the page looked up.
func (v leadsView) Owner(l store.Lead) string {
	if l.OwnerID == nil {
		return ""
	}
	if name, ok := v.OwnerName[*l.OwnerID]; ok {
		return name
	}
	return "another person"
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
	// Suppression is set when the lead's address may not be emailed.
	Suppression *LeadSuppression
	// The edit, status and resubscribe forms, as typed when refused.
	Edit        *leadEditForm
	StatusMove  leadStatusForm
	Resubscribe leadResubscribeForm
}

// leadEditForm is the lead's edit form: every value as typed, so a refused
// post shows what the person wrote, with errors next to their fields.
type leadEditForm struct {
	FirstName, LastName, Email, Phone, Company, Title, City, State, Country,
	LeadSource, PrimaryInterest, Description string
	Errors map[string]string
}

// leadEditFields are the edit form's inputs, by API field name.
func (f *leadEditForm) fields() map[string]*string {
	return map[string]*string{
		"first_name": &f.FirstName, "last_name": &f.LastName, "email": &f.Email, "phone": &f.Phone,
		"company": &f.Company, "title": &f.Title, "city": &f.City, "state": &f.State, "country": &f.Country,
		"lead_source": &f.LeadSource, "primary_interest": &f.PrimaryInterest, "description": &f.Description,
	}
}

func leadEditFormOf(l store.Lead) *leadEditForm {
	return &leadEditForm{FirstName: l.FirstName, LastName: l.LastName, Email: l.Email,
		Phone: cmpOr(l.Phone, l.PhoneUnverified), Company: l.Company, Title: l.Title, City: l.City,
		State: l.State, Country: l.Country, LeadSource: l.LeadSource, PrimaryInterest: l.PrimaryInterest,
		Description: l.Description}
}

type leadStatusForm struct {
	Choices []choice
	Reason  string
	Errors  map[string]string
}

type leadResubscribeForm struct {
	ConsentText, ConsentSource string
	Errors                     map[string]string
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
	switch {
	case ec.QueryParam("merged") != "":
		v.Notice = "Merged: the other lead's responses, emails and history are on this lead now."
	case ec.QueryParam("saved") != "":
		v.Notice = "Saved: each change is in the timeline, with your name."
	case ec.QueryParam("moved") != "":
		v.Notice = "Status changed, with your reason."
	case ec.QueryParam("resubscribed") != "":
		v.Notice = "Resubscribed: the new consent is recorded and the address may be emailed again."
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
	if v.Edit == nil {
		v.Edit = leadEditFormOf(l)
	}
	chosen := ""
	if v.StatusMove.Choices != nil {
		for _, c := range v.StatusMove.Choices {
			if c.Selected {
				chosen = c.Value
			}
		}
	}
	v.StatusMove.Choices = nil
	for _, st := range leadStatusesByHand {
		if st != l.Status {
			v.StatusMove.Choices = append(v.StatusMove.Choices, choice{Value: st, Label: st, Selected: st == chosen})
		}
	}
	if v.Suppression, err = leadSuppression(ctx, p.api.store, l); err != nil {
		return fmt.Errorf("lead page: %w", err)
	}
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

// editLead saves the lead's edit form: every field is posted, and only
// those that differ from the lead change (and are audited).
func (p *Pages) editLead(ec echo.Context) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(ec)
	if err != nil {
		return notFound(err)
	}
	f := &leadEditForm{}
	var e LeadEdit
	targets := map[string]**string{
		"first_name": &e.FirstName, "last_name": &e.LastName, "email": &e.Email, "phone": &e.Phone,
		"company": &e.Company, "title": &e.Title, "city": &e.City, "state": &e.State, "country": &e.Country,
		"lead_source": &e.LeadSource, "primary_interest": &e.PrimaryInterest, "description": &e.Description,
	}
	for name, dst := range f.fields() {
		*dst = ec.FormValue(name)
		v := *dst
		*targets[name] = &v
	}
	_, err = p.api.EditLead(ec.Request().Context(), pr.WorkspaceID, id, e, pr.Actor())
	if errs, ok := fieldErrors(err); ok {
		f.Errors = errs
		status := http.StatusUnprocessableEntity
		if errors.Is(err, store.ErrConflict) {
			status = http.StatusConflict
		}
		return p.renderLead(ec, status, pr, id, leadView{Error: "Not saved: see the fields marked.", Edit: f})
	}
	if errors.Is(err, store.ErrConflict) {
		return p.renderLead(ec, http.StatusConflict, pr, id, leadView{Error: "Not saved: the lead was merged into another.", Edit: f})
	}
	if err != nil {
		return notFound(err)
	}
	return ec.Redirect(http.StatusSeeOther, "/console/leads/"+id.String()+"?saved=1#profile-heading")
}

// changeLeadStatus moves the lead to the status chosen, with the reason.
func (p *Pages) changeLeadStatus(ec echo.Context) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(ec)
	if err != nil {
		return notFound(err)
	}
	status, reason := ec.FormValue("status"), ec.FormValue("reason")
	_, err = p.api.ChangeLeadStatus(ec.Request().Context(), pr.WorkspaceID, id, status, reason, pr.Actor())
	if errs, ok := fieldErrors(err); ok {
		f := leadStatusForm{Choices: []choice{{Value: status, Selected: true}}, Reason: reason, Errors: errs}
		return p.renderLead(ec, http.StatusUnprocessableEntity, pr, id, leadView{Error: "Status not changed: see the fields marked.", StatusMove: f})
	}
	if errors.Is(err, store.ErrConflict) {
		return p.renderLead(ec, http.StatusConflict, pr, id, leadView{Error: "Status not changed: the lead was merged into another."})
	}
	if err != nil {
		return notFound(err)
	}
	return ec.Redirect(http.StatusSeeOther, "/console/leads/"+id.String()+"?moved=1")
}

// resubscribeLead records the new consent and lets the address be emailed
// again.
func (p *Pages) resubscribeLead(ec echo.Context) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(ec)
	if err != nil {
		return notFound(err)
	}
	f := leadResubscribeForm{ConsentText: ec.FormValue("consent_text"), ConsentSource: ec.FormValue("consent_source")}
	_, err = p.api.Resubscribe(ec.Request().Context(), pr.WorkspaceID, id, f.ConsentText, f.ConsentSource, pr.Actor())
	switch errs, ok := fieldErrors(err); {
	case ok && errors.Is(err, store.ErrConflict):
		return p.renderLead(ec, http.StatusConflict, pr, id, leadView{Error: "Not resubscribed: " + errs["email"] + ".", Resubscribe: f})
	case ok:
		f.Errors = errs
		return p.renderLead(ec, http.StatusUnprocessableEntity, pr, id, leadView{Error: "Not resubscribed: new consent is required.", Resubscribe: f})
	case errors.Is(err, store.ErrConflict):
		return p.renderLead(ec, http.StatusConflict, pr, id, leadView{Error: "Not resubscribed: the address is not suppressed.", Resubscribe: f})
	case err != nil:
		return notFound(err)
	}
	return ec.Redirect(http.StatusSeeOther, "/console/leads/"+id.String()+"?resubscribed=1")
}
