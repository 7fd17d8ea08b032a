package main

import (
	"context"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"leadflow/store"
)

// The SMTP pool size is a setting, checked at start against the worker
// concurrency: a send holds a worker while it waits for a connection.
func TestSMTPConnectionsCheckedAtStart(t *testing.T) {
	t.Parallel()
	parse := func(env map[string]string) (Config, error) {
		fs := flag.NewFlagSet("work", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		finish := configFlags(fs, envFunc(env))
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		return finish()
	}
	cfg, err := parse(map[string]string{})
	if err != nil || cfg.SMTPConnections != 4 || cfg.NurtureMaxAttempts != 10 {
		t.Fatalf("defaults: %d connections, %d attempts, %v; want 4, 10", cfg.SMTPConnections, cfg.NurtureMaxAttempts, err)
	}
	cfg, err = parse(map[string]string{"LEADFLOW_WORKER_CONCURRENCY": "2", "LEADFLOW_SMTP_CONNECTIONS": "2", "LEADFLOW_NURTURE_MAX_ATTEMPTS": "3"})
	if err != nil || cfg.SMTPConnections != 2 || cfg.NurtureMaxAttempts != 3 {
		t.Fatalf("2 connections for 2 workers: %+v, %v", cfg, err)
	}
	if s := cfg.String(); !strings.Contains(s, "smtp_connections=2") || !strings.Contains(s, "nurture_max_attempts=3") {
		t.Errorf("Config.String() = %s", s)
	}
	for env, want := range map[[2]string]string{
		{"2", "4"}:     "smtp connections (4) must not exceed the worker concurrency (2)",
		{"10", "0"}:    `smtp connections "0"`,
		{"10", "many"}: `smtp connections "many"`,
	} {
		_, err := parse(map[string]string{"LEADFLOW_WORKER_CONCURRENCY": env[0], "LEADFLOW_SMTP_CONNECTIONS": env[1]})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("concurrency %s, connections %s: %v; want an error saying %q", env[0], env[1], err, want)
		}
	}
}

// Failed messages and enrollments are listed with their attempts and last
// error, and retried, by marketing, in their own workspace only.
func TestNurtureAPIFailedWorkListedAndRetried(t *testing.T) {
	t.Parallel()
	b := setupNurtureAPI(t)
	f := b.nurtureFixture(t, b.a)
	ctx := context.Background()
	tpl := expectJSON[templateJSON](t, b, http.StatusCreated, b.a.marketing, "POST", "/api/v1/templates", map[string]any{
		"name": "Plain", "subject": "Plain", "text_body": "Plain"})
	expectJSON[map[string]any](t, b, http.StatusOK, b.a.admin, "PATCH", "/api/v1/workspace", readySettings)
	seq := expectJSON[sequenceJSON](t, b, http.StatusCreated, b.a.marketing, "POST", "/api/v1/sequences", map[string]any{
		"name": "One", "timezone": "UTC", "steps": []map[string]any{{"key": "s1", "type": "email", "template_id": tpl.ID}}})
	expectJSON[map[string]any](t, b, http.StatusOK, b.a.marketing, "POST", "/api/v1/sequences/"+seq.ID+"/activate", nil)
	enr := expectJSON[struct {
		ID string `json:"id"`
	}](t, b, http.StatusCreated, b.a.marketing, "POST", "/api/v1/sequences/"+seq.ID+"/enrollments", map[string]any{"lead_id": f.lead.ID})

	// The step fails for good; its message, made by hand, too.
	enrID, err := store.ParseID(enr.ID)
	if err != nil {
		t.Fatal(err)
	}
	failed, err := b.st.FailEnrollmentStep(ctx, b.a.ws.ID, enrID, "s1", "step broke", 1, time.Now(), time.Now())
	if err != nil || failed.State != store.EnrollmentFailed {
		t.Fatalf("fail the step: %+v, %v", failed, err)
	}
	msg, _, err := b.st.InsertMessage(ctx, store.Message{WorkspaceID: b.a.ws.ID, LeadID: &f.lead.ID, DedupeKey: "api-test",
		Kind: store.MessageTransactional, ToEmail: f.lead.Email, Subject: "Hi", TextBody: "Hi", MessageID: "api-test@lf.example"})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := b.st.DeferOrFailMessage(ctx, b.a.ws.ID, msg.ID, 0, true, "relay broke", 1, time.Now()); err != nil || m.Status != store.MessageFailed {
		t.Fatalf("fail the message: %+v, %v", m, err)
	}

	type failedJSON struct {
		ID        string `json:"id"`
		State     string `json:"state,omitempty"`
		Status    string `json:"status,omitempty"`
		StepKey   string `json:"step_key"`
		Attempts  int    `json:"attempts"`
		LastError string `json:"last_error"`
	}
	type listJSON struct{ Items []failedJSON }
	gotEnr := expectJSON[listJSON](t, b, http.StatusOK, b.a.marketing, "GET", "/api/v1/enrollments?state=failed", nil)
	if diff := cmp.Diff([]failedJSON{{ID: enr.ID, State: "failed", StepKey: "s1", Attempts: 1, LastError: "step broke"}}, gotEnr.Items); diff != "" {
		t.Errorf("failed enrollments (-want +got):\n%s", diff)
	}
	gotMsg := expectJSON[listJSON](t, b, http.StatusOK, b.a.marketing, "GET", "/api/v1/messages?status=failed", nil)
	if diff := cmp.Diff([]failedJSON{{ID: msg.ID.String(), Status: "failed", Attempts: 1, LastError: "relay broke"}}, gotMsg.Items); diff != "" {
		t.Errorf("failed messages (-want +got):\n%s", diff)
	}
	if got := expectJSON[listJSON](t, b, http.StatusOK, b.b.marketing, "GET", "/api/v1/messages?status=failed", nil); len(got.Items) != 0 {
		t.Errorf("another workspace sees %d failed messages", len(got.Items))
	}
	expectError(t, b, http.StatusForbidden, "forbidden", b.a.sales, "GET", "/api/v1/messages?status=failed", nil)
	expectError(t, b, http.StatusNotFound, "not_found", b.b.marketing, "POST", "/api/v1/messages/"+msg.ID.String()+"/retry", nil)

	if got := expectJSON[failedJSON](t, b, http.StatusOK, b.a.marketing, "POST", "/api/v1/enrollments/"+enr.ID+"/retry", nil); got.State != "active" {
		t.Errorf("retried enrollment: %+v", got)
	}
	if got := expectJSON[failedJSON](t, b, http.StatusOK, b.a.marketing, "POST", "/api/v1/messages/"+msg.ID.String()+"/retry", nil); got.Status != "queued" {
		t.Errorf("retried message: %+v", got)
	}
	expectError(t, b, http.StatusConflict, "conflict", b.a.marketing, "POST", "/api/v1/messages/"+msg.ID.String()+"/retry", nil)
	if got := expectJSON[listJSON](t, b, http.StatusOK, b.a.marketing, "GET", "/api/v1/enrollments?state=failed", nil); len(got.Items) != 0 {
		t.Errorf("failed enrollments after the retry: %+v", got.Items)
	}
}
