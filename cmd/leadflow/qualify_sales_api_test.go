package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/embed/httpapi"
	"leadflow/qualify"
	"leadflow/store"
	"leadflow/store/storetest"
)

// setupSalesAPI is setupQualifyAPI for tests that need no engine.
func setupSalesAPI(t *testing.T) *apiBundle {
	b, _ := setupQualifyAPI(t)
	return b
}

// setupQualifyAPI serves the qualify API as `serve` wires it, with two
// workspaces holding a key of every role, and returns the engine behind it.
func setupQualifyAPI(t *testing.T) (*apiBundle, *qualify.Engine) {
	t.Helper()
	st := storetest.NewStore(t)
	rdb := redis.NewClient(storetest.RedisOptions(t))
	t.Cleanup(func() { rdb.Close() })
	logger, logs := newTestLogger()
	eng, err := qualify.New(qualify.Config{
		Store: st, Queue: asynq.NewClientFromRedisClient(rdb), BaseURL: "https://leadflow.example", Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	api, err := qualify.NewAPI(qualify.APIConfig{Engine: eng, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	e := newEcho(logger, nil)
	qualify.APIRoutes(e.Group("/api/v1", httpapi.Authenticate(st)), api, httpapi.RequireRole)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	b := &apiBundle{st: st, srv: srv, logs: logs}
	b.a = b.workspace(t, "acme")
	b.b = b.workspace(t, "globex")
	return b, eng
}

// salesUser is a user as the API answers it.
type salesUser struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	Available bool      `json:"available"`
}

type salesMember struct {
	UserID   uuid.UUID `json:"user_id"`
	Weight   int       `json:"weight"`
	DailyCap *int      `json:"daily_cap"`
}

type salesTeam struct {
	ID        uuid.UUID     `json:"id"`
	Name      string        `json:"name"`
	ManagerID *uuid.UUID    `json:"manager_id"`
	Members   []salesMember `json:"members"`
}

type salesRule struct {
	Country string    `json:"country"`
	State   string    `json:"state"`
	TeamID  uuid.UUID `json:"team_id"`
}

type salesAssignment struct {
	Rules             []salesRule `json:"rules"`
	SLA               string      `json:"sla"`
	MaxReassignments  int         `json:"max_reassignments"`
	RecycleSequenceID *uuid.UUID  `json:"recycle_sequence_id"`
}

func createSalesUser(t *testing.T, b *apiBundle, key, name, role string) salesUser {
	t.Helper()
	return expectJSON[salesUser](t, b, http.StatusCreated, key, "POST", "/api/v1/users",
		map[string]any{"name": name, "email": strings.ToLower(name) + "@sales.example", "role": role})
}

func TestQualifySalesAPIRoles(t *testing.T) {
	t.Parallel()
	b := setupSalesAPI(t)
	id := store.NewID().String()
	config := []struct{ method, path string }{
		{"POST", "/api/v1/users"}, {"GET", "/api/v1/users"}, {"PATCH", "/api/v1/users/" + id},
		{"POST", "/api/v1/teams"}, {"GET", "/api/v1/teams"}, {"PATCH", "/api/v1/teams/" + id},
		{"GET", "/api/v1/assignment"}, {"PUT", "/api/v1/assignment"},
		{"POST", "/api/v1/webhooks"}, {"GET", "/api/v1/webhooks"}, {"DELETE", "/api/v1/webhooks/" + id},
	}
	for _, r := range config {
		for _, key := range []string{b.a.marketing, b.a.sales} {
			expectError(t, b, http.StatusForbidden, "forbidden", key, r.method, r.path, map[string]any{})
		}
		expectError(t, b, http.StatusUnauthorized, "unauthorized", "", r.method, r.path, map[string]any{})
	}
	// The inbox is for sales and marketing to read.
	for _, key := range []string{b.a.admin, b.a.marketing, b.a.sales} {
		expectJSON[map[string]any](t, b, http.StatusOK, key, "GET", "/api/v1/handoffs", nil)
	}
}

func TestQualifySalesAPIUsersAndTeams(t *testing.T) {
	t.Parallel()
	b := setupSalesAPI(t)
	ann := createSalesUser(t, b, b.a.admin, "Ann", "sales_rep")
	bob := createSalesUser(t, b, b.a.admin, "Bob", "sales_rep")
	mia := createSalesUser(t, b, b.a.admin, "Mia", "sales_manager")
	other := createSalesUser(t, b, b.b.admin, "Oz", "sales_rep")
	if diff := cmp.Diff(salesUser{ID: ann.ID, Name: "Ann", Email: "ann@sales.example", Role: "sales_rep", Available: true}, ann); diff != "" {
		t.Errorf("created user (-want +got):\n%s", diff)
	}

	// Validation names every field; an email is one user's.
	fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.admin, "POST", "/api/v1/users",
		map[string]any{"name": " ", "email": "not an email", "role": "boss", "shoe_size": 9})
	if diff := cmp.Diff([]string{"shoe_size"}, fieldNames(fields)); diff != "" {
		t.Errorf("unknown member (-want +got):\n%s", diff)
	}
	fields = expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.admin, "POST", "/api/v1/users",
		map[string]any{"name": " ", "email": "not an email", "role": "boss"})
	if diff := cmp.Diff([]string{"email", "name", "role"}, fieldNames(fields)); diff != "" {
		t.Errorf("invalid user fields (-want +got):\n%s", diff)
	}
	fields = expectError(t, b, http.StatusConflict, "conflict", b.a.admin, "POST", "/api/v1/users",
		map[string]any{"name": "Ann again", "email": "ANN@sales.example", "role": "sales_rep"})
	if diff := cmp.Diff([]string{"email"}, fieldNames(fields)); diff != "" {
		t.Errorf("taken email (-want +got):\n%s", diff)
	}

	// PATCH changes what it names.
	away := expectJSON[salesUser](t, b, http.StatusOK, b.a.admin, "PATCH", "/api/v1/users/"+bob.ID.String(),
		map[string]any{"available": false})
	if away.Available || away.Name != "Bob" || away.Role != "sales_rep" {
		t.Errorf("patched user: %+v", away)
	}

	// A team: a manager and weighted members, all of the workspace.
	team := expectJSON[salesTeam](t, b, http.StatusCreated, b.a.admin, "POST", "/api/v1/teams", map[string]any{
		"name": "EMEA", "manager_id": mia.ID,
		"members": []map[string]any{{"user_id": ann.ID, "weight": 2, "daily_cap": 10}, {"user_id": bob.ID}},
	})
	ten := 10
	wantMembers := []salesMember{{ann.ID, 2, &ten}, {bob.ID, 1, nil}}
	sortMembers := cmp.Transformer("byUser", func(ms []salesMember) map[uuid.UUID]salesMember {
		out := map[uuid.UUID]salesMember{}
		for _, m := range ms {
			out[m.UserID] = m
		}
		return out
	})
	if diff := cmp.Diff(salesTeam{ID: team.ID, Name: "EMEA", ManagerID: &mia.ID, Members: wantMembers}, team, sortMembers); diff != "" {
		t.Errorf("created team (-want +got):\n%s", diff)
	}
	fields = expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.admin, "POST", "/api/v1/teams", map[string]any{
		"name": "Mixed", "manager_id": other.ID,
		"members": []map[string]any{{"user_id": other.ID}, {"user_id": ann.ID, "weight": 0}, {"user_id": ann.ID}, {"user_id": "x"}},
	})
	if diff := cmp.Diff([]string{"manager_id", "members[0].user_id", "members[1].weight", "members[2].user_id", "members[3].user_id"}, fieldNames(fields)); diff != "" {
		t.Errorf("invalid team fields (-want +got):\n%s", diff)
	}
	// PATCH: members sent replace the membership; a null manager is none.
	team = expectJSON[salesTeam](t, b, http.StatusOK, b.a.admin, "PATCH", "/api/v1/teams/"+team.ID.String(), map[string]any{
		"manager_id": nil, "members": []map[string]any{{"user_id": bob.ID, "weight": 3}},
	})
	if diff := cmp.Diff(salesTeam{ID: team.ID, Name: "EMEA", Members: []salesMember{{bob.ID, 3, nil}}}, team); diff != "" {
		t.Errorf("patched team (-want +got):\n%s", diff)
	}
	list := expectJSON[struct{ Items []salesTeam }](t, b, http.StatusOK, b.a.admin, "GET", "/api/v1/teams", nil)
	if diff := cmp.Diff([]salesTeam{team}, list.Items); diff != "" {
		t.Errorf("teams (-want +got):\n%s", diff)
	}

	// The other workspace sees none of it.
	for _, path := range []string{"/api/v1/users/" + ann.ID.String(), "/api/v1/teams/" + team.ID.String()} {
		expectError(t, b, http.StatusNotFound, "not_found", b.b.admin, "GET", path, nil)
		expectError(t, b, http.StatusNotFound, "not_found", b.b.admin, "PATCH", path, map[string]any{"name": "Mine"})
	}
	users := expectJSON[struct{ Items []salesUser }](t, b, http.StatusOK, b.b.admin, "GET", "/api/v1/users", nil)
	if len(users.Items) != 1 || users.Items[0].ID != other.ID {
		t.Errorf("globex's users: %+v", users.Items)
	}
}

func TestQualifySalesAPIAssignment(t *testing.T) {
	t.Parallel()
	b := setupSalesAPI(t)
	ann := createSalesUser(t, b, b.a.admin, "Ann", "sales_rep")
	team := expectJSON[salesTeam](t, b, http.StatusCreated, b.a.admin, "POST", "/api/v1/teams",
		map[string]any{"name": "EMEA", "members": []map[string]any{{"user_id": ann.ID}}})
	foreign := expectJSON[salesTeam](t, b, http.StatusCreated, b.b.admin, "POST", "/api/v1/teams", map[string]any{"name": "Theirs"})

	// The defaults until set.
	got := expectJSON[salesAssignment](t, b, http.StatusOK, b.a.admin, "GET", "/api/v1/assignment", nil)
	if diff := cmp.Diff(salesAssignment{Rules: []salesRule{}, SLA: "1d", MaxReassignments: 2}, got); diff != "" {
		t.Errorf("default assignment (-want +got):\n%s", diff)
	}
	want := salesAssignment{
		Rules:            []salesRule{{"GB", "", team.ID}, {"US", "CA", team.ID}, {"", "", team.ID}},
		SLA:              "4h",
		MaxReassignments: 1,
	}
	got = expectJSON[salesAssignment](t, b, http.StatusOK, b.a.admin, "PUT", "/api/v1/assignment", map[string]any{
		"rules": want.Rules, "sla": "240m", "max_reassignments": 1, "recycle_sequence_id": nil,
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("put assignment (-want +got):\n%s", diff)
	}
	// Members left out keep their values.
	got = expectJSON[salesAssignment](t, b, http.StatusOK, b.a.admin, "PUT", "/api/v1/assignment", map[string]any{"sla": "2d"})
	want.SLA = "2d"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("partial put (-want +got):\n%s", diff)
	}
	fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.admin, "PUT", "/api/v1/assignment", map[string]any{
		"rules": []map[string]any{{"country": "", "team_id": foreign.ID}, {"country": "", "state": "CA", "team_id": team.ID},
			{"country": "", "team_id": team.ID}},
		"sla": "soon", "max_reassignments": -1,
	})
	if diff := cmp.Diff([]string{"max_reassignments", "rules[0].team_id", "rules[1].state", "rules[2].country", "sla"}, fieldNames(fields)); diff != "" {
		t.Errorf("invalid assignment fields (-want +got):\n%s", diff)
	}
	expectError(t, b, http.StatusUnprocessableEntity, "invalid_reference", b.a.admin, "PUT", "/api/v1/assignment",
		map[string]any{"recycle_sequence_id": store.NewID()})
	// Nothing changed, and the other workspace has its own.
	got = expectJSON[salesAssignment](t, b, http.StatusOK, b.a.admin, "GET", "/api/v1/assignment", nil)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after refused puts (-want +got):\n%s", diff)
	}
	if theirs := expectJSON[salesAssignment](t, b, http.StatusOK, b.b.admin, "GET", "/api/v1/assignment", nil); len(theirs.Rules) != 0 {
		t.Errorf("globex's rules: %+v", theirs.Rules)
	}
}

func TestQualifySalesAPIWebhookSecretShownOnce(t *testing.T) {
	t.Parallel()
	b := setupSalesAPI(t)
	created := expectJSON[map[string]any](t, b, http.StatusCreated, b.a.admin, "POST", "/api/v1/webhooks",
		map[string]any{"url": "https://crm.example/hooks/leadflow", "events": []string{"handoff.created", "handoff.reassigned", "handoff.created"}})
	secret, _ := created["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || len(secret) != len("whsec_")+64 {
		t.Fatalf("created webhook's secret = %q", secret)
	}
	if diff := cmp.Diff([]any{"handoff.created", "handoff.reassigned"}, created["events"]); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	id := created["id"].(string)
	for _, path := range []string{"/api/v1/webhooks", "/api/v1/webhooks/" + id} {
		status, body := b.call(t, b.a.admin, "GET", path, nil)
		if status != http.StatusOK || strings.Contains(string(body), secret) || strings.Contains(string(body), `"secret"`) {
			t.Errorf("GET %s = %d %s: the secret must never be shown again", path, status, body)
		}
	}
	var stored string
	if err := b.st.Pool.QueryRow(context.Background(), `SELECT secret FROM webhooks WHERE id = $1`, id).Scan(&stored); err != nil || stored != secret {
		t.Errorf("stored secret %q, %v: want the one shown", stored, err)
	}

	fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.admin, "POST", "/api/v1/webhooks",
		map[string]any{"url": "ftp://crm.example/x", "events": []string{"lead.created"}})
	if diff := cmp.Diff([]string{"events", "url"}, fieldNames(fields)); diff != "" {
		t.Errorf("invalid webhook fields (-want +got):\n%s", diff)
	}
	expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.admin, "POST", "/api/v1/webhooks",
		map[string]any{"url": "crm.example/hooks", "events": []string{}})
	// Nothing internal: loopback (also by name), cloud metadata, credentials.
	for _, u := range []string{"http://127.0.0.1:8080/hooks", "http://localhost/hooks", "http://169.254.169.254/latest/meta-data/", "https://u:p@crm.example/hooks"} {
		fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.admin, "POST", "/api/v1/webhooks",
			map[string]any{"url": u, "events": []string{"handoff.created"}})
		if diff := cmp.Diff([]string{"url"}, fieldNames(fields)); diff != "" {
			t.Errorf("webhook to %s: fields (-want +got):\n%s", u, diff)
		}
	}

	// Another workspace can neither see nor delete it; its owner can.
	expectError(t, b, http.StatusNotFound, "not_found", b.b.admin, "GET", "/api/v1/webhooks/"+id, nil)
	expectError(t, b, http.StatusNotFound, "not_found", b.b.admin, "DELETE", "/api/v1/webhooks/"+id, nil)
	if status, body := b.call(t, b.a.admin, "DELETE", "/api/v1/webhooks/"+id, nil); status != http.StatusNoContent {
		t.Errorf("DELETE = %d %s", status, body)
	}
	expectError(t, b, http.StatusNotFound, "not_found", b.a.admin, "GET", "/api/v1/webhooks/"+id, nil)
	if strings.Contains(b.logs.String(), secret) {
		t.Errorf("the webhook secret was logged")
	}
}

func TestQualifySalesAPIHandoffInbox(t *testing.T) {
	t.Parallel()
	b := setupSalesAPI(t)
	ann := createSalesUser(t, b, b.a.admin, "Ann", "sales_rep")
	team := expectJSON[salesTeam](t, b, http.StatusCreated, b.a.admin, "POST", "/api/v1/teams",
		map[string]any{"name": "All", "members": []map[string]any{{"user_id": ann.ID}}})
	expectJSON[salesAssignment](t, b, http.StatusOK, b.a.admin, "PUT", "/api/v1/assignment",
		map[string]any{"rules": []salesRule{{TeamID: team.ID}}})
	id := store.NewID()
	lead, err := b.st.InsertLead(context.Background(), store.Lead{
		ID: id, WorkspaceID: b.a.ws.ID, FirstName: "Ada", Email: id.String() + "@lead.example",
		EmailCanonical: id.String() + "@lead.example", PrimaryInterest: "widgets", Status: store.LeadNurturing,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Inside sales qualifies the lead on a call: it is handed to Ann.
	call := expectJSON[struct {
		Handoff struct {
			ID      uuid.UUID  `json:"id"`
			OwnerID *uuid.UUID `json:"owner_id"`
		} `json:"handoff"`
	}](t, b, http.StatusCreated, b.a.sales, "POST", "/api/v1/leads/"+lead.ID.String()+"/qualification",
		map[string]any{"outcome": "opportunity", "need": "widgets by June"})
	if call.Handoff.OwnerID == nil || *call.Handoff.OwnerID != ann.ID {
		t.Fatalf("call's handoff owner = %v, want Ann", call.Handoff.OwnerID)
	}
	hid := call.Handoff.ID.String()

	type inboxItem struct {
		ID      uuid.UUID  `json:"id"`
		LeadID  uuid.UUID  `json:"lead_id"`
		OwnerID *uuid.UUID `json:"owner_id"`
		Status  string     `json:"status"`
	}
	want := []inboxItem{{call.Handoff.ID, lead.ID, &ann.ID, "open"}}
	for _, q := range []string{"", "?status=open", "?owner_id=" + ann.ID.String(), "?status=open&owner_id=" + ann.ID.String()} {
		got := expectJSON[struct{ Items []inboxItem }](t, b, http.StatusOK, b.a.marketing, "GET", "/api/v1/handoffs"+q, nil)
		if diff := cmp.Diff(want, got.Items); diff != "" {
			t.Errorf("inbox%s (-want +got):\n%s", q, diff)
		}
	}
	for _, q := range []string{"?status=accepted", "?owner_id=none", "?owner_id=" + store.NewID().String()} {
		if got := expectJSON[struct{ Items []inboxItem }](t, b, http.StatusOK, b.a.sales, "GET", "/api/v1/handoffs"+q, nil); len(got.Items) != 0 {
			t.Errorf("inbox%s: %+v, want none", q, got.Items)
		}
	}
	expectError(t, b, http.StatusBadRequest, "bad_request", b.a.sales, "GET", "/api/v1/handoffs?status=lost", nil)

	var one struct {
		ID     uuid.UUID `json:"id"`
		Lead   struct{ Email string }
		Events []struct {
			Action  string     `json:"action"`
			OwnerID *uuid.UUID `json:"owner_id"`
			Detail  map[string]any
		} `json:"events"`
	}
	raw := expectJSON[json.RawMessage](t, b, http.StatusOK, b.a.sales, "GET", "/api/v1/handoffs/"+hid, nil)
	if err := json.Unmarshal(raw, &one); err != nil {
		t.Fatal(err)
	}
	if one.Lead.Email != lead.Email || len(one.Events) != 1 || one.Events[0].Action != "created" ||
		*one.Events[0].OwnerID != ann.ID || one.Events[0].Detail["via"] != "round_robin" {
		t.Errorf("handoff: %s", raw)
	}
	expectError(t, b, http.StatusNotFound, "not_found", b.b.sales, "GET", "/api/v1/handoffs/"+hid, nil)
	if got := expectJSON[struct{ Items []inboxItem }](t, b, http.StatusOK, b.b.admin, "GET", "/api/v1/handoffs", nil); len(got.Items) != 0 {
		t.Errorf("globex's inbox: %+v", got.Items)
	}
}
