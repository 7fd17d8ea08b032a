package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"leadflow/capture"
	"leadflow/embed/httpapi"
	"leadflow/store"
)

// apiStatus is the status of an admin API request made with key.
func apiStatus(t *testing.T, base, key, method, path string, body any) int {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// apiKeyFor stores a key of role for the workspace and returns it.
func (a *consoleApp) apiKeyFor(t *testing.T, ws uuid.UUID, role store.Role) string {
	t.Helper()
	secret := httpapi.NewAPIKeySecret()
	if _, err := a.st.InsertAPIKey(context.Background(), store.APIKey{WorkspaceID: ws, Role: role, Name: "test", Prefix: httpapi.APIKeyPrefix(secret)}, secret); err != nil {
		t.Fatal(err)
	}
	return secret
}

// TestConsoleAdminInBrowser drives marketing's and the admin's pages of a
// real leadflow in a real Chromium, one tab per case, all cases at once.
func TestConsoleAdminInBrowser(t *testing.T) {
	app := startConsoleApp(t)
	const password = "correct horse battery"

	t.Run("an API key made in the console works until it is revoked there", func(t *testing.T) {
		t.Parallel()
		app.person(t, "keys-ws", "ada@keys.test", store.UserAdmin, password)
		tab := browsers.Tab(t, app.base)
		tab.SignIn("ada@keys.test", password, "/console/api-keys")
		// A name is required: the error is next to its field, the role kept.
		tab.Choose("#key-role", "marketing")
		if status := tab.Click("form[action='/console/api-keys'] button[type=submit]"); status != http.StatusUnprocessableEntity {
			t.Fatalf("key without a name: status %d, want 422", status)
		}
		if n := tab.Count("#key-name[aria-invalid=true][aria-describedby=key-name-error]"); n != 1 {
			t.Errorf("name field marked invalid = %d, want 1", n)
		}
		tab.Type("#key-name", "CI pipeline")
		tab.Choose("#key-role", "marketing")
		if status := tab.Click("form[action='/console/api-keys'] button[type=submit]"); status != http.StatusCreated {
			t.Fatalf("make key: status %d, want 201", status)
		}
		tab.Shot("apikeys-created")
		secret := tab.Value("#new-key")
		if !strings.HasPrefix(secret, httpapi.APIKeyStart) || len(secret) < 40 {
			t.Fatalf("key shown = %q, want a fresh lf_ key", secret)
		}
		if got := apiStatus(t, app.base, secret, "GET", "/api/v1/criteria", nil); got != http.StatusOK {
			t.Fatalf("GET /api/v1/criteria with the new key: %d, want 200", got)
		}
		// Shown once: the list never shows it again.
		tab.Open("/console/api-keys")
		if page := tab.Text("main"); strings.Contains(page, secret[len(httpapi.APIKeyPrefix(secret)):]) || !strings.Contains(page, "CI pipeline") {
			t.Errorf("keys page after making the key: shows the key again or misses its name:\n%s", page)
		}
		if got := tab.Text("tbody tr td:nth-child(5)"); got == "never" {
			t.Errorf("last used = %q after a request with the key", got)
		}
		tab.ConfirmYes()
		if status := tab.Click("form[action$='/revoke'] button"); status != http.StatusOK {
			t.Fatalf("revoke: status %d", status)
		}
		tab.Shot("apikeys")
		if got := apiStatus(t, app.base, secret, "GET", "/api/v1/criteria", nil); got != http.StatusUnauthorized {
			t.Errorf("GET /api/v1/criteria with the revoked key: %d, want 401", got)
		}
		if n := tab.Count("tr.inactive"); n != 1 {
			t.Errorf("revoked rows = %d, want 1", n)
		}
	})

	t.Run("a marketer tries criteria on a lead and sees the decision and the values read", func(t *testing.T) {
		t.Parallel()
		p := app.person(t, "criteria-ws", "mia@criteria.test", store.UserMarketing, password)
		key := app.apiKeyFor(t, p.WorkspaceID, store.RoleMarketing)
		for _, expr := range []string{`score >= 10 && grade in ["A", "B"]`, "score >= 15\n&& grade in [\"A\", \"B\"]\n&& country == \"US\""} {
			body := map[string]any{"name": "MQL", "expression": expr, "description": "Agreed in the weekly review",
				"agreed_by": map[string]string{"marketing": "Mia", "sales": "Sam"}}
			if got := apiStatus(t, app.base, key, "POST", "/api/v1/criteria", body); got != http.StatusCreated {
				t.Fatalf("POST /api/v1/criteria: %d", got)
			}
		}
		lead, err := app.st.InsertLead(context.Background(), store.Lead{WorkspaceID: p.WorkspaceID, Email: "<script>alert(1)</script>@x.test",
			Status: store.LeadNurturing, Score: 20, Grade: "B", Country: "US"})
		if err != nil {
			t.Fatal(err)
		}
		tab := browsers.Tab(t, app.base)
		tab.SignIn("mia@criteria.test", password, "/console/criteria")
		tab.Click("a[href^='/console/criteria/']") // newest first: v2
		if got := tab.Text("main h1"); !strings.HasPrefix(got, "MQL v2") {
			t.Fatalf("version page title %q, want MQL v2", got)
		}
		if add, del := tab.Count(".diff-add"), tab.Count(".diff-del"); add != 3 || del != 1 {
			t.Errorf("diff from v1: %d lines added, %d removed; want 3 and 1", add, del)
		}
		tab.Type("#try-lead", lead.ID.String())
		tab.Click("#try button[type=submit]")
		tab.Shot("criteria-try")
		if got := tab.Text(".decision"); !strings.HasPrefix(got, "Qualifies") || !strings.Contains(got, "<script>") {
			t.Errorf("decision = %q, want Qualifies for the lead (its address shown as text)", got)
		}
		for field, want := range map[string]string{"score": "20", "grade": `"B"`, "country": `"US"`} {
			if got := tab.Text("table.values tr.value-" + field + " td"); got != want {
				t.Errorf("value read for %s = %q, want %q", field, got, want)
			}
		}
		// A draft that does not compile: the error is next to the field.
		tab.Type("#try-expression", "score >= ")
		if status := tab.Click("#try button[type=submit]"); status != http.StatusUnprocessableEntity {
			t.Errorf("bad draft: status %d, want 422", status)
		}
		if n := tab.Count("#try-expression[aria-invalid=true] ~ #try-expression-error"); n != 1 {
			t.Errorf("expression error next to the field = %d, want 1", n)
		}
		tab.Type("#try-expression", `country == "FR"`)
		tab.Click("#try button[type=submit]")
		if got := tab.Text(".decision"); !strings.HasPrefix(got, "Does not qualify") {
			t.Errorf("decision for a draft that does not match = %q", got)
		}
		tab.ConfirmYes()
		if status := tab.Click("form[action$='/activate'] button"); status != http.StatusOK {
			t.Fatalf("activate: status %d", status)
		}
		if got := tab.Text("main h1 .tag"); got != "active" {
			t.Errorf("status after activation = %q, want active", got)
		}
		tab.Shot("criteria-diff")
	})

	t.Run("a marketer's home is today's intake and the funnel; the funnel page draws a period, a bad date shown next to its field", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		p := app.person(t, "funnel-ws", "mia@funnel.test", store.UserMarketing, password)
		contact, err := app.st.InsertForm(ctx, store.Form{WorkspaceID: p.WorkspaceID, Name: "Contact us", Kind: store.FormContactUs})
		if err != nil {
			t.Fatal(err)
		}
		webinar, err := app.st.InsertForm(ctx, store.Form{WorkspaceID: p.WorkspaceID, Name: "Webinar", Kind: store.FormContactUs})
		if err != nil {
			t.Fatal(err)
		}
		// Three leads, each made by a response today; and a response held
		// as spam.
		for i, src := range []string{"Web", "Web", "Ads"} {
			status := store.LeadNew
			if i == 0 {
				status = store.LeadNurturing
			}
			l, err := app.st.InsertLead(ctx, store.Lead{WorkspaceID: p.WorkspaceID, Email: src + string(rune('a'+i)) + "@f.test",
				Status: status, LeadSource: src})
			if err != nil {
				t.Fatal(err)
			}
			r := store.Response{ID: store.NewID(), WorkspaceID: p.WorkspaceID, FormID: contact.ID, ReceivedAt: time.Now(), LeadSource: src}
			if src == "Ads" {
				r.FormID = webinar.ID
			}
			if err := app.st.InsertResponses(ctx, []store.Response{r}, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := app.st.MarkResponseProcessed(ctx, p.WorkspaceID, r.ID, l.ID, capture.OutcomeCreated, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if err := app.st.InsertResponses(ctx, []store.Response{{ID: store.NewID(), WorkspaceID: p.WorkspaceID, FormID: contact.ID, ReceivedAt: time.Now(),
			Verdict: store.VerdictSpam, VerdictReason: "honeypot", Status: store.ResponseHeld}}, nil); err != nil {
			t.Fatal(err)
		}
		tab := browsers.Tab(t, app.base)
		tab.SignIn("mia@funnel.test", password, "/console/")
		tab.Shot("home-funnel")
		// Received, new leads, spam held, failed.
		if got := strings.Join(strings.Fields(tab.Text("#today tbody tr:nth-child(1)")), " "); got != "Contact us 3 2 1 0" {
			t.Errorf("today's intake, first form: %q, want Contact us with 3 responses, 2 new leads, 1 spam held", got)
		}
		if got := strings.Join(strings.Fields(tab.Text("#today tbody tr:nth-child(2)")), " "); got != "Webinar 1 1 0 0" {
			t.Errorf("today's intake, second form: %q, want Webinar with 1 response, 1 new lead", got)
		}
		if n := tab.Count("svg.funnel-chart rect.bar"); n != 7 {
			t.Errorf("bars on the home = %d, want 7 (one per stage)", n)
		}
		if got := tab.Text("table.funnel-steps tr:nth-child(2) td"); got != "3" {
			t.Errorf("leads of the last 30 days on the home = %q, want 3", got)
		}

		tab.Open("/console/funnel")
		today := time.Now().UTC()
		from, to := today.AddDate(0, 0, -7).Format(time.DateOnly), today.Format(time.DateOnly)
		tab.Choose("#funnel-from", from) // a date input takes its value, not keystrokes in the locale's order
		tab.Choose("#funnel-to", to)
		if status := tab.Click("form[action='/console/funnel'] button[type=submit]"); status != http.StatusOK {
			t.Fatalf("funnel: status %d", status)
		}
		tab.Shot("funnel")
		if n := tab.Count("svg.funnel-chart rect.bar"); n != 7 {
			t.Errorf("bars = %d, want 7 (one per stage)", n)
		}
		if got := tab.Text("table.funnel-steps tr:nth-child(2) td"); got != "3" {
			t.Errorf("leads in the period = %q, want 3", got)
		}
		tab.Click("a[href*='group=Web']")
		if got := tab.Text("table.funnel-steps tr:nth-child(2) td"); got != "2" {
			t.Errorf("leads from Web = %q, want 2", got)
		}
		if status := tab.Open("/console/funnel?from=2026-13-45&to=" + to); status != http.StatusUnprocessableEntity {
			t.Errorf("bad from: status %d, want 422", status)
		}
		if n := tab.Count("#funnel-from[aria-invalid=true][aria-describedby=funnel-from-error]"); n != 1 {
			t.Errorf("from marked invalid = %d, want 1", n)
		}
		if got := tab.Value("#funnel-from"); got != "" && got != "2026-13-45" {
			t.Errorf("from field = %q, want what was typed", got)
		}
		tab.Phone()
		tab.Open("/console/")
		tab.Shot("home-funnel-phone")
	})

	t.Run("an admin makes a webhook, sees its secret once and deletes it", func(t *testing.T) {
		t.Parallel()
		app.person(t, "hooks-ws", "ada@hooks.test", store.UserAdmin, password)
		tab := browsers.Tab(t, app.base)
		tab.SignIn("ada@hooks.test", password, "/console/webhooks")
		// The delivery guard refuses a private address at once, next to the
		// field, and keeps what was typed.
		tab.Type("#webhook-url", "http://127.0.0.1:9/hook")
		tab.Do(chromedp.Click(chromedp.CSS("input[name=events][value='handoff.created']"), chromedp.NodeVisible))
		if status := tab.Click("form[action='/console/webhooks'] button[type=submit]"); status != http.StatusUnprocessableEntity {
			t.Fatalf("webhook to loopback: status %d, want 422", status)
		}
		if got := tab.Text("#webhook-url-error"); !strings.Contains(got, "public address") {
			t.Errorf("url error = %q", got)
		}
		if got := tab.Value("#webhook-url"); got != "http://127.0.0.1:9/hook" {
			t.Errorf("url kept = %q", got)
		}
		if n := tab.Count("input[name=events][value='handoff.created']:checked"); n != 1 {
			t.Errorf("chosen event kept = %d, want 1", n)
		}
		tab.Type("#webhook-url", "https://1.1.1.1/leadflow-hook")
		if status := tab.Click("form[action='/console/webhooks'] button[type=submit]"); status != http.StatusCreated {
			t.Fatalf("make webhook: status %d, want 201", status)
		}
		secret := tab.Value("#new-secret")
		if !strings.HasPrefix(secret, "whsec_") {
			t.Fatalf("secret shown = %q", secret)
		}
		tab.Shot("webhooks")
		tab.Open("/console/webhooks")
		if page := tab.Text("main"); strings.Contains(page, secret) || !strings.Contains(page, "https://1.1.1.1/leadflow-hook") {
			t.Errorf("webhooks page shows the secret again or misses the webhook:\n%s", page)
		}
		tab.ConfirmYes()
		if status := tab.Click("form[action$='/delete'] button"); status != http.StatusOK {
			t.Fatalf("delete: status %d", status)
		}
		if n := tab.Count("article.webhook"); n != 0 {
			t.Errorf("webhooks after deleting the only one = %d", n)
		}
	})

	t.Run("an admin makes a team and sets its members' weights, caps and availability", func(t *testing.T) {
		t.Parallel()
		app.person(t, "teams-ws", "ada@teams.test", store.UserAdmin, password)
		sam := app.person(t, "teams-ws", "sam@teams.test", store.UserSalesRep, "")
		tab := browsers.Tab(t, app.base)
		tab.SignIn("ada@teams.test", password, "/console/teams")
		tab.Type("#team-name", "West")
		if status := tab.Click("form[action='/console/teams'] button[type=submit]"); status != http.StatusOK || !strings.HasPrefix(tab.Path(), "/console/teams/") {
			t.Fatalf("make team: status %d at %s", status, tab.Path())
		}
		tab.Type("#email-0", "sam@teams.test")
		tab.Type("#weight-0", "3")
		tab.Type("#cap-0", "20")
		tab.Do(chromedp.Click(chromedp.CSS("#available-0"), chromedp.NodeVisible))
		tab.Type("#email-1", "nobody@teams.test")
		if status := tab.Click("form[action^='/console/teams/'] button[type=submit]"); status != http.StatusUnprocessableEntity {
			t.Fatalf("team with a stranger: status %d, want 422", status)
		}
		if got := tab.Text("#email-1-error"); !strings.Contains(got, "not a user") {
			t.Errorf("stranger's error = %q", got)
		}
		if got := tab.Value("#weight-0"); got != "3" {
			t.Errorf("weight typed = %q after the refusal, want 3 kept", got)
		}
		tab.Type("#email-1", "")
		if status := tab.Click("form[action^='/console/teams/'] button[type=submit]"); status != http.StatusOK {
			t.Fatalf("save team: status %d", status)
		}
		tab.Shot("teams")
		var weight, daily int
		var available bool
		if err := app.st.Pool.QueryRow(context.Background(), `SELECT m.weight, m.daily_cap, u.available FROM team_members m JOIN users u ON u.id = m.user_id
			WHERE m.user_id = $1`, sam.ID).Scan(&weight, &daily, &available); err != nil {
			t.Fatal(err)
		}
		if weight != 3 || daily != 20 || available {
			t.Errorf("sam in the team: weight %d, cap %d, available %v; want 3, 20, false", weight, daily, available)
		}
	})

	t.Run("a marketer changes scoring, a mistake shown next to its field, and starts a recompute", func(t *testing.T) {
		t.Parallel()
		app.person(t, "scoring-ws", "mia@scoring.test", store.UserMarketing, password)
		tab := browsers.Tab(t, app.base)
		tab.SignIn("mia@scoring.test", password, "/console/scoring")
		tab.Type("#points-email_clicked", "lots")
		tab.Type("#grade-B", "90")
		tab.Type("#grade-A", "80")
		if status := tab.Click("form[action='/console/scoring'] button[type=submit]"); status != http.StatusUnprocessableEntity {
			t.Fatalf("bad points: status %d, want 422", status)
		}
		if got := tab.Text("#points-email_clicked-error"); got == "" {
			t.Error("no error next to email_clicked")
		}
		tab.Type("#points-email_clicked", "7")
		if status := tab.Click("form[action='/console/scoring'] button[type=submit]"); status != http.StatusUnprocessableEntity {
			t.Fatalf("B above A: status %d, want 422", status)
		}
		if got := tab.Text("#grade-B-error"); !strings.Contains(got, "below A") {
			t.Errorf("grade B error = %q", got)
		}
		tab.Type("#grade-B", "60")
		if status := tab.Click("form[action='/console/scoring'] button[type=submit]"); status != http.StatusOK {
			t.Fatalf("save scoring: status %d", status)
		}
		if got := tab.Value("#points-email_clicked"); got != "7" {
			t.Errorf("email_clicked after saving = %q, want 7", got)
		}
		tab.Shot("scoring")
		tab.Click("form[action='/console/scoring/recompute'] button")
		if got := tab.Text(".job-status"); got != "running" && got != "done" {
			t.Errorf("recompute status = %q", got)
		}
	})

	t.Run("an admin sets assignment rules, the SLA and the requalify cooldown", func(t *testing.T) {
		t.Parallel()
		ada := app.person(t, "assign-ws", "ada@assign.test", store.UserAdmin, password)
		team, err := app.st.InsertTeam(context.Background(), store.Team{WorkspaceID: ada.WorkspaceID, Name: "East"})
		if err != nil {
			t.Fatal(err)
		}
		tab := browsers.Tab(t, app.base)
		tab.SignIn("ada@assign.test", password, "/console/assignment")
		tab.Type("#sla", "soon")
		tab.Type("#cooldown", "30d")
		tab.Type("#country-0", "US")
		tab.Choose("#team-0", team.ID.String())
		if status := tab.Click("form[action='/console/assignment'] button[type=submit]"); status != http.StatusUnprocessableEntity {
			t.Fatalf("bad SLA: status %d, want 422", status)
		}
		if got := tab.Text("#sla-error"); !strings.Contains(got, "duration") {
			t.Errorf("SLA error = %q", got)
		}
		if got := tab.Value("#country-0"); got != "US" {
			t.Errorf("rule country kept = %q", got)
		}
		tab.Type("#sla", "4h")
		if status := tab.Click("form[action='/console/assignment'] button[type=submit]"); status != http.StatusOK {
			t.Fatalf("save assignment: status %d", status)
		}
		tab.Shot("assignment")
		rules, err := app.st.AssignmentRules(context.Background(), ada.WorkspaceID)
		if err != nil {
			t.Fatal(err)
		}
		s, err := app.st.GetAssignmentSettings(context.Background(), ada.WorkspaceID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rules) != 1 || rules[0].Country != "US" || rules[0].TeamID != team.ID || s.SLASeconds != 4*3600 || s.RequalifyCooldownSeconds != 30*86400 {
			t.Errorf("saved rules %+v, settings %+v; want US to East, SLA 4h, cooldown 30d", rules, s)
		}
	})

	t.Run("an admin changes the workspace's settings", func(t *testing.T) {
		t.Parallel()
		ada := app.person(t, "settings-ws", "ada@settings.test", store.UserAdmin, password)
		tab := browsers.Tab(t, app.base)
		tab.SignIn("ada@settings.test", password, "/console/workspace")
		tab.Type("#sender-name", "Acme Marketing")
		tab.Type("#sender-email", "news@acme.test")
		tab.Type("#postal-address", "1 Main St, Springfield")
		tab.Type("#send-rate", "fast")
		if status := tab.Click("form[action='/console/workspace'] button[type=submit]"); status != http.StatusUnprocessableEntity {
			t.Fatalf("bad send rate: status %d, want 422", status)
		}
		if n := tab.Count("#send-rate[aria-invalid=true][aria-describedby=send-rate-error]"); n != 1 {
			t.Errorf("send rate marked invalid = %d, want 1", n)
		}
		if got := tab.Value("#sender-name"); got != "Acme Marketing" {
			t.Errorf("sender name kept = %q", got)
		}
		tab.Type("#send-rate", "5")
		tab.Type("#timezone", "Europe/Paris")
		if status := tab.Click("form[action='/console/workspace'] button[type=submit]"); status != http.StatusOK {
			t.Fatalf("save settings: status %d", status)
		}
		tab.Shot("workspace")
		ws, err := app.st.GetWorkspace(context.Background(), ada.WorkspaceID)
		if err != nil {
			t.Fatal(err)
		}
		if s := ws.WorkspaceSettings; s.SenderName != "Acme Marketing" || s.SenderEmail != "news@acme.test" || s.SendRatePerSecond != 5 || s.Timezone != "Europe/Paris" {
			t.Errorf("settings saved = %+v", s)
		}
	})

	t.Run("a marketer has no admin pages", func(t *testing.T) {
		t.Parallel()
		app.person(t, "roles-ws", "mia@roles.test", store.UserMarketing, password)
		tab := browsers.Tab(t, app.base)
		tab.SignIn("mia@roles.test", password, "/console/")
		for _, path := range adminPaths {
			if n := tab.Count("nav a[href='" + path + "']"); n != 0 {
				t.Errorf("marketer's navigation links %s", path)
			}
			if status := tab.Open(path); status != http.StatusForbidden {
				t.Errorf("marketer on %s: status %d, want 403", path, status)
			}
		}
		if n := tab.Count("nav a[href='/console/criteria']"); n != 1 {
			t.Errorf("marketer's navigation links Criteria %d times, want 1", n)
		}
	})
}

// adminPaths are the console's admin pages.
var adminPaths = []string{"/console/people", "/console/api-keys", "/console/webhooks", "/console/teams", "/console/assignment", "/console/workspace"}
