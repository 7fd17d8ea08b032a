package nurture

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// stepChoices bounds the templates an email step's select lists: the
// newest ones, and the step's own when older.
const stepChoices = store.MaxPageLimit

type sequencesView struct {
	Sequences []store.Sequence
	Page      pager
}

func (p *Pages) listSequences(c echo.Context) error {
	pr, err := principal(c)
	if err != nil {
		return err
	}
	page, show, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	ss, err := p.api.store.ListSequences(c.Request().Context(), pr.WorkspaceID, page)
	if err != nil {
		return fmt.Errorf("sequences page: %w", err)
	}
	list := httpapi.ListOf(ss, show, func(s store.Sequence) uuid.UUID { return s.ID })
	v := sequencesView{Sequences: list.Items, Page: pager{Path: "/console/sequences"}}
	if list.NextCursor != nil {
		v.Page.Next = *list.NextCursor
	}
	return p.con.Render(c, http.StatusOK, p.pages.sequences, "Sequences", v)
}

// stepForm is one step of the builder, as shown or posted. Test is the
// condition's kind of test: opened, clicked, score_at_least or field.
type stepForm struct {
	Key, Type, TemplateID, Duration string
	Test, Ref, Score, Field, Equals string
	Then, Else                      string
	Errors                          map[string]string
	Stats                           store.StepStats
}

// sequenceForm is the builder as shown or posted.
type sequenceForm struct {
	ID                   uuid.UUID
	Status               string
	Version              int
	Name, Timezone       string
	Days                 []string
	Start, End           string
	ExitCriteria         []string
	TriggerFormKeys      string
	Steps                []stepForm
	Errors               map[string]string
	Notice               string
	LeadID               string
	Templates            []store.Template
	WindowDays, AllExits []string
	ConditionFields      []string
	ConditionTests       []conditionTest
	// Counted is how many enrollments the steps' counts are of; Capped
	// says they are the newest ones only.
	Counted int64
	Capped  bool
}

// conditionTest is a condition's kind of test, as the builder names it.
type conditionTest struct{ Value, Label string }

var conditionTests = []conditionTest{
	{"opened", "opened the email of step"},
	{"clicked", "clicked in the email of step"},
	{"score_at_least", "has a score of at least"},
	{"field", "has a field equal to"},
}

// New reports whether the sequence is not stored yet.
func (f sequenceForm) New() bool { return f.ID == uuid.Nil }

// Action is where the builder saves.
func (f sequenceForm) Action() string {
	if f.New() {
		return "/console/sequences/new"
	}
	return "/console/sequences/" + f.ID.String()
}

// Has reports whether list holds v, for the checkboxes.
func (sequenceForm) Has(list []string, v string) bool { return slices.Contains(list, v) }

// Last is the index of the last step.
func (f sequenceForm) Last() int { return len(f.Steps) - 1 }

func (p *Pages) newSequence(c echo.Context) error {
	pr, err := principal(c)
	if err != nil {
		return err
	}
	ws, err := p.api.store.GetWorkspace(c.Request().Context(), pr.WorkspaceID)
	if err != nil {
		return err
	}
	return p.renderSequence(c, http.StatusOK, sequenceForm{Timezone: ws.Timezone, ExitCriteria: DefaultExitCriteria})
}

// sequence reads the sequence the path names, in the person's workspace.
func (p *Pages) sequence(c echo.Context) (store.Sequence, error) {
	pr, id, err := httpapi.Record(c)
	if err != nil {
		return store.Sequence{}, err
	}
	return p.api.store.GetSequence(c.Request().Context(), pr.WorkspaceID, id)
}

func (p *Pages) editSequence(c echo.Context) error {
	s, err := p.sequence(c)
	if err != nil {
		return err
	}
	f, err := p.formOfSequence(c.Request().Context(), s)
	if err != nil {
		return err
	}
	switch {
	case c.QueryParam("saved") != "":
		f.Notice = "Sequence saved."
	case c.QueryParam("status") != "":
		f.Notice = "The sequence is " + s.Status + "."
	case c.QueryParam("enrolled") != "":
		f.Notice = "Lead enrolled: its first step runs now."
	}
	return p.renderSequence(c, http.StatusOK, f)
}

// formOfSequence shows a stored sequence in the builder, with its steps'
// counts.
func (p *Pages) formOfSequence(ctx context.Context, s store.Sequence) (sequenceForm, error) {
	views, err := p.api.sequenceViews(ctx, s.WorkspaceID, s)
	if err != nil {
		return sequenceForm{}, err
	}
	v := views[0]
	f := sequenceForm{
		ID: s.ID, Status: s.Status, Version: s.Version, Name: s.Name, Timezone: s.Timezone,
		Days: v.SendWindow.Days, Start: v.SendWindow.Start, End: v.SendWindow.End,
		ExitCriteria: s.ExitCriteria, TriggerFormKeys: strings.Join(v.TriggerFormKeys, ", "),
	}
	stats, err := p.api.store.SequenceStepStats(ctx, s.WorkspaceID, s.ID, 0)
	if err != nil {
		return sequenceForm{}, err
	}
	f.Counted, f.Capped = stats.Enrollments, stats.Capped
	for _, st := range v.Steps {
		sf := stepForm{Key: st.Key, Type: st.Type, Then: st.Then, Else: st.Else, Stats: stats.Steps[st.Key]}
		if st.TemplateID != nil {
			sf.TemplateID = st.TemplateID.String()
		}
		if st.Duration != 0 {
			sf.Duration = st.Duration.String()
		}
		if c := st.If; c != nil {
			switch {
			case c.Opened != "":
				sf.Test, sf.Ref = "opened", c.Opened
			case c.Clicked != "":
				sf.Test, sf.Ref = "clicked", c.Clicked
			case c.ScoreAtLeast != nil:
				sf.Test, sf.Score = "score_at_least", strconv.Itoa(*c.ScoreAtLeast)
			default:
				sf.Test, sf.Field = "field", c.Field
				if c.Equals != nil {
					sf.Equals = *c.Equals
				}
			}
		}
		f.Steps = append(f.Steps, sf)
	}
	return f, nil
}

func (p *Pages) renderSequence(c echo.Context, status int, f sequenceForm) error {
	pr, err := principal(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if f.Templates, err = p.api.store.ListTemplates(ctx, pr.WorkspaceID, store.Page{Limit: stepChoices}); err != nil {
		return fmt.Errorf("sequence page: %w", err)
	}
	for _, st := range f.Steps {
		id, err := uuid.Parse(st.TemplateID)
		if err != nil || slices.ContainsFunc(f.Templates, func(t store.Template) bool { return t.ID == id }) {
			continue
		}
		if t, err := p.api.store.GetTemplate(ctx, pr.WorkspaceID, id); err == nil {
			f.Templates = append(f.Templates, t)
		}
	}
	f.WindowDays, f.AllExits, f.ConditionFields, f.ConditionTests = windowDays, ExitCriteria, conditionFields, conditionTests
	title := "New sequence"
	if !f.New() {
		title = "Sequence " + f.Name
	}
	return p.con.Render(c, status, p.pages.sequenceEdit, title, f)
}

// readSequenceForm reads the posted builder.
func readSequenceForm(c echo.Context) (sequenceForm, error) {
	form, err := c.FormParams()
	if err != nil {
		return sequenceForm{}, err
	}
	f := sequenceForm{
		Name: form.Get("name"), Timezone: form.Get("timezone"),
		Days: form["days"], Start: form.Get("start"), End: form.Get("end"),
		ExitCriteria: form["exit_criteria"], TriggerFormKeys: form.Get("trigger_form_keys"),
		Errors: map[string]string{},
	}
	for i := 0; i <= MaxSteps; i++ {
		at := func(name string) string { return strings.TrimSpace(form.Get(fmt.Sprintf("steps.%d.%s", i, name))) }
		if _, ok := form[fmt.Sprintf("steps.%d.type", i)]; !ok {
			break
		}
		f.Steps = append(f.Steps, stepForm{
			Key: at("key"), Type: at("type"), TemplateID: at("template_id"), Duration: at("duration"),
			Test: at("test"), Ref: at("ref"), Score: at("score"), Field: at("field"), Equals: at("equals"),
			Then: at("then"), Else: at("else"),
		})
	}
	return f, nil
}

// members are the builder's values as the API's body members, so the
// sequence is checked exactly as a PATCH /sequences/{id} would be. A step
// sends only the members of its type: the builder keeps the others' inputs
// for when the type is changed back.
func (f sequenceForm) members() (map[string]json.RawMessage, error) {
	steps := make([]map[string]any, 0, len(f.Steps))
	for _, s := range f.Steps {
		m := map[string]any{"type": s.Type}
		if s.Key != "" {
			m["key"] = s.Key
		}
		switch s.Type {
		case StepEmail:
			if s.TemplateID != "" {
				m["template_id"] = s.TemplateID
			}
		case StepWait:
			if s.Duration != "" {
				m["duration"] = s.Duration
			}
		case StepCondition:
			cond := map[string]any{}
			switch s.Test {
			case "opened", "clicked":
				cond[s.Test] = s.Ref
			case "score_at_least":
				if n, err := strconv.Atoi(s.Score); err == nil {
					cond["score_at_least"] = n
				} else {
					cond["score_at_least"] = s.Score // named as a type error
				}
			case "field":
				cond["field"], cond["equals"] = s.Field, s.Equals
			}
			m["if"], m["then"], m["else"] = cond, s.Then, s.Else
		}
		steps = append(steps, m)
	}
	days := f.Days
	if days == nil {
		days = []string{}
	}
	exits := f.ExitCriteria
	if exits == nil {
		exits = []string{}
	}
	keys := []string{}
	for _, k := range strings.Split(f.TriggerFormKeys, ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	out := map[string]json.RawMessage{}
	for name, v := range map[string]any{
		"name": f.Name, "timezone": f.Timezone, "steps": steps, "exit_criteria": exits,
		"send_window":       SendWindow{Days: days, Start: strings.TrimSpace(f.Start), End: strings.TrimSpace(f.End)},
		"trigger_form_keys": keys,
	} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, nil
}

// showErrors puts each of the API's field errors next to its input: a
// step's beside that step, the rest beside the sequence's fields.
func (f *sequenceForm) showErrors(fields map[string]string) {
	f.Errors = map[string]string{}
	for k, msg := range fields {
		rest, ok := strings.CutPrefix(k, "steps[")
		if !ok {
			f.Errors[k] = msg
			continue
		}
		i, sub, _ := strings.Cut(rest, "]")
		n, err := strconv.Atoi(i)
		if err != nil || n < 0 || n >= len(f.Steps) {
			f.Errors["steps"] = msg
			continue
		}
		if f.Steps[n].Errors == nil {
			f.Steps[n].Errors = map[string]string{}
		}
		sub = strings.TrimPrefix(sub, ".")
		// The condition's own inputs: if.opened and if.clicked are its
		// reference, if.field and if.equals its comparison.
		switch sub {
		case "if.opened", "if.clicked":
			sub = "ref"
		case "if.field":
			sub = "field"
		case "if.equals":
			sub = "equals"
		case "if":
			sub = "test"
		}
		f.Steps[n].Errors[sub] = msg
	}
}

// saveSequence is the builder's one form: its buttons add, move and remove
// steps (shown again, not saved, so a half-built step is not refused) or
// save the sequence through the API's own checks.
func (p *Pages) saveSequence(c echo.Context) error {
	f, err := readSequenceForm(c)
	if err != nil {
		return err
	}
	var s store.Sequence
	if c.Param("id") != "" {
		if s, err = p.sequence(c); err != nil {
			return err
		}
		f.ID, f.Status, f.Version = s.ID, s.Status, s.Version
	}
	op := c.FormValue("op")
	if verb, arg, ok := strings.Cut(op, ":"); ok {
		n, _ := strconv.Atoi(arg)
		switch {
		case verb == "add" && slices.Contains([]string{StepEmail, StepWait, StepCondition, StepExit}, arg) && len(f.Steps) < MaxSteps:
			f.Steps = append(f.Steps, stepForm{Type: arg})
		case verb == "up" && n > 0 && n < len(f.Steps):
			f.Steps[n-1], f.Steps[n] = f.Steps[n], f.Steps[n-1]
		case verb == "down" && n >= 0 && n < len(f.Steps)-1:
			f.Steps[n], f.Steps[n+1] = f.Steps[n+1], f.Steps[n]
		case verb == "remove" && n >= 0 && n < len(f.Steps):
			f.Steps = slices.Delete(f.Steps, n, n+1)
		}
		f.Notice = "Not saved yet: press Save sequence to keep the change."
		return p.renderSequence(c, http.StatusOK, f)
	}
	members, err := f.members()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	pr, err := principal(c)
	if err != nil {
		return err
	}
	if f.New() {
		s, err = p.api.newSequence(ctx, pr.WorkspaceID, members)
	} else {
		s, err = p.api.editSequence(ctx, pr.WorkspaceID, s.ID, members)
	}
	if err != nil {
		fields := fieldErrors(err)
		if fields == nil {
			return fmt.Errorf("save sequence: %w", err)
		}
		f.showErrors(fields)
		return p.renderSequence(c, http.StatusUnprocessableEntity, f)
	}
	return c.Redirect(http.StatusSeeOther, "/console/sequences/"+s.ID.String()+"?saved=1")
}

// setSequenceStatus activates, pauses or resumes a sequence, as the API's
// endpoints of the same names do.
func (p *Pages) setSequenceStatus(c echo.Context) error {
	pr, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	change := p.api.activate
	switch path := c.Path(); {
	case strings.HasSuffix(path, "/pause"):
		change = p.api.pause
	case strings.HasSuffix(path, "/resume"):
		change = p.api.resume
	}
	ctx := c.Request().Context()
	if _, err := change(ctx, pr.WorkspaceID, id); err != nil {
		fields := fieldErrors(err)
		if fields == nil {
			return err
		}
		return p.showSequenceErrors(c, id, fields, "")
	}
	return c.Redirect(http.StatusSeeOther, "/console/sequences/"+id.String()+"?status=1")
}

// showSequenceErrors shows a stored sequence again with errors of an
// action on it.
func (p *Pages) showSequenceErrors(c echo.Context, id uuid.UUID, fields map[string]string, leadID string) error {
	pr, err := principal(c)
	if err != nil {
		return err
	}
	s, err := p.api.store.GetSequence(c.Request().Context(), pr.WorkspaceID, id)
	if err != nil {
		return err
	}
	f, err := p.formOfSequence(c.Request().Context(), s)
	if err != nil {
		return err
	}
	f.showErrors(fields)
	f.LeadID = leadID
	return p.renderSequence(c, http.StatusUnprocessableEntity, f)
}

// enrollLead enrolls a lead in the sequence by hand, as the API's
// POST /sequences/{id}/enrollments does.
func (p *Pages) enrollLead(c echo.Context) error {
	pr, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	leadID := strings.TrimSpace(c.FormValue("lead_id"))
	if _, err := p.api.enroll(c.Request().Context(), pr, id, leadID); err != nil {
		fields := fieldErrors(err)
		if fields == nil {
			return err
		}
		if msg, ok := fields["sequence"]; ok {
			fields = map[string]string{"lead_id": "the sequence " + msg}
		}
		return p.showSequenceErrors(c, id, fields, leadID)
	}
	return c.Redirect(http.StatusSeeOther, "/console/sequences/"+id.String()+"?enrolled=1")
}
