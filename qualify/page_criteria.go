package qualify

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/sergi/go-diff/diffmatchpatch"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// maxCompareVersions is how many versions of a name the compare list
// offers, newest first.
const maxCompareVersions = 100

type criteriaListView struct {
	Name     string
	Versions []apiCriteriaView
	Next     string
	Notice   string
}

// criteriaList pages through the criteria versions, newest first, as GET
// /criteria does (?name= keeps one name's versions).
func (p *adminPages) criteriaList(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	page, show, err := httpapi.ReadPage(ec)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(ec.QueryParam("name"))
	cs, err := p.store.ListCriteria(ec.Request().Context(), pr.WorkspaceID, store.CriteriaFilter{Name: name, Page: page})
	if err != nil {
		return fmt.Errorf("criteria page: %w", err)
	}
	list := httpapi.ListOf(cs, show, func(c store.Criteria) uuid.UUID { return c.ID })
	v := criteriaListView{Name: name, Versions: httpapi.Map(list.Items, criteriaView)}
	if list.NextCursor != nil {
		v.Next = "/console/criteria?" + pageQuery("name", name, *list.NextCursor)
	}
	return p.con.Render(ec, http.StatusOK, p.tmpl["criteria"], "Criteria", v)
}

// diffLine is one line of a difference: Op is "+" (only in this
// version), "-" (only in the other) or " " (in both).
type diffLine struct {
	Op, Text string
}

// lineDiff is the line by line difference from old to new.
func lineDiff(old, new string) []diffLine {
	dmp := diffmatchpatch.New()
	a, b, lines := dmp.DiffLinesToChars(old, new)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(a, b, false), lines)
	var out []diffLine
	for _, d := range diffs {
		op := " "
		switch d.Type {
		case diffmatchpatch.DiffInsert:
			op = "+"
		case diffmatchpatch.DiffDelete:
			op = "-"
		}
		for _, line := range strings.SplitAfter(d.Text, "\n") {
			if line != "" {
				out = append(out, diffLine{Op: op, Text: strings.TrimSuffix(line, "\n")})
			}
		}
	}
	return out
}

type criteriaTryForm struct {
	Expression, Lead string
	Errors           map[string]string
	Trial            *CriteriaTrial
	Values           []readValue
}

type criteriaVersionView struct {
	Criteria    apiCriteriaView
	Events      []store.CriteriaEvent
	Others      []store.Criteria
	Against     *store.Criteria
	Expression  []diffLine
	Description []diffLine
	Try         criteriaTryForm
	Notice      string
}

// criteriaVersion shows one version: who agreed it, its trail, its
// difference from another version of its name (the one before it unless
// ?against= names one), and the try-it box (?expression=&lead=), which
// changes nothing and so is a GET.
func (p *adminPages) criteriaVersion(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(ec)
	if err != nil {
		return err
	}
	ctx := ec.Request().Context()
	cr, err := p.store.GetCriteria(ctx, pr.WorkspaceID, id)
	if err != nil {
		return err
	}
	v := criteriaVersionView{Criteria: criteriaView(cr), Try: criteriaTryForm{Expression: cr.Expression}}
	if ec.QueryParam("activated") != "" {
		v.Notice = "Activated: leads are qualified by this version from their next rescoring; a recompute (Scoring) applies it to every lead now."
	}
	if v.Events, err = p.store.CriteriaEvents(ctx, pr.WorkspaceID, id); err != nil {
		return fmt.Errorf("criteria page: %w", err)
	}
	others, err := p.store.ListCriteria(ctx, pr.WorkspaceID, store.CriteriaFilter{Name: cr.Name, Page: store.Page{Limit: maxCompareVersions}})
	if err != nil {
		return fmt.Errorf("criteria page: %w", err)
	}
	against := ec.QueryParam("against")
	for i, o := range others {
		if o.ID == cr.ID {
			continue
		}
		v.Others = append(v.Others, o)
		if (against == "" && o.Version == cr.Version-1) || against == o.ID.String() {
			v.Against = &others[i]
		}
	}
	if v.Against != nil {
		v.Expression = lineDiff(v.Against.Expression, cr.Expression)
		v.Description = lineDiff(v.Against.Description, cr.Description)
	}
	status := http.StatusOK
	q := ec.QueryParams()
	if q.Has("lead") || q.Has("expression") {
		v.Try.Expression, v.Try.Lead = q.Get("expression"), q.Get("lead")
		trial, err := p.engine.TryCriteria(ctx, pr.WorkspaceID, v.Try.Expression, v.Try.Lead)
		if v.Try.Errors = fieldErrors(err); v.Try.Errors != nil {
			status = http.StatusUnprocessableEntity
		} else if err != nil {
			return fmt.Errorf("criteria page: %w", err)
		} else {
			v.Try.Trial = &trial
			for _, name := range trial.Reads {
				v.Try.Values = append(v.Try.Values, readValue{name, showValue(trial.Values[name])})
			}
		}
	}
	title := fmt.Sprintf("%s v%d", cr.Name, cr.Version)
	return p.con.Render(ec, status, p.tmpl["criteria_version"], title, v)
}

func (p *adminPages) activateCriteria(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(ec)
	if err != nil {
		return err
	}
	if _, err := p.engine.ActivateCriteria(ec.Request().Context(), pr.WorkspaceID, id); err != nil {
		return err
	}
	return ec.Redirect(http.StatusSeeOther, "/console/criteria/"+id.String()+"?activated=1")
}

// readValue is a lead field an expression read, as the expression sees it.
type readValue struct{ Name, Value string }

// showValue writes a value as an expression would: text quoted.
func showValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case []string:
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return fmt.Sprint(v)
}
