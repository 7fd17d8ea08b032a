package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"leadflow/store"
)

// TestConsoleResponsesTodayInTheWorkspaceZone: the responses page counts
// today's intake from midnight in the workspace's time zone, as the home
// does, and says which zone.
func TestConsoleResponsesTodayInTheWorkspaceZone(t *testing.T) {
	t.Parallel()
	app := startRunApp(t)
	ctx := context.Background()
	const password = "correct horse battery"
	mia := app.person(t, "responses-zone-ws", "mia@responses-zone.test", store.UserMarketing, password)
	ws := mia.WorkspaceID

	// A response received between UTC's midnight and the zone's is today's
	// in one and not in the other, so the count tells which midnight the
	// page used.
	now := time.Now().UTC()
	utcMidnight := now.Truncate(24 * time.Hour)
	zone, edge, edgeToday := "Etc/GMT+1", utcMidnight.Add(30*time.Minute), false // UTC-1: today began at 01:00 UTC
	if now.Hour() < 2 {
		zone, edge, edgeToday = "Etc/GMT-1", utcMidnight.Add(-30*time.Minute), true // UTC+1: today began at 23:00 UTC
	}
	if !edge.Before(utcMidnight) != !edgeToday {
		t.Fatalf("%s in UTC: today's or not is not %v", edge, !edgeToday)
	}
	w, err := app.st.GetWorkspace(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	settings := w.WorkspaceSettings
	settings.Timezone = zone
	if _, err := app.st.UpdateWorkspaceSettings(ctx, ws, settings); err != nil {
		t.Fatal(err)
	}
	form, err := app.st.InsertForm(ctx, store.Form{WorkspaceID: ws, Name: "Contact us", Kind: store.FormContactUs})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.st.InsertResponses(ctx, []store.Response{
		{ID: store.NewID(), WorkspaceID: ws, FormID: form.ID, ReceivedAt: now, Status: store.ResponseHeld, Verdict: store.VerdictSpam},
		{ID: store.NewID(), WorkspaceID: ws, FormID: form.ID, ReceivedAt: edge, Status: store.ResponseHeld, Verdict: store.VerdictSpam},
	}, nil); err != nil {
		t.Fatal(err)
	}

	h, _ := signInOverHTTP(t, app.base, "mia@responses-zone.test", password, "/console/responses")
	status, _, doc := h.get("/console/responses")
	if status != http.StatusOK {
		t.Fatalf("responses: status %d", status)
	}
	if got := htmlText(htmlOne(t, doc, "zones", htmlElement("span", "id", "today-zone"))); got != zone {
		t.Errorf("today's intake is counted in %q, want the workspace's %q", got, zone)
	}
	received := "1"
	if edgeToday {
		received = "2"
	}
	want := [][]string{{"Contact us", received, received, "0"}}
	today := htmlOne(t, doc, "intake tables", htmlElement("table", "id", "today"))
	if diff := cmp.Diff(want, htmlBodyRows(today)); diff != "" {
		t.Errorf("today's intake (-want +got):\n%s", diff)
	}
}

// TestConsoleShowsARecordedResponsesChannelAndAnswers: a response recorded
// by hand has no form; its page names its channel, who recorded it and the
// answers given, and today's intake counts it apart from the forms.
func TestConsoleShowsARecordedResponsesChannelAndAnswers(t *testing.T) {
	t.Parallel()
	app := startRunApp(t)
	ctx := context.Background()
	const password = "correct horse battery"
	mia := app.person(t, "responses-channel-ws", "mia@responses-channel.test", store.UserMarketing, password)
	ws := mia.WorkspaceID
	id := store.NewID()
	if err := app.st.InsertResponses(ctx, []store.Response{{
		ID: id, WorkspaceID: ws, ReceivedAt: time.Now(), Channel: store.ChannelPhone, RecordedBy: "Grace <script>",
		Fields: []byte(`{"email":"ada@example.com"}`), Status: store.ResponseHeld, Verdict: store.VerdictSpam,
		Answers: []store.Answer{{Question: "Budget this year?", Answer: "Yes, <b>40k</b>"}},
	}}, nil); err != nil {
		t.Fatal(err)
	}
	h, _ := signInOverHTTP(t, app.base, "mia@responses-channel.test", password, "/console/responses")
	status, _, doc := h.get("/console/responses")
	if status != http.StatusOK {
		t.Fatalf("responses: status %d", status)
	}
	today := htmlOne(t, doc, "intake tables", htmlElement("table", "id", "today"))
	if diff := cmp.Diff([][]string{{"By phone", "1", "1", "0"}}, htmlBodyRows(today)); diff != "" {
		t.Errorf("today's intake (-want +got):\n%s", diff)
	}
	status, _, doc = h.get("/console/responses/" + id.String())
	if status != http.StatusOK {
		t.Fatalf("response page: status %d", status)
	}
	if got := htmlText(htmlOne(t, doc, "channel", htmlElement("dd", "id", "channel"))); got != "phone" {
		t.Errorf("channel shown = %q, want phone", got)
	}
	answers := htmlText(htmlOne(t, doc, "answers", htmlElement("dl", "id", "answers")))
	if answers != "Budget this year?Yes, <b>40k</b>" {
		t.Errorf("answers shown = %q", answers)
	}
	status, _, doc = h.get("/console/responses?channel=phone")
	if status != http.StatusOK {
		t.Fatalf("responses?channel=phone: status %d", status)
	}
	link := htmlOne(t, doc, "the phone response's row", htmlElement("a", "href", "/console/responses/"+id.String()))
	if row := htmlText(link.Parent.Parent); !strings.Contains(row, "By phone") {
		t.Errorf("the phone response's row = %q, want it to name the channel", row)
	}
	if status, _, _ := h.get("/console/responses?channel=fax"); status != http.StatusBadRequest {
		t.Errorf("responses?channel=fax: status %d, want 400", status)
	}
}
