package nurture

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"leadflow/store"
)

// Bounds of what marketing configures. Emails past these sizes are clipped
// by mail clients (Gmail clips HTML past about 100 KB) or refused by
// servers, so a bigger template is a mistake.
const (
	MaxNameLen         = 200
	MaxSubjectLen      = 255
	MaxHTMLBodyBytes   = 512 << 10
	MaxTextBodyBytes   = 128 << 10
	MaxTemplateDefault = 1000
	MaxDefaults        = 50
	MaxSteps           = 100
	MaxWait            = 3650 * 24 * time.Hour
	MinWait            = time.Second
	MaxPostalAddress   = 1000
)

// ValidateTemplate checks a template before it is stored: a name, a subject
// on one line, at least one body, sizes, and merge fields that are closed
// and known. It returns a *ValidationError naming every field at fault.
func ValidateTemplate(t store.Template) error {
	bad := map[string]string{}
	switch name := strings.TrimSpace(t.Name); {
	case name == "":
		bad["name"] = "is required"
	case utf8.RuneCountInString(name) > MaxNameLen:
		bad["name"] = fmt.Sprintf("must be at most %d characters", MaxNameLen)
	}
	switch {
	case strings.TrimSpace(t.Subject) == "":
		bad["subject"] = "is required"
	case utf8.RuneCountInString(t.Subject) > MaxSubjectLen:
		bad["subject"] = fmt.Sprintf("must be at most %d characters", MaxSubjectLen)
	case strings.ContainsFunc(t.Subject, unicode.IsControl):
		bad["subject"] = "must be one line without control characters"
	default:
		if msg := checkMergeFields(t.Subject); msg != "" {
			bad["subject"] = msg
		}
	}
	if strings.TrimSpace(t.HTMLBody) == "" && strings.TrimSpace(t.TextBody) == "" {
		bad["html_body"] = "html_body or text_body is required"
		bad["text_body"] = "html_body or text_body is required"
	}
	for _, body := range []struct {
		field, text string
		max         int
	}{{"html_body", t.HTMLBody, MaxHTMLBodyBytes}, {"text_body", t.TextBody, MaxTextBodyBytes}} {
		switch {
		case len(body.text) > body.max:
			bad[body.field] = fmt.Sprintf("must be at most %d bytes", body.max)
		case !utf8.ValidString(body.text):
			bad[body.field] = "must be UTF-8 text"
		default:
			if msg := checkMergeFields(body.text); msg != "" {
				bad[body.field] = msg
			}
		}
	}
	if len(t.Defaults) > MaxDefaults {
		bad["defaults"] = fmt.Sprintf("must have at most %d entries", MaxDefaults)
	}
	for _, name := range slices.Sorted(maps.Keys(t.Defaults)) {
		v := t.Defaults[name]
		switch {
		case !knownMergeField(name):
			bad["defaults"] = fmt.Sprintf("%q is not a merge field", name)
		case len(v) > MaxTemplateDefault:
			bad["defaults"] = fmt.Sprintf("%s: must be at most %d characters", name, MaxTemplateDefault)
		case strings.ContainsFunc(v, unicode.IsControl):
			bad["defaults"] = fmt.Sprintf("%s: must be one line without control characters", name)
		}
		if bad["defaults"] != "" {
			break
		}
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	return nil
}

// knownMergeField reports whether name is a merge field Render can fill.
func knownMergeField(name string) bool {
	if k, ok := strings.CutPrefix(name, "custom."); ok {
		return k != "" && mergeName.MatchString(name)
	}
	return slices.Contains(MergeFields, name) || slices.Contains(ExtraFields, name)
}

// checkMergeFields describes the first problem with s's merge fields, or
// returns "".
func checkMergeFields(s string) string {
	parts, err := parseMerge(s)
	if err != nil {
		return err.Error()
	}
	for _, p := range parts {
		if p.field != nil && !knownMergeField(p.field.Name) {
			return fmt.Sprintf("unknown merge field {{%s}}: use one of %s, custom.KEY or %s",
				p.field.Name, strings.Join(MergeFields, ", "), strings.Join(ExtraFields, ", "))
		}
	}
	return ""
}

// The exit criteria a sequence may have: a lead who becomes one of these
// leaves the sequence.
const (
	ExitUnsubscribed = "unsubscribed"
	ExitBounced      = "bounced"
	ExitQualified    = "qualified"
	ExitConverted    = "converted"
	ExitReplied      = "replied"
)

// ExitCriteria lists every exit criterion; DefaultExitCriteria is what a
// sequence gets when none are given.
var (
	ExitCriteria        = []string{ExitUnsubscribed, ExitBounced, ExitQualified, ExitConverted, ExitReplied}
	DefaultExitCriteria = []string{ExitUnsubscribed, ExitBounced, ExitQualified, ExitConverted}
)

// NormalizeExitCriteria checks a list of exit criteria and returns it
// without repeats, in ExitCriteria's order.
func NormalizeExitCriteria(in []string) ([]string, error) {
	out := []string{}
	for _, c := range ExitCriteria {
		if slices.Contains(in, c) {
			out = append(out, c)
		}
	}
	for _, c := range in {
		if !slices.Contains(ExitCriteria, c) {
			return nil, fmt.Errorf("%q is not an exit criterion: use %s", c, strings.Join(ExitCriteria, ", "))
		}
	}
	return out, nil
}

// ValidateTimezone checks an IANA time zone name such as "Europe/London".
func ValidateTimezone(name string) error {
	// "Local" is the server's zone, which means nothing to marketing and
	// changes with where leadflow runs.
	if name == "" || name == "Local" {
		return errors.New("must be an IANA time zone such as Europe/London or UTC")
	}
	if _, err := time.LoadLocation(name); err != nil {
		return fmt.Errorf("%q is not an IANA time zone such as Europe/London or UTC", name)
	}
	return nil
}

// windowDays are the day names a send window uses, Monday first.
var windowDays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// clockTime is what a send window's start and end look like: 24-hour HH:MM.
var clockTime = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// NormalizeSendWindow checks a send window and returns it with its days
// lower-cased, without repeats, Monday first. It returns a *ValidationError
// naming send_window.days, .start or .end.
func NormalizeSendWindow(w SendWindow) (SendWindow, error) {
	bad := map[string]string{}
	var days []string
	for _, d := range w.Days {
		d = strings.ToLower(strings.TrimSpace(d))
		if !slices.Contains(windowDays, d) {
			bad["send_window.days"] = fmt.Sprintf("%q is not a day: use mon, tue, wed, thu, fri, sat, sun", d)
			break
		}
		if !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	slices.SortFunc(days, func(a, b string) int { return slices.Index(windowDays, a) - slices.Index(windowDays, b) })
	if len(w.Days) > 0 && len(days) == 0 && bad["send_window.days"] == "" {
		bad["send_window.days"] = "must name at least one day, or be left out for every day"
	}
	// A window without start opens at midnight, one without end closes at
	// midnight ("24:00" says so too); windows do not cross midnight.
	start, end := strings.TrimSpace(w.Start), strings.TrimSpace(w.End)
	switch {
	case start != "" && !clockTime.MatchString(start):
		bad["send_window.start"] = fmt.Sprintf("%q is not a 24-hour time such as 09:00", start)
	case end != "" && !clockTime.MatchString(end) && end != "24:00":
		bad["send_window.end"] = fmt.Sprintf("%q is not a 24-hour time such as 17:00", end)
	case cmp.Or(start, "00:00") >= cmp.Or(end, "24:00"):
		bad["send_window.end"] = "must be after start: a window does not cross midnight"
	}
	if len(bad) > 0 {
		return SendWindow{}, &ValidationError{Fields: bad}
	}
	return SendWindow{Days: days, Start: start, End: end}, nil
}

// stepKey is what a step key looks like; "next", "exit" and "previous" have
// meanings of their own.
var stepKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$`)

// conditionFields are the lead fields a condition may compare.
var conditionFields = []string{"country", "title", "company", "lead_source", "primary_interest", "status", "grade", "state", "city"}

// AssignStepKeys gives every step without a key one of the form "s1", "s2"...
// that no step has and taken does not report: keys a sequence's
// enrollments have used are never handed to a new step, since an
// enrollment's history and its messages are tied to its steps' keys.
func AssignStepKeys(steps []Step, taken func(key string) bool) {
	have := map[string]bool{}
	for _, s := range steps {
		have[s.Key] = true
	}
	n := 0
	for i := range steps {
		if steps[i].Key != "" {
			continue
		}
		for {
			n++
			k := "s" + strconv.Itoa(n)
			if !have[k] && (taken == nil || !taken(k)) {
				steps[i].Key = k
				have[k] = true
				break
			}
		}
	}
}

// ValidateSteps checks a sequence's steps, keys already assigned: unique
// keys; an email step names a template that templateExists knows; a wait
// lasts from 1s to 3650 days; a condition holds exactly one test, and its
// branches go forward only (to a later step, "next" or "exit"), so a
// sequence cannot loop; an opened or clicked test names an earlier email
// step, or "previous" with an email step before it. Branches left blank
// become "next". It returns a *ValidationError naming steps[i].field.
func ValidateSteps(steps []Step, templateExists func(uuid.UUID) bool) error {
	bad := map[string]string{}
	if len(steps) > MaxSteps {
		return &ValidationError{Fields: map[string]string{"steps": fmt.Sprintf("must have at most %d steps", MaxSteps)}}
	}
	at := map[string]int{}
	for i, s := range steps {
		f := fmt.Sprintf("steps[%d]", i)
		switch {
		case !stepKey.MatchString(s.Key):
			bad[f+".key"] = "must be 1 to 40 letters, digits, '_' or '-'"
		case s.Key == GotoNext || s.Key == GotoExit || s.Key == conditionPrevious:
			bad[f+".key"] = fmt.Sprintf("%q has a meaning of its own: choose another key", s.Key)
		default:
			if j, dup := at[s.Key]; dup {
				bad[f+".key"] = fmt.Sprintf("%q is also the key of steps[%d]", s.Key, j)
			} else {
				at[s.Key] = i
			}
		}
	}
	for i := range steps {
		s := &steps[i]
		f := fmt.Sprintf("steps[%d]", i)
		extra := s.TemplateID != nil || s.Duration != 0 || s.If != nil || s.Then != "" || s.Else != ""
		switch s.Type {
		case StepEmail:
			switch {
			case s.TemplateID == nil || *s.TemplateID == uuid.Nil:
				bad[f+".template_id"] = "is required for an email step"
			case templateExists != nil && !templateExists(*s.TemplateID):
				bad[f+".template_id"] = "no such template"
			}
			if s.Duration != 0 || s.If != nil || s.Then != "" || s.Else != "" {
				bad[f] = "an email step has only key, type and template_id"
			}
		case StepWait:
			switch d := time.Duration(s.Duration); {
			case d < MinWait:
				bad[f+".duration"] = "is required for a wait step: at least 1s, such as \"90s\", \"48h\" or \"2d\""
			case d > MaxWait:
				bad[f+".duration"] = "must be at most 3650d"
			}
			if s.TemplateID != nil || s.If != nil || s.Then != "" || s.Else != "" {
				bad[f] = "a wait step has only key, type and duration"
			}
		case StepCondition:
			checkCondition(steps, i, at, bad)
			if s.TemplateID != nil || s.Duration != 0 {
				bad[f] = "a condition step has only key, type, if, then and else"
			}
			for _, branch := range []struct {
				name string
				to   *string
			}{{"then", &s.Then}, {"else", &s.Else}} {
				*branch.to = strings.TrimSpace(*branch.to)
				switch *branch.to {
				case "":
					*branch.to = GotoNext
				case GotoNext, GotoExit:
				default:
					if j, ok := at[*branch.to]; !ok || j <= i {
						bad[f+"."+branch.name] = fmt.Sprintf("%q must be the key of a later step, \"next\" or \"exit\": a sequence only goes forward", *branch.to)
					}
				}
			}
		case StepExit:
			if extra {
				bad[f] = "an exit step has only key and type"
			}
		case "":
			bad[f+".type"] = "is required: email, wait, condition or exit"
		default:
			bad[f+".type"] = fmt.Sprintf("%q is not a step type: use email, wait, condition or exit", s.Type)
		}
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	return nil
}

// conditionPrevious in an opened or clicked test names the last email step
// before the condition.
const conditionPrevious = "previous"

// checkCondition checks the test of the condition step at i.
func checkCondition(steps []Step, i int, at map[string]int, bad map[string]string) {
	f := fmt.Sprintf("steps[%d].if", i)
	c := steps[i].If
	if c == nil {
		bad[f] = "is required: one of opened, clicked, score_at_least, or field with equals"
		return
	}
	tests := 0
	for _, set := range []bool{c.Opened != "", c.Clicked != "", c.ScoreAtLeast != nil, c.Field != "" || c.Equals != nil} {
		if set {
			tests++
		}
	}
	if tests != 1 {
		bad[f] = "must hold exactly one test: opened, clicked, score_at_least, or field with equals"
		return
	}
	for _, t := range []struct{ name, ref string }{{"opened", c.Opened}, {"clicked", c.Clicked}} {
		if t.ref == "" {
			continue
		}
		emailBefore := slices.ContainsFunc(steps[:i], func(s Step) bool { return s.Type == StepEmail })
		j, ok := at[t.ref]
		switch {
		case t.ref == conditionPrevious && !emailBefore:
			bad[f+"."+t.name] = "\"previous\" needs an email step before this one"
		case t.ref == conditionPrevious:
		case !ok || j >= i || steps[j].Type != StepEmail:
			bad[f+"."+t.name] = fmt.Sprintf("%q must be the key of an earlier email step, or \"previous\"", t.ref)
		}
	}
	if c.Field != "" || c.Equals != nil {
		switch {
		case !slices.Contains(conditionFields, c.Field):
			bad[f+".field"] = fmt.Sprintf("must be one of %s", strings.Join(conditionFields, ", "))
		case c.Equals == nil:
			bad[f+".equals"] = "is required with field"
		case len(*c.Equals) > MaxNameLen:
			bad[f+".equals"] = fmt.Sprintf("must be at most %d characters", MaxNameLen)
		}
	}
}

// ValidateSenderEmail checks a sender address: a bare address such as
// news@example.com, without a display name (that is sender_name).
func ValidateSenderEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return fmt.Errorf("%q is not an email address such as news@example.com", s)
	}
	return nil
}
