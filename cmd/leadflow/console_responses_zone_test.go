package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

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

// TestConsoleLogsAResponseFromALeadsPage: "log a response" opened from a
// lead is filled in with the lead's person; what it records is kept with
// its channel, answers and recorder and resolved into that lead, and a
// refused post keeps nothing and says why.
func TestConsoleLogsAResponseFromALeadsPage(t *testing.T) {
	t.Parallel()
	app := startRunApp(t)
	ctx := context.Background()
	const password = "correct horse battery"
	sam := app.person(t, "log-response-ws", "sam@log-response.test", store.UserSalesRep, password)
	ws := sam.WorkspaceID
	lead, err := app.st.InsertLead(ctx, store.Lead{WorkspaceID: ws, Email: "ada@example.com", EmailCanonical: "ada@example.com",
		FirstName: "Ada", LastName: "Lovelace", Status: store.LeadNew})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := signInOverHTTP(t, app.base, "sam@log-response.test", password, "/console/leads")
	path := "/console/responses/new?lead_id=" + lead.ID.String()
	status, _, doc := h.get(path)
	if status != http.StatusOK {
		t.Fatalf("log a response: status %d", status)
	}
	if got := htmlAttr(htmlOne(t, doc, "email", htmlElement("input", "id", "lr-email")), "value"); got != "ada@example.com" {
		t.Errorf("email filled in = %q, want the lead's", got)
	}
	form := htmlOne(t, doc, "the form", htmlElement("form", "id", "log-response"))
	token := htmlAttr(htmlOne(t, form, "csrf", htmlElement("input", "name", "csrf_token")), "value")
	post := func(form url.Values) (int, string) {
		form.Set("csrf_token", token)
		resp, err := h.c.PostForm(h.base+"/console/responses/new", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Request.URL.RequestURI()
	}
	responses := func() int {
		var n int
		if err := app.st.Pool.QueryRow(ctx, `SELECT count(*) FROM responses WHERE workspace_id = $1`, ws).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	if status, _ := post(url.Values{"channel": {"phone"}, "first_name": {"Nobody"}}); status != http.StatusUnprocessableEntity || responses() != 0 {
		t.Fatalf("a response with no email nor phone: status %d, %d responses kept", status, responses())
	}
	if status, _ := post(url.Values{"channel": {"web"}, "email": {"ada@example.com"}}); status != http.StatusUnprocessableEntity || responses() != 0 {
		t.Fatalf("a web response logged by hand: status %d, %d responses kept", status, responses())
	}
	if status, _ := post(url.Values{"channel": {"phone"}, "email": {"ada@example.com"}, "answer_1": {"yes"}}); status != http.StatusUnprocessableEntity || responses() != 0 {
		t.Fatalf("an answer without its question: status %d, %d responses kept", status, responses())
	}
	status, landed := post(url.Values{"channel": {"phone"}, "email": {"ada@example.com"}, "lead_id": {lead.ID.String()},
		"question_0": {"Budget this year?"}, "answer_0": {"Yes"}, "question_2": {"Team size?"}, "answer_2": {"40"}})
	if status != http.StatusOK || !strings.HasPrefix(landed, "/console/responses/new?logged=") {
		t.Fatalf("logging a response: status %d, landed on %s", status, landed)
	}
	var r store.Response
	var id uuid.UUID
	if err := app.st.Pool.QueryRow(ctx, `SELECT id FROM responses WHERE workspace_id = $1`, ws).Scan(&id); err != nil {
		t.Fatal(err)
	}
	// The worker resolves it into Ada's lead.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if r, err = app.st.GetResponse(ctx, ws, id); err != nil {
			t.Fatal(err)
		}
		if r.Status == store.ResponseProcessed || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.Channel != store.ChannelPhone || r.FormID != uuid.Nil || r.LeadID == nil || *r.LeadID != lead.ID || r.Outcome != "merged" {
		t.Fatalf("logged response = channel %s form %s lead %v outcome %s status %s, want phone, no form, merged into %s",
			r.Channel, r.FormID, r.LeadID, r.Outcome, r.Status, lead.ID)
	}
	want := []store.Answer{{Question: "Budget this year?", Answer: "Yes"}, {Question: "Team size?", Answer: "40"}}
	if diff := cmp.Diff(want, r.Answers); diff != "" || !strings.Contains(r.RecordedBy, sam.ID.String()) {
		t.Errorf("answers (-want +got):\n%s\nrecorded by %q, want the signed-in user", diff, r.RecordedBy)
	}
}
