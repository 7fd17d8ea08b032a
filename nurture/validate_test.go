package nurture_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/nurture"
	"leadflow/store"
)

// fieldsOf returns the fields a *ValidationError names (nil for nil), and
// fails on any other error.
func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	if err == nil {
		return nil
	}
	var v *nurture.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("err = %v (%T), want a *nurture.ValidationError", err, err)
	}
	return v.Fields
}

func names(fields map[string]string) []string {
	var out []string
	for k := range fields {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestValidateTemplate(t *testing.T) {
	t.Parallel()
	ok := store.Template{Name: "Welcome", Subject: "Hi {{first_name|there}}", HTMLBody: "<p>{{custom.00N5e00000ABCDE}} {{event_name}}</p>"}
	tests := []struct {
		name string
		edit func(*store.Template)
		want []string
	}{
		{name: "valid", edit: func(*store.Template) {}},
		{name: "text body alone", edit: func(t *store.Template) { t.HTMLBody, t.TextBody = "", "Hi" }},
		{name: "no name", edit: func(t *store.Template) { t.Name = "  " }, want: []string{"name"}},
		{name: "long name", edit: func(t *store.Template) { t.Name = strings.Repeat("n", 201) }, want: []string{"name"}},
		{name: "empty subject", edit: func(t *store.Template) { t.Subject = " " }, want: []string{"subject"}},
		{name: "subject on two lines", edit: func(t *store.Template) { t.Subject = "Hi\r\nBcc: x@example.com" }, want: []string{"subject"}},
		{name: "long subject", edit: func(t *store.Template) { t.Subject = strings.Repeat("s", 256) }, want: []string{"subject"}},
		{name: "neither body", edit: func(t *store.Template) { t.HTMLBody, t.TextBody = " ", "" }, want: []string{"html_body", "text_body"}},
		{name: "unknown field in subject", edit: func(t *store.Template) { t.Subject = "{{frist_name}}" }, want: []string{"subject"}},
		{name: "unknown field in html", edit: func(t *store.Template) { t.HTMLBody = "<p>{{password}}</p>" }, want: []string{"html_body"}},
		{name: "unterminated in text", edit: func(t *store.Template) { t.TextBody = "Hi {{first_name" }, want: []string{"text_body"}},
		{name: "malformed field", edit: func(t *store.Template) { t.HTMLBody = "{{ first name }}" }, want: []string{"html_body"}},
		{name: "html too big", edit: func(t *store.Template) { t.HTMLBody = strings.Repeat("x", nurture.MaxHTMLBodyBytes+1) }, want: []string{"html_body"}},
		{name: "default for unknown field", edit: func(t *store.Template) { t.Defaults = map[string]string{"nope": "x"} }, want: []string{"defaults"}},
		{name: "default on two lines", edit: func(t *store.Template) { t.Defaults = map[string]string{"first_name": "a\nb"} }, want: []string{"defaults"}},
		{name: "every fault at once", edit: func(t *store.Template) { *t = store.Template{Subject: "{{x}}"} }, want: []string{"html_body", "name", "subject", "text_body"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tpl := ok
			tt.edit(&tpl)
			got := fieldsOf(t, nurture.ValidateTemplate(tpl))
			if diff := cmp.Diff(tt.want, names(got)); diff != "" {
				t.Errorf("fields at fault (-want +got):\n%s\n%v", diff, got)
			}
		})
	}
}

// steps decodes a JSON list of steps as the API receives it.
func steps(t *testing.T, js string) []nurture.Step {
	t.Helper()
	var s []nurture.Step
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestValidateSteps(t *testing.T) {
	t.Parallel()
	tpl := uuid.MustParse("0190a000-0000-7000-8000-000000000001")
	other := uuid.MustParse("0190a000-0000-7000-8000-000000000002")
	exists := func(id uuid.UUID) bool { return id == tpl }
	tests := []struct {
		name  string
		steps string
		want  []string
	}{
		{name: "none", steps: `[]`},
		{name: "the issue's example", steps: `[{"key":"a","type":"email","template_id":"` + tpl.String() + `"},{"key":"b","type":"wait","duration":"48h"},{"key":"c","type":"email","template_id":"` + tpl.String() + `"}]`},
		{name: "branch both ways", steps: `[{"key":"a","type":"email","template_id":"` + tpl.String() + `"},{"key":"w","type":"wait","duration":"1s"},
			{"key":"c","type":"condition","if":{"opened":"previous"},"then":"d","else":"exit"},{"key":"d","type":"exit"}]`},
		{name: "condition on a named earlier email", steps: `[{"key":"a","type":"email","template_id":"` + tpl.String() + `"},{"key":"c","type":"condition","if":{"clicked":"a"}}]`},
		{name: "field condition", steps: `[{"key":"c","type":"condition","if":{"field":"country","equals":"GB"},"then":"exit"}]`},
		{name: "score condition", steps: `[{"key":"c","type":"condition","if":{"score_at_least":50}}]`},
		{name: "duplicate keys", steps: `[{"key":"a","type":"exit"},{"key":"a","type":"exit"}]`, want: []string{"steps[1].key"}},
		{name: "reserved key", steps: `[{"key":"next","type":"exit"}]`, want: []string{"steps[0].key"}},
		{name: "bad key", steps: `[{"key":"a b","type":"exit"}]`, want: []string{"steps[0].key"}},
		{name: "no type", steps: `[{"key":"a"}]`, want: []string{"steps[0].type"}},
		{name: "unknown type", steps: `[{"key":"a","type":"sms"}]`, want: []string{"steps[0].type"}},
		{name: "email without template", steps: `[{"key":"a","type":"email"}]`, want: []string{"steps[0].template_id"}},
		{name: "email with a template of another workspace", steps: `[{"key":"a","type":"email","template_id":"` + other.String() + `"}]`, want: []string{"steps[0].template_id"}},
		{name: "email with a duration", steps: `[{"key":"a","type":"email","template_id":"` + tpl.String() + `","duration":"1h"}]`, want: []string{"steps[0]"}},
		{name: "wait too short", steps: `[{"key":"a","type":"wait","duration":"500ms"}]`, want: []string{"steps[0].duration"}},
		{name: "wait without duration", steps: `[{"key":"a","type":"wait"}]`, want: []string{"steps[0].duration"}},
		{name: "condition without test", steps: `[{"key":"a","type":"condition"}]`, want: []string{"steps[0].if"}},
		{name: "condition with two tests", steps: `[{"key":"e","type":"email","template_id":"` + tpl.String() + `"},{"key":"a","type":"condition","if":{"opened":"previous","score_at_least":3}}]`, want: []string{"steps[1].if"}},
		{name: "condition with empty test", steps: `[{"key":"a","type":"condition","if":{}}]`, want: []string{"steps[0].if"}},
		{name: "previous with no email before", steps: `[{"key":"a","type":"condition","if":{"opened":"previous"}},{"key":"e","type":"email","template_id":"` + tpl.String() + `"}]`, want: []string{"steps[0].if.opened"}},
		{name: "opened names a later email", steps: `[{"key":"a","type":"condition","if":{"opened":"e"}},{"key":"e","type":"email","template_id":"` + tpl.String() + `"}]`, want: []string{"steps[0].if.opened"}},
		{name: "clicked names a wait", steps: `[{"key":"w","type":"wait","duration":"1m"},{"key":"a","type":"condition","if":{"clicked":"w"}}]`, want: []string{"steps[1].if.clicked"}},
		{name: "branch back: a loop", steps: `[{"key":"w","type":"wait","duration":"1m"},{"key":"c","type":"condition","if":{"score_at_least":1},"then":"w"}]`, want: []string{"steps[1].then"}},
		{name: "branch to itself", steps: `[{"key":"c","type":"condition","if":{"score_at_least":1},"else":"c"}]`, want: []string{"steps[0].else"}},
		{name: "branch to nowhere", steps: `[{"key":"c","type":"condition","if":{"score_at_least":1},"then":"zz"}]`, want: []string{"steps[0].then"}},
		{name: "field without equals", steps: `[{"key":"c","type":"condition","if":{"field":"country"}}]`, want: []string{"steps[0].if.equals"}},
		{name: "unknown field", steps: `[{"key":"c","type":"condition","if":{"field":"password","equals":"x"}}]`, want: []string{"steps[0].if.field"}},
		{name: "exit with extras", steps: `[{"key":"x","type":"exit","then":"next"}]`, want: []string{"steps[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := fieldsOf(t, nurture.ValidateSteps(steps(t, tt.steps), exists))
			if diff := cmp.Diff(tt.want, names(got)); diff != "" {
				t.Errorf("fields at fault (-want +got):\n%s\n%v", diff, got)
			}
		})
	}
}

func TestValidateStepsDefaultsBranchesToNext(t *testing.T) {
	t.Parallel()
	s := steps(t, `[{"key":"c","type":"condition","if":{"score_at_least":1},"else":"exit"}]`)
	if err := nurture.ValidateSteps(s, nil); err != nil {
		t.Fatal(err)
	}
	if s[0].Then != nurture.GotoNext || s[0].Else != nurture.GotoExit {
		t.Errorf("then, else = %q, %q; want next, exit", s[0].Then, s[0].Else)
	}
}

func TestAssignStepKeys(t *testing.T) {
	t.Parallel()
	s := []nurture.Step{{Type: "wait"}, {Key: "s2", Type: "exit"}, {Type: "wait"}, {Type: "wait"}, {Key: "mine", Type: "exit"}}
	used := map[string]bool{"s3": true} // an enrollment once passed a step s3
	nurture.AssignStepKeys(s, func(k string) bool { return used[k] })
	var got []string
	for _, st := range s {
		got = append(got, st.Key)
	}
	if diff := cmp.Diff([]string{"s1", "s2", "s4", "s5", "mine"}, got); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}

func TestNormalizeSendWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   nurture.SendWindow
		want nurture.SendWindow
		bad  []string
	}{
		{name: "any time", in: nurture.SendWindow{}, want: nurture.SendWindow{}},
		{name: "weekdays office hours", in: nurture.SendWindow{Days: []string{"FRI", "mon", " tue", "mon"}, Start: "09:00", End: "17:30"},
			want: nurture.SendWindow{Days: []string{"mon", "tue", "fri"}, Start: "09:00", End: "17:30"}},
		{name: "until midnight", in: nurture.SendWindow{Start: "18:00", End: "24:00"}, want: nurture.SendWindow{Start: "18:00", End: "24:00"}},
		{name: "start alone", in: nurture.SendWindow{Start: "08:00"}, want: nurture.SendWindow{Start: "08:00"}},
		{name: "unknown day", in: nurture.SendWindow{Days: []string{"monday"}}, bad: []string{"send_window.days"}},
		{name: "bad start", in: nurture.SendWindow{Start: "9am", End: "17:00"}, bad: []string{"send_window.start"}},
		{name: "bad end", in: nurture.SendWindow{Start: "09:00", End: "25:00"}, bad: []string{"send_window.end"}},
		{name: "end before start", in: nurture.SendWindow{Start: "17:00", End: "09:00"}, bad: []string{"send_window.end"}},
		{name: "empty window", in: nurture.SendWindow{Start: "09:00", End: "09:00"}, bad: []string{"send_window.end"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := nurture.NormalizeSendWindow(tt.in)
			if diff := cmp.Diff(tt.bad, names(fieldsOf(t, err))); diff != "" {
				t.Fatalf("fields at fault (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); err == nil && diff != "" {
				t.Errorf("window (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalizeExitCriteria(t *testing.T) {
	t.Parallel()
	got, err := nurture.NormalizeExitCriteria([]string{"replied", "unsubscribed", "replied"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"unsubscribed", "replied"}, got); diff != "" {
		t.Errorf("criteria (-want +got):\n%s", diff)
	}
	if _, err := nurture.NormalizeExitCriteria([]string{"opened"}); err == nil {
		t.Error("an unknown criterion was accepted")
	}
}

func TestValidateTimezoneAndSender(t *testing.T) {
	t.Parallel()
	for _, tz := range []string{"UTC", "Europe/London", "America/New_York"} {
		if err := nurture.ValidateTimezone(tz); err != nil {
			t.Errorf("ValidateTimezone(%q) = %v", tz, err)
		}
	}
	for _, tz := range []string{"", "Local", "Mars/Olympus", "../../etc/passwd"} {
		if err := nurture.ValidateTimezone(tz); err == nil {
			t.Errorf("ValidateTimezone(%q) accepted", tz)
		}
	}
	if err := nurture.ValidateSenderEmail("news@example.com"); err != nil {
		t.Errorf("ValidateSenderEmail: %v", err)
	}
	for _, s := range []string{"", "news", "Acme <news@example.com>", "news@example.com\r\nBcc: x@example.com", "news@localhost"} {
		if err := nurture.ValidateSenderEmail(s); err == nil {
			t.Errorf("ValidateSenderEmail(%q) accepted", s)
		}
	}
}
