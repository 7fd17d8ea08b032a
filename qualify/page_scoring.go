package qualify

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// numberField is one integer input of the scoring form.
type numberField struct {
	Name, Value, Error string
}

type scoringForm struct {
	Points, Thresholds []numberField
	FitRules, HalfLife string
	Errors             map[string]string
}

type scoringView struct {
	Rules  ScoringView
	Form   scoringForm
	Job    *store.ScoreJob
	Notice string
	Error  string
}

// scoringFormOf fills the form with the rules as they are.
func scoringFormOf(r ScoringView) scoringForm {
	f := scoringForm{HalfLife: r.HalfLife}
	for _, k := range engagementKinds {
		v := ""
		if n, ok := r.Points[k]; ok {
			v = strconv.Itoa(n)
		}
		f.Points = append(f.Points, numberField{Name: k, Value: v})
	}
	for _, g := range gradeLetters {
		v := ""
		if n, ok := r.GradeThresholds[g]; ok {
			v = strconv.Itoa(n)
		}
		f.Thresholds = append(f.Thresholds, numberField{Name: g, Value: v})
	}
	rules, _ := json.MarshalIndent(r.FitRules, "", "  ")
	f.FitRules = string(rules)
	return f
}

// scoring shows the rules, a form to change them and, with ?job=, the
// progress of a recompute.
func (p *adminPages) scoring(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	ctx := ec.Request().Context()
	r, err := p.engine.Scoring(ctx, pr.WorkspaceID)
	if err != nil {
		return fmt.Errorf("scoring page: %w", err)
	}
	v := scoringView{Rules: r, Form: scoringFormOf(r)}
	if ec.QueryParam("saved") != "" {
		v.Notice = "Saved. Scores follow at each lead's next event; recompute to apply the rules to every lead now."
	}
	if id := ec.QueryParam("job"); id != "" {
		jid, err := store.ParseID(id)
		if err == nil {
			var job store.ScoreJob
			if job, err = p.engine.ScoreJob(ctx, pr.WorkspaceID, jid); err == nil {
				v.Job = &job
			}
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("scoring page: %w", err)
		}
	}
	return p.con.Render(ec, http.StatusOK, p.tmpl["scoring"], "Scoring", v)
}

// putScoring saves the form through PutScoring, as PUT /scoring does; its
// errors are shown next to their fields, with what was typed.
func (p *adminPages) putScoring(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	ctx := ec.Request().Context()
	f := scoringForm{FitRules: ec.FormValue("fit_rules"), HalfLife: strings.TrimSpace(ec.FormValue("half_life")), Errors: map[string]string{}}
	points := read(ec, "points", engagementKinds, &f.Points, f.Errors)
	thresholds := read(ec, "grade_thresholds", gradeLetters, &f.Thresholds, f.Errors)
	if len(f.Errors) == 0 {
		_, err = p.engine.PutScoring(ctx, pr.WorkspaceID, ScoringUpdate{
			Points: points, GradeThresholds: thresholds, FitRules: json.RawMessage(f.FitRules), HalfLife: &f.HalfLife,
		})
		if err == nil {
			return ec.Redirect(http.StatusSeeOther, "/console/scoring?saved=1")
		}
		fe := fieldErrors(err)
		if fe == nil {
			return fmt.Errorf("save scoring: %w", err)
		}
		maps.Copy(f.Errors, fe)
	}
	for i := range f.Points {
		f.Points[i].Error = f.Errors["points."+f.Points[i].Name]
	}
	for i := range f.Thresholds {
		f.Thresholds[i].Error = f.Errors["grade_thresholds."+f.Thresholds[i].Name]
	}
	// Fit rules are one field: every message about them goes next to it.
	var fit []string
	for _, k := range slices.Sorted(maps.Keys(f.Errors)) {
		if k == "fit_rules" || strings.HasPrefix(k, "fit_rules.") || strings.HasPrefix(k, "fit_rules[") {
			fit = append(fit, strings.TrimPrefix(strings.TrimPrefix(k, "fit_rules"), ".")+" "+f.Errors[k])
		}
	}
	f.Errors["fit_rules"] = strings.TrimSpace(strings.Join(fit, "; "))
	if f.Errors["fit_rules"] == "" {
		delete(f.Errors, "fit_rules")
	}
	r, err := p.engine.Scoring(ctx, pr.WorkspaceID)
	if err != nil {
		return fmt.Errorf("scoring page: %w", err)
	}
	return p.con.Render(ec, http.StatusUnprocessableEntity, p.tmpl["scoring"], "Scoring",
		scoringView{Rules: r, Form: f, Error: "Nothing was saved: see the fields below."})
}

// read collects a group of integer inputs (name.key) into the JSON object
// the engine takes; a blank input leaves its key out.
func read(ec echo.Context, group string, keys []string, fields *[]numberField, bad map[string]string) json.RawMessage {
	obj := map[string]int{}
	for _, k := range keys {
		v := strings.TrimSpace(ec.FormValue(group + "." + k))
		*fields = append(*fields, numberField{Name: k, Value: v})
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			bad[group+"."+k] = "must be a whole number"
			continue
		}
		obj[k] = n
	}
	raw, _ := json.Marshal(obj)
	return raw
}

// recompute starts a recompute job, as POST /scoring/recompute does, and
// shows its progress.
func (p *adminPages) recompute(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	job, err := p.engine.StartRecompute(ec.Request().Context(), pr.WorkspaceID)
	if err != nil {
		return fmt.Errorf("recompute: %w", err)
	}
	return ec.Redirect(http.StatusSeeOther, "/console/scoring?job="+job.ID.String()+"#recompute")
}
