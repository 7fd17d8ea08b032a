package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/embed/httpapi"
	"leadflow/nurture"
	"leadflow/store"
	"leadflow/store/storetest"
)

// setupNurtureAPI serves the nurture admin API as `serve` wires it, with the
// real nurture engine enrolling leads, on a fresh database and Redis, with
// two workspaces holding a key of every role.
func setupNurtureAPI(t *testing.T) *apiBundle {
	t.Helper()
	st := storetest.NewStore(t)
	rdb := redis.NewClient(storetest.RedisOptions(t))
	t.Cleanup(func() { rdb.Close() })
	queue := asynq.NewClientFromRedisClient(rdb)
	logger, logs := newTestLogger()
	signer, err := nurture.NewSigner(strings.Repeat("nurture-api-test-secret-", 2))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := nurture.New(nurture.Config{
		Store: st, Queue: queue, Redis: rdb, Signer: signer, BaseURL: "https://lf.example", Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	api, err := nurture.NewAPI(nurture.APIConfig{Store: st, Enroller: eng, BaseURL: "https://lf.example", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	e := newEcho(logger, nil)
	v1 := e.Group("/api/v1", httpapi.Authenticate(st))
	nurture.APIRoutes(v1, api, httpapi.RequireRole)
	nurture.BounceRoutes(v1, eng, httpapi.RequireRole)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	b := &apiBundle{st: st, srv: srv, logs: logs}
	b.a = b.workspace(t, "acme")
	b.b = b.workspace(t, "globex")
	return b
}

// The API's answers, as clients decode them.
type (
	templateJSON struct {
		ID       string            `json:"id"`
		Name     string            `json:"name"`
		Subject  string            `json:"subject"`
		HTMLBody string            `json:"html_body"`
		TextBody string            `json:"text_body"`
		Defaults map[string]string `json:"defaults"`
	}
	stepJSON struct {
		Key        string         `json:"key"`
		Type       string         `json:"type"`
		TemplateID string         `json:"template_id,omitempty"`
		Duration   string         `json:"duration,omitempty"`
		If         map[string]any `json:"if,omitempty"`
		Then       string         `json:"then,omitempty"`
		Else       string         `json:"else,omitempty"`
	}
	sequenceJSON struct {
		ID              string             `json:"id"`
		Name            string             `json:"name"`
		Status          string             `json:"status"`
		Timezone        string             `json:"timezone"`
		SendWindow      nurture.SendWindow `json:"send_window"`
		ExitCriteria    []string           `json:"exit_criteria"`
		TriggerFormIDs  []string           `json:"trigger_form_ids"`
		TriggerFormKeys []string           `json:"trigger_form_keys"`
		Steps           []stepJSON         `json:"steps"`
		Version         int                `json:"version"`
	}
	listJSON[T any] struct {
		Items      []T     `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
)

// keysOf lists a sequence's step keys.
func keysOf(s sequenceJSON) []string {
	var keys []string
	for _, st := range s.Steps {
		keys = append(keys, st.Key)
	}
	return keys
}

// nurtureFixture is what most nurture API tests start from in a workspace:
// a form, two templates and a lead.
type nurtureFixture struct {
	form      store.Form
	welcome   templateJSON
	followUp  templateJSON
	lead      store.Lead
	otherLead store.Lead
}

func (b *apiBundle) nurtureFixture(t *testing.T, w apiWorkspace) nurtureFixture {
	t.Helper()
	ctx := context.Background()
	form, err := b.st.InsertForm(ctx, store.Form{WorkspaceID: w.ws.ID, Key: "contact-" + w.ws.Name, Name: "Contact", Kind: store.FormContactUs})
	if err != nil {
		t.Fatal(err)
	}
	var f nurtureFixture
	f.form = form
	f.welcome = expectJSON[templateJSON](t, b, http.StatusCreated, w.marketing, "POST", "/api/v1/templates", map[string]any{
		"name": "Welcome", "subject": "Welcome, {{first_name|there}}",
		"html_body": `<p>Hi {{first_name}} at {{company|your company}}. <a href="https://acme.example/start">Start</a></p>`,
	})
	f.followUp = expectJSON[templateJSON](t, b, http.StatusCreated, w.marketing, "POST", "/api/v1/templates", map[string]any{
		"name": "Follow-up", "subject": "Still thinking?", "text_body": "Hello {{first_name}}",
	})
	for i, l := range []*store.Lead{&f.lead, &f.otherLead} {
		*l, err = b.st.InsertLead(ctx, store.Lead{
			WorkspaceID: w.ws.ID, FirstName: `<script>alert(1)</script>`, LastName: "Lovelace",
			Email: fmt.Sprintf("ada%d@example.com", i), EmailCanonical: fmt.Sprintf("ada%d@example.com", i),
			Company: `"><img src=x onerror=alert(1)>`, Status: store.LeadNew,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// readySettings are sending settings a sequence can be activated with.
var readySettings = map[string]any{
	"sender_name": "Acme", "sender_email": "news@acme.example", "postal_address": "Acme Ltd\n1 Main Street\nLondon",
}

// issueSequence is the issue's example sequence, keys left out.
func issueSequence(f nurtureFixture) map[string]any {
	return map[string]any{
		"name": "Welcome", "trigger_form_keys": []string{f.form.Key}, "timezone": "Europe/London",
		"send_window": map[string]any{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "start": "09:00", "end": "17:00"},
		"steps": []map[string]any{
			{"type": "email", "template_id": f.welcome.ID},
			{"type": "wait", "duration": "48h"},
			{"type": "email", "template_id": f.followUp.ID},
		},
	}
}

func TestNurtureAPITemplates(t *testing.T) {
	t.Parallel()
	b := setupNurtureAPI(t)
	w := b.a

	created := expectJSON[templateJSON](t, b, http.StatusCreated, w.marketing, "POST", "/api/v1/templates", map[string]any{
		"name": " Welcome ", "subject": "Hi {{first_name|there}}", "html_body": "<p>Hello</p>",
		"defaults": map[string]string{"first_name": "friend"},
	})
	want := templateJSON{ID: created.ID, Name: "Welcome", Subject: "Hi {{first_name|there}}", HTMLBody: "<p>Hello</p>", Defaults: map[string]string{"first_name": "friend"}}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	got := expectJSON[templateJSON](t, b, http.StatusOK, w.marketing, "GET", "/api/v1/templates/"+created.ID, nil)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}

	// PATCH changes what is sent and keeps the rest.
	patched := expectJSON[templateJSON](t, b, http.StatusOK, w.admin, "PATCH", "/api/v1/templates/"+created.ID, map[string]any{
		"subject": "Hello {{first_name}}", "text_body": "Hello",
	})
	want.Subject, want.TextBody = "Hello {{first_name}}", "Hello"
	if diff := cmp.Diff(want, patched); diff != "" {
		t.Errorf("patched (-want +got):\n%s", diff)
	}
	list := expectJSON[listJSON[templateJSON]](t, b, http.StatusOK, w.marketing, "GET", "/api/v1/templates", nil)
	if diff := cmp.Diff([]templateJSON{want}, list.Items); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		want   []string
	}{
		{"unknown merge field, no body", "POST", "/api/v1/templates", map[string]any{"name": "x", "subject": "{{frist_name}}"}, []string{"html_body", "subject", "text_body"}},
		{"unterminated field", "POST", "/api/v1/templates", map[string]any{"name": "x", "subject": "s", "text_body": "Hi {{first_name"}, []string{"text_body"}},
		{"no name", "POST", "/api/v1/templates", map[string]any{"subject": "s", "text_body": "t"}, []string{"name"}},
		{"header injection", "POST", "/api/v1/templates", map[string]any{"name": "x", "subject": "a\r\nBcc: x@example.com", "text_body": "t"}, []string{"subject"}},
		{"unknown member and wrong type", "POST", "/api/v1/templates", map[string]any{"name": "x", "subject": 3, "body": "t"}, []string{"body", "subject"}},
		{"patch to an invalid template", "PATCH", "/api/v1/templates/" + created.ID, map[string]any{"html_body": "", "text_body": ""}, []string{"html_body", "text_body"}},
	}
	for _, tt := range tests {
		fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", w.marketing, tt.method, tt.path, tt.body)
		if diff := cmp.Diff(tt.want, fieldNames(fields)); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s\n%v", tt.name, diff, fields)
		}
	}
	expectError(t, b, http.StatusNotFound, "not_found", w.marketing, "GET", "/api/v1/templates/not-an-id", nil)
}

func TestNurtureAPITemplatePreview(t *testing.T) {
	t.Parallel()
	b := setupNurtureAPI(t)
	f := b.nurtureFixture(t, b.a)
	expectJSON[map[string]any](t, b, http.StatusOK, b.a.admin, "PATCH", "/api/v1/workspace", readySettings)

	type preview struct {
		Subject, HTML, Text string
		Links               []string
	}
	got := expectJSON[preview](t, b, http.StatusOK, b.a.marketing, "POST", "/api/v1/templates/"+f.welcome.ID+"/preview",
		map[string]any{"lead_id": f.lead.ID.String()})
	want := preview{
		Subject: "Welcome, <script>alert(1)</script>",
		HTML: `<p>Hi &lt;script&gt;alert(1)&lt;/script&gt; at &#34;&gt;&lt;img src=x onerror=alert(1)&gt;. ` +
			`<a href="https://lf.example/t/preview/click/0">Start</a></p>` +
			`<div style="margin-top:24px;font-size:12px;line-height:1.5;color:#666666">` +
			`<p style="margin:0">Acme Ltd<br/>1 Main Street<br/>London</p>` +
			`<p style="margin:0"><a href="https://lf.example/t/preview/unsubscribe" style="color:#666666">Unsubscribe</a></p></div>` +
			`<img src="https://lf.example/t/preview/open" width="1" height="1" alt=""/>`,
		Text: "Hi <script>alert(1)</script> at \"><img src=x onerror=alert(1)>. Start (https://lf.example/t/preview/click/0)\n\n" +
			"--\nAcme Ltd\n1 Main Street\nLondon\nUnsubscribe: https://lf.example/t/preview/unsubscribe\n",
		Links: []string{"https://acme.example/start"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("preview (-want +got):\n%s", diff)
	}

	// Without a lead: sample data.
	sample := expectJSON[preview](t, b, http.StatusOK, b.a.marketing, "POST", "/api/v1/templates/"+f.welcome.ID+"/preview", "")
	if sample.Subject != "Welcome, Ada" {
		t.Errorf("sample subject = %q, want the sample lead's name", sample.Subject)
	}
	// A lead of another workspace is not a lead here.
	other := b.nurtureFixture(t, b.b)
	fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.marketing, "POST",
		"/api/v1/templates/"+f.welcome.ID+"/preview", map[string]any{"lead_id": other.lead.ID.String()})
	if diff := cmp.Diff([]string{"lead_id"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestNurtureAPIWorkspaceSettings(t *testing.T) {
	t.Parallel()
	b := setupNurtureAPI(t)
	w := b.a
	type settings struct {
		ID                string  `json:"id"`
		Name              string  `json:"name"`
		SenderName        string  `json:"sender_name"`
		SenderEmail       string  `json:"sender_email"`
		PostalAddress     string  `json:"postal_address"`
		SendRatePerSecond float64 `json:"send_rate_per_second"`
		RequireConsent    bool    `json:"require_consent"`
		Timezone          string  `json:"timezone"`
	}
	got := expectJSON[settings](t, b, http.StatusOK, w.sales, "GET", "/api/v1/workspace", nil)
	want := settings{ID: w.ws.ID.String(), Name: "acme", SendRatePerSecond: 10, Timezone: "UTC"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	got = expectJSON[settings](t, b, http.StatusOK, w.admin, "PATCH", "/api/v1/workspace", map[string]any{
		"sender_name": " Acme Marketing ", "sender_email": "news@acme.example", "postal_address": "Acme Ltd\r\n1 Main Street",
		"send_rate_per_second": 2.5, "require_consent": true, "timezone": "Europe/London",
	})
	want = settings{ID: w.ws.ID.String(), Name: "acme", SenderName: "Acme Marketing", SenderEmail: "news@acme.example",
		PostalAddress: "Acme Ltd\n1 Main Street", SendRatePerSecond: 2.5, RequireConsent: true, Timezone: "Europe/London"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("patched (-want +got):\n%s", diff)
	}
	// Members left out keep their values.
	got = expectJSON[settings](t, b, http.StatusOK, w.admin, "PATCH", "/api/v1/workspace", map[string]any{"require_consent": false})
	want.RequireConsent = false
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("patched again (-want +got):\n%s", diff)
	}
	// The other workspace is untouched.
	other := expectJSON[settings](t, b, http.StatusOK, b.b.admin, "GET", "/api/v1/workspace", nil)
	if other.SenderEmail != "" || other.Name != "globex" {
		t.Errorf("other workspace = %+v", other)
	}

	fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", w.admin, "PATCH", "/api/v1/workspace", map[string]any{
		"sender_name": "A\nBcc: x", "sender_email": "Acme <news@acme.example>", "send_rate_per_second": 0,
		"timezone": "Mars/Olympus", "colour": "red",
	})
	if diff := cmp.Diff([]string{"colour"}, fieldNames(fields)); diff != "" {
		t.Errorf("unknown member (-want +got):\n%s", diff)
	}
	fields = expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", w.admin, "PATCH", "/api/v1/workspace", map[string]any{
		"sender_name": "A\nBcc: x", "sender_email": "Acme <news@acme.example>", "send_rate_per_second": 10001, "timezone": "Mars/Olympus",
	})
	if diff := cmp.Diff([]string{"send_rate_per_second", "sender_email", "sender_name", "timezone"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	expectError(t, b, http.StatusForbidden, "forbidden", w.marketing, "PATCH", "/api/v1/workspace", map[string]any{"sender_name": "x"})
	expectError(t, b, http.StatusForbidden, "forbidden", w.sales, "PATCH", "/api/v1/workspace", map[string]any{"sender_name": "x"})
	expectError(t, b, http.StatusUnauthorized, "unauthorized", "", "GET", "/api/v1/workspace", nil)
}

func TestNurtureAPISequenceLifecycle(t *testing.T) {
	t.Parallel()
	b := setupNurtureAPI(t)
	w := b.a
	f := b.nurtureFixture(t, w)

	s := expectJSON[sequenceJSON](t, b, http.StatusCreated, w.marketing, "POST", "/api/v1/sequences", issueSequence(f))
	want := sequenceJSON{
		ID: s.ID, Name: "Welcome", Status: "draft", Timezone: "Europe/London",
		SendWindow:     nurture.SendWindow{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"},
		ExitCriteria:   []string{"unsubscribed", "bounced", "qualified", "converted"},
		TriggerFormIDs: []string{f.form.ID.String()}, TriggerFormKeys: []string{f.form.Key},
		Steps: []stepJSON{
			{Key: "s1", Type: "email", TemplateID: f.welcome.ID},
			{Key: "s2", Type: "wait", Duration: "2d"},
			{Key: "s3", Type: "email", TemplateID: f.followUp.ID},
		},
		Version: 1,
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	got := expectJSON[sequenceJSON](t, b, http.StatusOK, w.marketing, "GET", "/api/v1/sequences/"+s.ID, nil)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}
	list := expectJSON[listJSON[sequenceJSON]](t, b, http.StatusOK, w.marketing, "GET", "/api/v1/sequences", nil)
	if diff := cmp.Diff([]sequenceJSON{want}, list.Items); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	// Activation needs the workspace's sender and postal address.
	fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", w.marketing, "POST", "/api/v1/sequences/"+s.ID+"/activate", nil)
	if diff := cmp.Diff([]string{"postal_address", "sender_email"}, fieldNames(fields)); diff != "" {
		t.Errorf("activate without settings (-want +got):\n%s", diff)
	}
	expectJSON[map[string]any](t, b, http.StatusOK, w.admin, "PATCH", "/api/v1/workspace", readySettings)
	// A draft is neither paused nor resumed.
	expectError(t, b, http.StatusConflict, "conflict", w.marketing, "POST", "/api/v1/sequences/"+s.ID+"/pause", nil)
	expectError(t, b, http.StatusConflict, "conflict", w.marketing, "POST", "/api/v1/sequences/"+s.ID+"/resume", nil)

	for _, step := range []struct{ action, status string }{
		{"activate", "active"}, {"activate", "active"}, {"pause", "paused"}, {"pause", "paused"}, {"resume", "active"},
	} {
		got := expectJSON[sequenceJSON](t, b, http.StatusOK, w.marketing, "POST", "/api/v1/sequences/"+s.ID+"/"+step.action, nil)
		if got.Status != step.status {
			t.Errorf("%s: status = %q, want %q", step.action, got.Status, step.status)
		}
	}
	// The engine finds it by its trigger form.
	active, err := b.st.ActiveSequencesForForm(context.Background(), w.ws.ID, f.form.ID)
	if err != nil || len(active) != 1 || active[0].ID.String() != s.ID {
		t.Errorf("ActiveSequencesForForm = %v, %v; want the sequence", active, err)
	}
	// While it is live, the postal address cannot be cleared.
	fields = expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", w.admin, "PATCH", "/api/v1/workspace", map[string]any{"postal_address": " "})
	if diff := cmp.Diff([]string{"postal_address"}, fieldNames(fields)); diff != "" {
		t.Errorf("clearing the postal address (-want +got):\n%s", diff)
	}

	// A sequence with no steps cannot be activated.
	empty := expectJSON[sequenceJSON](t, b, http.StatusCreated, w.marketing, "POST", "/api/v1/sequences", map[string]any{"name": "Empty"})
	if empty.Timezone != "UTC" || len(empty.Steps) != 0 || len(empty.TriggerFormIDs) != 0 {
		t.Errorf("empty sequence = %+v", empty)
	}
	fields = expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", w.marketing, "POST", "/api/v1/sequences/"+empty.ID+"/activate", nil)
	if diff := cmp.Diff([]string{"steps"}, fieldNames(fields)); diff != "" {
		t.Errorf("activate without steps (-want +got):\n%s", diff)
	}
}

func TestNurtureAPISequenceValidation(t *testing.T) {
	t.Parallel()
	b := setupNurtureAPI(t)
	f := b.nurtureFixture(t, b.a)
	other := b.nurtureFixture(t, b.b)
	with := func(edit func(m map[string]any)) map[string]any {
		m := issueSequence(f)
		edit(m)
		return m
	}
	tests := []struct {
		name string
		body map[string]any
		want []string
	}{
		{"unknown form key", with(func(m map[string]any) { m["trigger_form_keys"] = []string{f.form.Key, "nope"} }), []string{"trigger_form_keys"}},
		{"another workspace's form key", with(func(m map[string]any) { m["trigger_form_keys"] = []string{other.form.Key} }), []string{"trigger_form_keys"}},
		{"another workspace's form id", with(func(m map[string]any) { m["trigger_form_ids"] = []string{other.form.ID.String()} }), []string{"trigger_form_ids"}},
		{"malformed form id", with(func(m map[string]any) { m["trigger_form_ids"] = []string{"x"} }), []string{"trigger_form_ids"}},
		{"bad timezone", with(func(m map[string]any) { m["timezone"] = "Europe/Atlantis" }), []string{"timezone"}},
		{"bad window", with(func(m map[string]any) {
			m["send_window"] = map[string]any{"days": []string{"someday"}, "start": "17:00", "end": "09:00"}
		}), []string{"send_window.days", "send_window.end"}},
		{"bad exit criterion", with(func(m map[string]any) { m["exit_criteria"] = []string{"opened"} }), []string{"exit_criteria"}},
		{"no name", with(func(m map[string]any) { delete(m, "name") }), []string{"name"}},
		{"another workspace's template", with(func(m map[string]any) {
			m["steps"] = []map[string]any{{"type": "email", "template_id": other.welcome.ID}}
		}), []string{"steps[0].template_id"}},
		{"wait under a second", with(func(m map[string]any) {
			m["steps"] = []map[string]any{{"type": "wait", "duration": "10ms"}}
		}), []string{"steps[0].duration"}},
		{"unreadable duration", with(func(m map[string]any) {
			m["steps"] = []map[string]any{{"type": "wait", "duration": "soon"}}
		}), []string{"steps[0]"}},
		{"unknown step member", with(func(m map[string]any) {
			m["steps"] = []map[string]any{{"type": "wait", "duration": "1m", "colour": "red"}}
		}), []string{"steps[0]"}},
		{"a loop", with(func(m map[string]any) {
			m["steps"] = []map[string]any{
				{"key": "a", "type": "email", "template_id": f.welcome.ID},
				{"key": "b", "type": "condition", "if": map[string]any{"opened": "previous"}, "else": "a"},
			}
		}), []string{"steps[1].else"}},
		{"opened before any email", with(func(m map[string]any) {
			m["steps"] = []map[string]any{{"type": "condition", "if": map[string]any{"clicked": "previous"}}}
		}), []string{"steps[0].if.clicked"}},
		{"duplicate keys", with(func(m map[string]any) {
			m["steps"] = []map[string]any{{"key": "a", "type": "exit"}, {"key": "a", "type": "exit"}}
		}), []string{"steps[1].key"}},
		{"unknown member", with(func(m map[string]any) { m["trigger"] = "contact" }), []string{"trigger"}},
	}
	for _, tt := range tests {
		fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.marketing, "POST", "/api/v1/sequences", tt.body)
		if diff := cmp.Diff(tt.want, fieldNames(fields)); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s\n%v", tt.name, diff, fields)
		}
	}
	// Form keys and IDs may be mixed; a branch both ways is fine.
	s := expectJSON[sequenceJSON](t, b, http.StatusCreated, b.a.marketing, "POST", "/api/v1/sequences", with(func(m map[string]any) {
		m["trigger_form_ids"] = []string{f.form.ID.String()}
		m["exit_criteria"] = []string{"replied", "unsubscribed"}
		m["steps"] = []map[string]any{
			{"type": "email", "template_id": f.welcome.ID},
			{"type": "wait", "duration": "90s"},
			{"type": "condition", "if": map[string]any{"opened": "previous"}, "else": "s5"},
			{"type": "email", "template_id": f.followUp.ID},
			{"type": "exit"},
		}
	}))
	wantSteps := []stepJSON{
		{Key: "s1", Type: "email", TemplateID: f.welcome.ID},
		{Key: "s2", Type: "wait", Duration: "1m30s"},
		{Key: "s3", Type: "condition", If: map[string]any{"opened": "previous"}, Then: "next", Else: "s5"},
		{Key: "s4", Type: "email", TemplateID: f.followUp.ID},
		{Key: "s5", Type: "exit"},
	}
	if diff := cmp.Diff(wantSteps, s.Steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{f.form.ID.String()}, s.TriggerFormIDs); diff != "" {
		t.Errorf("triggers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"unsubscribed", "replied"}, s.ExitCriteria); diff != "" {
		t.Errorf("exit criteria (-want +got):\n%s", diff)
	}
}

func TestNurtureAPIEditingALiveSequence(t *testing.T) {
	t.Parallel()
	b := setupNurtureAPI(t)
	w := b.a
	f := b.nurtureFixture(t, w)
	ctx := context.Background()
	expectJSON[map[string]any](t, b, http.StatusOK, w.admin, "PATCH", "/api/v1/workspace", readySettings)
	s := expectJSON[sequenceJSON](t, b, http.StatusCreated, w.marketing, "POST", "/api/v1/sequences", issueSequence(f))
	path := "/api/v1/sequences/" + s.ID

	// Only an active sequence takes enrollments (the engine says so).
	expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", w.marketing, "POST", path+"/enrollments", map[string]any{"lead_id": f.lead.ID.String()})
	expectJSON[sequenceJSON](t, b, http.StatusOK, w.marketing, "POST", path+"/activate", nil)

	enr := expectJSON[nurture.Enrollment](t, b, http.StatusCreated, w.marketing, "POST", path+"/enrollments", map[string]any{"lead_id": f.lead.ID.String()})
	if enr.StepKey != "s1" || enr.State != store.EnrollmentActive || enr.LeadID != f.lead.ID {
		t.Errorf("enrollment = %+v, want active at s1", enr)
	}
	fields := expectError(t, b, http.StatusConflict, "conflict", w.marketing, "POST", path+"/enrollments", map[string]any{"lead_id": f.lead.ID.String()})
	if diff := cmp.Diff([]string{"lead_id"}, fieldNames(fields)); diff != "" {
		t.Errorf("second enrollment (-want +got):\n%s", diff)
	}
	fields = expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", w.marketing, "POST", path+"/enrollments", map[string]any{"lead_id": "nope"})
	if diff := cmp.Diff([]string{"lead_id"}, fieldNames(fields)); diff != "" {
		t.Errorf("bad lead id (-want +got):\n%s", diff)
	}

	// Renaming keeps the steps and their keys, and bumps the version.
	renamed := expectJSON[sequenceJSON](t, b, http.StatusOK, w.marketing, "PATCH", path, map[string]any{"name": "Welcome v2"})
	if renamed.Name != "Welcome v2" || renamed.Version != 2 || renamed.Status != "active" {
		t.Errorf("renamed = %+v", renamed)
	}
	if diff := cmp.Diff(s.Steps, renamed.Steps); diff != "" {
		t.Errorf("steps after rename (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(s.TriggerFormIDs, renamed.TriggerFormIDs); diff != "" {
		t.Errorf("triggers after rename (-want +got):\n%s", diff)
	}

	// Removing the step the lead waits at is refused, naming it.
	fields = expectError(t, b, http.StatusConflict, "conflict", w.marketing, "PATCH", path, map[string]any{
		"steps": []stepJSON{s.Steps[1], s.Steps[2]},
	})
	if msg := fields["steps"]; !strings.Contains(msg, `step "s1"`) || !strings.Contains(msg, "1 active enrollment") {
		t.Errorf("409 fields = %v, want steps naming s1 and its enrollment", fields)
	}

	// Inserting a step sent without a key: the others keep theirs.
	inserted := expectJSON[sequenceJSON](t, b, http.StatusOK, w.marketing, "PATCH", path, map[string]any{
		"steps": []stepJSON{s.Steps[0], {Type: "wait", Duration: "1h"}, s.Steps[1], s.Steps[2]},
	})
	if diff := cmp.Diff([]string{"s1", "s4", "s2", "s3"}, keysOf(inserted)); diff != "" {
		t.Errorf("keys after insert (-want +got):\n%s", diff)
	}
	if inserted.Version != 3 {
		t.Errorf("version = %d, want 3", inserted.Version)
	}

	// Once the lead has moved on, s1 can go; a new step never takes the
	// key of one the lead has passed.
	if _, err := b.st.Pool.Exec(ctx, `UPDATE enrollments SET step_key = 's2', next_run_at = now() + interval '1 hour'
		WHERE workspace_id = $1 AND id = $2`, w.ws.ID, enr.ID); err != nil {
		t.Fatal(err)
	}
	trimmed := expectJSON[sequenceJSON](t, b, http.StatusOK, w.marketing, "PATCH", path, map[string]any{
		"steps": []stepJSON{{Type: "email", TemplateID: f.followUp.ID}, inserted.Steps[1], inserted.Steps[2], inserted.Steps[3]},
	})
	if diff := cmp.Diff([]string{"s5", "s4", "s2", "s3"}, keysOf(trimmed)); diff != "" {
		t.Errorf("keys after removing s1 (-want +got):\n%s", diff)
	}
	// The lead carries on from its step key.
	got, err := b.st.GetEnrollment(ctx, w.ws.ID, enr.ID)
	if err != nil || got.StepKey != "s2" || got.State != store.EnrollmentActive {
		t.Errorf("enrollment after edits = %+v, %v; want still active at s2", got, err)
	}
}

func TestNurtureAPILeadEnrollments(t *testing.T) {
	t.Parallel()
	b := setupNurtureAPI(t)
	w := b.a
	f := b.nurtureFixture(t, w)
	ctx := context.Background()
	expectJSON[map[string]any](t, b, http.StatusOK, w.admin, "PATCH", "/api/v1/workspace", readySettings)
	s := expectJSON[sequenceJSON](t, b, http.StatusCreated, w.marketing, "POST", "/api/v1/sequences", map[string]any{
		"name": "Branching",
		"steps": []map[string]any{
			{"type": "email", "template_id": f.welcome.ID},
			{"type": "condition", "if": map[string]any{"opened": "previous"}, "else": "s4"},
			{"type": "email", "template_id": f.followUp.ID},
			{"type": "wait", "duration": "1d"},
			{"type": "exit"},
		},
	})
	expectJSON[sequenceJSON](t, b, http.StatusOK, w.marketing, "POST", "/api/v1/sequences/"+s.ID+"/activate", nil)
	enr := expectJSON[nurture.Enrollment](t, b, http.StatusCreated, w.marketing, "POST", "/api/v1/sequences/"+s.ID+"/enrollments",
		map[string]any{"lead_id": f.lead.ID.String()})

	// Arrange what the engine would have done: s1's email sent and opened,
	// the condition went to s4, where the lead now waits.
	at := time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC)
	msg, _, err := b.st.InsertMessage(ctx, store.Message{
		WorkspaceID: w.ws.ID, LeadID: &f.lead.ID, EnrollmentID: &enr.ID, StepKey: "s1",
		DedupeKey: "enrollment:" + enr.ID.String() + ":s1", Kind: store.MessageMarketing, ToEmail: f.lead.Email,
		Subject: "Welcome", HTMLBody: "<p>Hi</p>", TextBody: "Hi", MessageID: "<" + uuid.NewString() + "@lf.example>",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.Pool.Exec(ctx, `UPDATE messages SET status = 'sent', sent_at = $2, opened_at = $2 WHERE id = $1`, msg.ID, at); err != nil {
		t.Fatal(err)
	}
	if err := b.st.InsertEnrollmentSteps(ctx,
		store.EnrollmentStep{EnrollmentID: enr.ID, StepKey: "s1", Outcome: store.StepOutcomeEmailQueued, At: at},
		store.EnrollmentStep{EnrollmentID: enr.ID, StepKey: "s2", Outcome: store.StepOutcomeCondition, At: at},
		store.EnrollmentStep{EnrollmentID: enr.ID, StepKey: "s4", Outcome: store.StepOutcomeWaiting, At: at},
	); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.Pool.Exec(ctx, `UPDATE enrollments SET step_key = 's4', next_run_at = $3, updated_at = $4
		WHERE workspace_id = $1 AND id = $2`, w.ws.ID, enr.ID, at.Add(24*time.Hour), at); err != nil {
		t.Fatal(err)
	}

	type stepState struct {
		Key, Type, State, Outcome string
		Message                   *struct {
			Status   string     `json:"status"`
			SentAt   *time.Time `json:"sent_at"`
			OpenedAt *time.Time `json:"opened_at"`
		}
	}
	type enrollmentView struct {
		ID           string      `json:"id"`
		SequenceID   string      `json:"sequence_id"`
		SequenceName string      `json:"sequence_name"`
		State        string      `json:"state"`
		StepKey      string      `json:"step_key"`
		Steps        []stepState `json:"steps"`
	}
	// Sales may see where a lead is.
	got := expectJSON[listJSON[enrollmentView]](t, b, http.StatusOK, w.sales, "GET", "/api/v1/leads/"+f.lead.ID.String()+"/enrollments", nil)
	sent := &struct {
		Status   string     `json:"status"`
		SentAt   *time.Time `json:"sent_at"`
		OpenedAt *time.Time `json:"opened_at"`
	}{Status: "sent", SentAt: &at, OpenedAt: &at}
	want := []enrollmentView{{
		ID: enr.ID.String(), SequenceID: s.ID, SequenceName: "Branching", State: "active", StepKey: "s4",
		Steps: []stepState{
			{Key: "s1", Type: "email", State: "done", Outcome: "email_queued", Message: sent},
			{Key: "s2", Type: "condition", State: "done", Outcome: "condition"},
			{Key: "s3", Type: "email", State: "skipped"},
			{Key: "s4", Type: "wait", State: "current", Outcome: "waiting"},
			{Key: "s5", Type: "exit", State: "pending"},
		},
	}}
	if diff := cmp.Diff(want, got.Items); diff != "" {
		t.Errorf("enrollments (-want +got):\n%s", diff)
	}

	// Finished: what never ran was skipped.
	if _, err := b.st.Pool.Exec(ctx, `UPDATE enrollments SET state = $3, exit_reason = 'unsubscribed', step_key = '',
		next_run_at = NULL, updated_at = $4 WHERE workspace_id = $1 AND id = $2`, w.ws.ID, enr.ID, store.EnrollmentExited, at); err != nil {
		t.Fatal(err)
	}
	got = expectJSON[listJSON[enrollmentView]](t, b, http.StatusOK, w.marketing, "GET", "/api/v1/leads/"+f.lead.ID.String()+"/enrollments", nil)
	var states []string
	for _, st := range got.Items[0].Steps {
		states = append(states, st.State)
	}
	if diff := cmp.Diff([]string{"done", "done", "skipped", "done", "skipped"}, states); diff != "" {
		t.Errorf("states after exit (-want +got):\n%s", diff)
	}
	// A lead without enrollments has an empty list; another workspace's
	// lead is not found.
	none := expectJSON[listJSON[enrollmentView]](t, b, http.StatusOK, w.marketing, "GET", "/api/v1/leads/"+f.otherLead.ID.String()+"/enrollments", nil)
	if none.Items == nil || len(none.Items) != 0 {
		t.Errorf("no enrollments = %#v, want an empty list", none.Items)
	}
	expectError(t, b, http.StatusNotFound, "not_found", b.b.admin, "GET", "/api/v1/leads/"+f.lead.ID.String()+"/enrollments", nil)
}

func TestNurtureAPIRolesAndIsolation(t *testing.T) {
	t.Parallel()
	b := setupNurtureAPI(t)
	f := b.nurtureFixture(t, b.a)
	s := expectJSON[sequenceJSON](t, b, http.StatusCreated, b.a.marketing, "POST", "/api/v1/sequences", issueSequence(f))
	tpl := "/api/v1/templates/" + f.welcome.ID
	seq := "/api/v1/sequences/" + s.ID
	leadBody := map[string]any{"lead_id": f.lead.ID.String()}

	// Sales configures nothing.
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/templates", map[string]any{"name": "x"}}, {"GET", "/api/v1/templates", nil},
		{"GET", tpl, nil}, {"PATCH", tpl, map[string]any{"name": "x"}}, {"POST", tpl + "/preview", nil},
		{"POST", "/api/v1/sequences", map[string]any{"name": "x"}}, {"GET", "/api/v1/sequences", nil},
		{"GET", seq, nil}, {"PATCH", seq, map[string]any{"name": "x"}},
		{"POST", seq + "/activate", nil}, {"POST", seq + "/pause", nil}, {"POST", seq + "/resume", nil},
		{"POST", seq + "/enrollments", leadBody},
	} {
		expectError(t, b, http.StatusForbidden, "forbidden", b.a.sales, r.method, r.path, r.body)
		// Another workspace's marketing key does not see these records.
		if r.path != "/api/v1/templates" && r.path != "/api/v1/sequences" {
			expectError(t, b, http.StatusNotFound, "not_found", b.b.marketing, r.method, r.path, r.body)
		}
	}
	// Lists are per workspace.
	if l := expectJSON[listJSON[templateJSON]](t, b, http.StatusOK, b.b.marketing, "GET", "/api/v1/templates", nil); len(l.Items) != 0 {
		t.Errorf("workspace b lists a's templates: %v", l.Items)
	}
	if l := expectJSON[listJSON[sequenceJSON]](t, b, http.StatusOK, b.b.marketing, "GET", "/api/v1/sequences", nil); len(l.Items) != 0 {
		t.Errorf("workspace b lists a's sequences: %v", l.Items)
	}
	// A lead of another workspace cannot be enrolled.
	other := b.nurtureFixture(t, b.b)
	fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.marketing, "POST", seq+"/enrollments",
		map[string]any{"lead_id": other.lead.ID.String()})
	if diff := cmp.Diff([]string{"lead_id"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

// TestNurtureAPISuppressionRemoval: marketing takes a bounce back with a
// reason, through the API as served; the removal is recorded with the key
// that made it and on the lead's audit trail; a second removal is a 404
// that names the address; without a reason nothing is removed.
func TestNurtureAPISuppressionRemoval(t *testing.T) {
	t.Parallel()
	b := setupNurtureAPI(t)
	ctx := context.Background()
	lead, err := b.st.InsertLead(ctx, store.Lead{WorkspaceID: b.a.ws.ID, FirstName: "Ada", Email: "ada@lead.test",
		EmailCanonical: "ada@lead.test", Status: store.LeadNurturing})
	if err != nil {
		t.Fatal(err)
	}
	expectJSON[map[string]any](t, b, http.StatusCreated, b.a.marketing, "POST", "/api/v1/bounces",
		map[string]any{"email": "ada@lead.test", "type": "hard", "detail": "550 no such user"})

	fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.marketing, "DELETE",
		"/api/v1/suppressions/ada@lead.test", nil)
	if diff := cmp.Diff([]string{"reason"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields without a reason (-want +got):\n%s", diff)
	}
	expectError(t, b, http.StatusForbidden, "forbidden", b.a.sales, "DELETE", "/api/v1/suppressions/ada@lead.test",
		map[string]any{"reason": "x"})
	expectError(t, b, http.StatusNotFound, "not_found", b.b.marketing, "DELETE", "/api/v1/suppressions/ada@lead.test",
		map[string]any{"reason": "x"})

	type removal struct {
		Email          string `json:"email"`
		SuppressReason string `json:"suppress_reason"`
		RemovedBy      string `json:"removed_by"`
		Reason         string `json:"reason"`
	}
	got := expectJSON[removal](t, b, http.StatusOK, b.a.marketing, "DELETE", "/api/v1/suppressions/ada@lead.test",
		map[string]any{"reason": "new mailbox, confirmed by phone"})
	key, err := b.st.AuthenticateAPIKey(ctx, b.a.marketing)
	if err != nil {
		t.Fatal(err)
	}
	actor := "api_key:" + key.ID.String()
	if diff := cmp.Diff(removal{"ada@lead.test", store.SuppressBounced, actor, "new mailbox, confirmed by phone"}, got); diff != "" {
		t.Errorf("removal (-want +got):\n%s", diff)
	}
	if _, err := b.st.GetSuppression(ctx, b.a.ws.ID, "ada@lead.test"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("suppression after removal: %v, want not found", err)
	}
	audit, err := b.st.LeadAudit(ctx, b.a.ws.ID, lead.ID)
	if err != nil {
		t.Fatal(err)
	}
	var entries []string
	for _, a := range audit {
		if a.Action == store.AuditSuppressionRemoved {
			entries = append(entries, a.Actor+" "+a.OldValue+" -> "+a.NewValue)
		}
	}
	if diff := cmp.Diff([]string{actor + " bounced -> removed: new mailbox, confirmed by phone"}, entries); diff != "" {
		t.Errorf("lead audit (-want +got):\n%s", diff)
	}

	status, data := b.call(t, b.a.marketing, "DELETE", "/api/v1/suppressions/ada@lead.test", map[string]any{"reason": "again"})
	var e httpapi.ErrorBody
	if err := json.Unmarshal(data, &e); err != nil || status != http.StatusNotFound || e.Message != "ada@lead.test is not suppressed" {
		t.Errorf("removing again = %d %s, want 404 saying the address is not suppressed", status, data)
	}
}
