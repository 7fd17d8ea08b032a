package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/embed/console"
	"leadflow/embed/httpapi"
	"leadflow/store"
	"leadflow/store/storetest"
)

// handoffAccess is workspace a of the qualify API with two teams: East
// (Ann and Bob, managed by Mia; Eve deactivated and Fay unavailable in it
// too) and West (Cat, no manager); Dan in no team; Sue a sales admin. Each
// has a sales key acting as them. The handoffs: Ann's, Bob's and Cat's;
// one of East with no owner, and one of East owned by Dan (who left the
// team): a manager sees a team's handoffs by either.
type handoffAccess struct {
	*convertAPI
	ann, bob, cat, dan, mia, sue, eve, fay store.User
	east, west                             store.Team
	keys                                   map[string]string // by user name
	annH, bobH, catH, eastH, danH          store.Handoff
}

func setupHandoffAccess(t *testing.T) *handoffAccess {
	t.Helper()
	b := &handoffAccess{convertAPI: setupConvertAPI(t), keys: map[string]string{}}
	ws := b.a.ws.ID
	ctx := context.Background()
	mk := func(name, role string) store.User {
		u := b.user(t, ws, name, role)
		b.keys[name] = b.userKey(t, ws, u.ID)
		return u
	}
	b.ann, b.bob, b.cat, b.dan = mk("Ann", store.UserSalesRep), mk("Bob", store.UserSalesRep), mk("Cat", store.UserSalesRep), mk("Dan", store.UserSalesRep)
	b.eve, b.fay = mk("Eve", store.UserSalesRep), mk("Fay", store.UserSalesRep)
	b.mia, b.sue = mk("Mia", store.UserSalesManager), mk("Sue", store.UserSalesAdmin)
	b.exec(t, `UPDATE users SET deactivated_at = now(), available = false WHERE id = $1`, b.eve.ID)
	b.exec(t, `UPDATE users SET available = false WHERE id = $1`, b.fay.ID)
	team := func(name string, manager *uuid.UUID, members ...store.User) store.Team {
		tm, err := b.st.InsertTeam(ctx, store.Team{WorkspaceID: ws, Name: name, ManagerID: manager})
		if err != nil {
			t.Fatal(err)
		}
		var ms []store.TeamMember
		for _, m := range members {
			ms = append(ms, store.TeamMember{UserID: m.ID, Weight: 1})
		}
		if err := b.st.ReplaceTeamMembers(ctx, ws, tm.ID, ms); err != nil {
			t.Fatal(err)
		}
		return tm
	}
	b.east = team("East", &b.mia.ID, b.ann, b.bob, b.eve, b.fay)
	b.west = team("West", nil, b.cat)
	b.annH = insertHandoff(t, b.st, ws, "ann-lead@lead.example", &b.ann.ID, &b.east.ID)
	b.bobH = insertHandoff(t, b.st, ws, "bob-lead@lead.example", &b.bob.ID, &b.east.ID)
	b.catH = insertHandoff(t, b.st, ws, "cat-lead@lead.example", &b.cat.ID, &b.west.ID)
	b.eastH = insertHandoff(t, b.st, ws, "east-lead@lead.example", nil, &b.east.ID)
	b.danH = insertHandoff(t, b.st, ws, "dan-lead@lead.example", &b.dan.ID, &b.east.ID)
	return b
}

// insertHandoff makes a qualified lead of the workspace and its open
// handoff to the owner in the team.
func insertHandoff(t *testing.T, st *store.Store, ws uuid.UUID, email string, owner, team *uuid.UUID) store.Handoff {
	t.Helper()
	ctx := context.Background()
	lead, err := st.InsertLead(ctx, store.Lead{
		WorkspaceID: ws, FirstName: "Lee", LastName: strings.Split(email, "@")[0], Email: email, EmailCanonical: email,
		Company: "Acme Corp", PrimaryInterest: "Widgets", Status: store.LeadMarketingQualified, OwnerID: owner,
	})
	if err != nil {
		t.Fatal(err)
	}
	decision := store.NewID()
	if _, err := st.Pool.Exec(ctx, `INSERT INTO qualification_decisions (id, workspace_id, lead_id, outcome, actor)
		VALUES ($1, $2, $3, 'qualified', 'test')`, decision, ws, lead.ID); err != nil {
		t.Fatal(err)
	}
	h, err := st.InsertHandoff(ctx, store.Handoff{
		WorkspaceID: ws, LeadID: lead.ID, DecisionID: decision, OwnerID: owner, TeamID: team, SLADueAt: time.Now().Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// listHandoffIDs walks the API's handoff list through its cursor, two at
// a time, and returns the IDs, sorted.
func listHandoffIDs(t *testing.T, b *apiBundle, key, query string) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	cursor := ""
	for range 20 {
		page := expectJSON[struct {
			Items []struct {
				ID uuid.UUID `json:"id"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}](t, b, http.StatusOK, key, "GET", "/api/v1/handoffs?limit=2"+query+cursor, nil)
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if page.NextCursor == nil || *page.NextCursor == "" {
			break
		}
		cursor = "&cursor=" + url.QueryEscape(*page.NextCursor)
	}
	return sortedIDs(ids)
}

func sortedIDs(ids []uuid.UUID) []uuid.UUID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func handoffIDs(hs ...store.Handoff) []uuid.UUID {
	ids := make([]uuid.UUID, len(hs))
	for i, h := range hs {
		ids[i] = h.ID
	}
	return sortedIDs(ids)
}

func TestHandoffAccessAPIReadAndList(t *testing.T) {
	t.Parallel()
	b := setupHandoffAccess(t)
	all := []store.Handoff{b.annH, b.bobH, b.catH, b.eastH, b.danH}
	for _, c := range []struct {
		who  string
		key  string
		sees []store.Handoff
	}{
		{"rep Ann", b.keys["Ann"], []store.Handoff{b.annH}},
		{"rep Bob", b.keys["Bob"], []store.Handoff{b.bobH}},
		{"rep Dan, out of the team", b.keys["Dan"], []store.Handoff{b.danH}},
		{"manager Mia", b.keys["Mia"], []store.Handoff{b.annH, b.bobH, b.eastH, b.danH}},
		{"sales admin Sue", b.keys["Sue"], all},
		{"sales key acting as nobody", b.a.sales, all},
		{"marketing key", b.a.marketing, all},
		{"admin key", b.a.admin, all},
	} {
		if diff := cmp.Diff(handoffIDs(c.sees...), listHandoffIDs(t, b.apiBundle, c.key, "")); diff != "" {
			t.Errorf("%s lists (-want +got):\n%s", c.who, diff)
		}
		for _, h := range all {
			path := "/api/v1/handoffs/" + h.ID.String()
			if slices.ContainsFunc(c.sees, func(s store.Handoff) bool { return s.ID == h.ID }) {
				expectJSON[map[string]any](t, b.apiBundle, http.StatusOK, c.key, "GET", path, nil)
				continue
			}
			// As a missing one answers: nothing says it exists.
			status, body := b.call(t, c.key, "GET", path, nil)
			missStatus, missBody := b.call(t, c.key, "GET", "/api/v1/handoffs/"+store.NewID().String(), nil)
			if status != http.StatusNotFound || string(body) != string(missBody) || missStatus != status {
				t.Errorf("%s reading another's handoff = %d %s, want as a missing one: %d %s", c.who, status, body, missStatus, missBody)
			}
		}
	}
	// Filters narrow the scope, never widen it.
	for q, want := range map[string][]uuid.UUID{
		"&status=open":                               handoffIDs(b.annH),
		"&owner_id=" + b.bob.ID.String():             nil,
		"&owner_id=none":                             nil,
		"&status=open&owner_id=" + b.ann.ID.String(): handoffIDs(b.annH),
	} {
		if diff := cmp.Diff(want, listHandoffIDs(t, b.apiBundle, b.keys["Ann"], q)); diff != "" {
			t.Errorf("Ann's list%s (-want +got):\n%s", q, diff)
		}
	}
	if diff := cmp.Diff(handoffIDs(b.eastH), listHandoffIDs(t, b.apiBundle, b.keys["Mia"], "&owner_id=none")); diff != "" {
		t.Errorf("Mia's unassigned (-want +got):\n%s", diff)
	}
	// The other workspace's sales admin sees none of them.
	theirs := b.user(t, b.b.ws.ID, "Zed Admin", store.UserSalesAdmin)
	if got := listHandoffIDs(t, b.apiBundle, b.userKey(t, b.b.ws.ID, theirs.ID), ""); len(got) != 0 {
		t.Errorf("globex's sales admin lists %v", got)
	}
}

func TestHandoffAccessAPIDecide(t *testing.T) {
	t.Parallel()
	b := setupHandoffAccess(t)
	ctx := context.Background()
	decide := func(h store.Handoff, verb string) string { return "/api/v1/handoffs/" + h.ID.String() + "/" + verb }
	reject := map[string]any{"reason": "not now"}

	// A rep can neither accept nor reject another's handoff: it is not
	// there for them. Nor can a manager outside the team.
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.keys["Ann"], "POST", decide(b.bobH, "accept"), nil)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.keys["Ann"], "POST", decide(b.bobH, "reject"), reject)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.keys["Mia"], "POST", decide(b.catH, "reject"), reject)
	// A sales key acting as nobody reads it, but decides nothing.
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.sales, "POST", decide(b.bobH, "accept"), nil)
	for _, h := range []store.Handoff{b.bobH, b.catH} {
		if got, err := b.st.GetHandoff(ctx, b.a.ws.ID, h.ID); err != nil || got.Status != store.HandoffOpen {
			t.Fatalf("handoff after refusals: %+v %v, want open", got, err)
		}
	}
	// The owner decides theirs, the manager the team's (by owner and by team).
	expectJSON[conversionBody](t, b.apiBundle, http.StatusOK, b.keys["Bob"], "POST", decide(b.bobH, "accept"), nil)
	expectJSON[map[string]any](t, b.apiBundle, http.StatusOK, b.keys["Mia"], "POST", decide(b.eastH, "reject"), reject)
	expectJSON[map[string]any](t, b.apiBundle, http.StatusOK, b.keys["Mia"], "POST", decide(b.danH, "reject"), reject)
}

// handoffBody is a handoff as GET /handoffs/{id} and reassign answer it.
type handoffBody struct {
	ID            uuid.UUID  `json:"id"`
	OwnerID       *uuid.UUID `json:"owner_id"`
	Status        string     `json:"status"`
	Reassignments int        `json:"reassignments"`
	Events        []struct {
		Action  string     `json:"action"`
		OwnerID *uuid.UUID `json:"owner_id"`
		Actor   string     `json:"actor"`
	} `json:"events"`
}

func TestHandoffAccessAPIReassign(t *testing.T) {
	t.Parallel()
	b := setupHandoffAccess(t)
	ctx := context.Background()
	ws := b.a.ws.ID
	reassign := func(h store.Handoff) string { return "/api/v1/handoffs/" + h.ID.String() + "/reassign" }
	to := func(u store.User) map[string]any { return map[string]any{"owner_id": u.ID} }
	// unchanged checks that the handoff is still with owner, never
	// reassigned, and that nobody was told.
	unchanged := func(what string, h store.Handoff, owner *uuid.UUID) {
		t.Helper()
		got, err := b.st.GetHandoff(ctx, ws, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		var events, notices int
		if err := b.st.Pool.QueryRow(ctx, `SELECT count(*) FROM handoff_events WHERE handoff_id = $1 AND action = 'reassigned'`, h.ID).Scan(&events); err != nil {
			t.Fatal(err)
		}
		if err := b.st.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE workspace_id = $1 AND subject LIKE 'Lead reassigned to you:%'`, ws).Scan(&notices); err != nil {
			t.Fatal(err)
		}
		if !sameOwner(got.OwnerID, owner) || got.Reassignments != 0 || events != 0 || notices != 0 {
			t.Errorf("after %s: owner %v, reassignments %d, events %d, notices %d; want %v and nothing done",
				what, got.OwnerID, got.Reassignments, events, notices, owner)
		}
	}

	// A rep reassigns nothing: not their own (403), not another's (404).
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.keys["Ann"], "POST", reassign(b.annH), to(b.bob))
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.keys["Ann"], "POST", reassign(b.bobH), to(b.ann))
	// Nor a sales key acting as nobody, nor marketing.
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.sales, "POST", reassign(b.annH), to(b.bob))
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.marketing, "POST", reassign(b.annH), to(b.bob))
	// A manager does not see another team's handoff.
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.keys["Mia"], "POST", reassign(b.catH), to(b.ann))

	// Whom a manager may give it to: a person of the workspace, active,
	// available, in a team they manage.
	foreign := b.user(t, b.b.ws.ID, "Oz Rep", store.UserSalesRep)
	for _, c := range []struct {
		what string
		body any
		want string
	}{
		{"no one", map[string]any{}, "name the person"},
		{"an unknown id", map[string]any{"owner_id": store.NewID()}, "no such person"},
		{"a person of another workspace", to(foreign), "no such person"},
		{"a deactivated member", to(b.eve), "deactivated"},
		{"an unavailable member", to(b.fay), "not available"},
		{"a rep outside the team", to(b.cat), "not a member of a team you manage"},
	} {
		fields := expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.keys["Mia"], "POST", reassign(b.annH), c.body)
		if diff := cmp.Diff([]string{"owner_id"}, fieldNames(fields)); diff != "" || !strings.Contains(fields["owner_id"], c.want) {
			t.Errorf("reassigning to %s: fields %v, want owner_id saying %q", c.what, fields, c.want)
		}
		unchanged("reassigning to "+c.what, b.annH, &b.ann.ID)
	}
	status, _ := b.call(t, b.keys["Mia"], "POST", reassign(b.annH), map[string]any{"owner_id": "Bob"})
	if status != http.StatusBadRequest && status != http.StatusUnprocessableEntity {
		t.Errorf("owner_id not an id: status %d, want 400 or 422", status)
	}
	unchanged("a refused reassignment", b.annH, &b.ann.ID)

	// The manager gives Ann's handoff to Bob: once.
	for range 2 {
		got := expectJSON[handoffBody](t, b.apiBundle, http.StatusOK, b.keys["Mia"], "POST", reassign(b.annH), to(b.bob))
		if !sameOwner(got.OwnerID, &b.bob.ID) || got.Reassignments != 1 || got.Status != store.HandoffOpen {
			t.Errorf("reassigned: owner %v, reassignments %d, status %s; want Bob, 1, open", got.OwnerID, got.Reassignments, got.Status)
		}
		var reassigned []string
		for _, e := range got.Events {
			if e.Action == store.HandoffEventReassigned {
				reassigned = append(reassigned, fmt.Sprintf("%s to %v", e.Actor, *e.OwnerID))
			}
		}
		if diff := cmp.Diff([]string{"user:" + b.mia.ID.String() + " to " + b.bob.ID.String()}, reassigned); diff != "" {
			t.Errorf("reassigned events (-want +got):\n%s", diff)
		}
	}
	var notices int
	if err := b.st.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE to_email = $1 AND subject LIKE 'Lead reassigned to you:%'`, b.bob.Email).Scan(&notices); err != nil {
		t.Fatal(err)
	}
	if notices != 1 {
		t.Errorf("emails telling Bob = %d, want 1", notices)
	}
	if l, err := b.st.GetLead(ctx, ws, b.annH.LeadID); err != nil || !sameOwner(l.OwnerID, &b.bob.ID) {
		t.Errorf("the lead's owner is %v (%v), want Bob", l.OwnerID, err)
	}
	var audited int
	if err := b.st.Pool.QueryRow(ctx, `SELECT count(*) FROM lead_audit WHERE lead_id = $1 AND actor = $2`, b.annH.LeadID, "user:"+b.mia.ID.String()).Scan(&audited); err != nil {
		t.Fatal(err)
	}
	if audited == 0 {
		t.Errorf("the lead's audit trail does not name the manager")
	}
	// Now it is Bob's to read and Ann's no more.
	expectJSON[handoffBody](t, b.apiBundle, http.StatusOK, b.keys["Bob"], "GET", "/api/v1/handoffs/"+b.annH.ID.String(), nil)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.keys["Ann"], "GET", "/api/v1/handoffs/"+b.annH.ID.String(), nil)

	// A sales admin reassigns across teams, to a member of any team.
	got := expectJSON[handoffBody](t, b.apiBundle, http.StatusOK, b.keys["Sue"], "POST", reassign(b.catH), to(b.ann))
	if !sameOwner(got.OwnerID, &b.ann.ID) {
		t.Errorf("the sales admin's reassignment: owner %v, want Ann", got.OwnerID)
	}
	fields := expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.keys["Sue"], "POST", reassign(b.catH), to(b.dan))
	if !strings.Contains(fields["owner_id"], "no team") {
		t.Errorf("a sales admin reassigning to someone in no team: %v", fields)
	}

	// A decided handoff stays where it is.
	expectJSON[map[string]any](t, b.apiBundle, http.StatusOK, b.keys["Mia"], "POST", "/api/v1/handoffs/"+b.eastH.ID.String()+"/reject", map[string]any{"reason": "no budget"})
	fields = expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.keys["Mia"], "POST", reassign(b.eastH), to(b.ann))
	if diff := cmp.Diff([]string{"status"}, fieldNames(fields)); diff != "" || !strings.Contains(fields["status"], "rejected") {
		t.Errorf("reassigning a rejected handoff: fields %v", fields)
	}
	if h, err := b.st.GetHandoff(ctx, ws, b.eastH.ID); err != nil || h.OwnerID != nil || h.Reassignments != 0 {
		t.Errorf("the rejected handoff after a refused reassignment: %+v %v", h, err)
	}
}

func sameOwner(a, b *uuid.UUID) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

var consoleHandoffRow = regexp.MustCompile(`href="/console/handoffs/([0-9a-f-]{36})"`)

// TestHandoffAccessConsoleAgreesWithAPI signs people in to the console of a
// real serve process and asks the API of the same process with keys acting
// as them: for every person and every handoff, the page and the API give
// the same answer, and the console's list holds what the API lists open.
func TestHandoffAccessConsoleAgreesWithAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, redisURL := storetest.DatabaseURL(t), storetest.RedisURL(t)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	ws, err := st.EnsureWorkspace(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	const password = "correct horse battery"
	hash, err := console.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	type who struct {
		person store.Person
		key    string
	}
	people := map[string]*who{}
	for _, p := range []struct{ name, role string }{
		{"ann", store.UserSalesRep}, {"bob", store.UserSalesRep}, {"cat", store.UserSalesRep},
		{"mia", store.UserSalesManager}, {"sue", store.UserSalesAdmin}, {"max", store.UserMarketing},
	} {
		pr, err := st.InsertPerson(ctx, store.Person{WorkspaceID: ws.ID, Name: p.name, Email: p.name + "@acme.example", Role: p.role, PasswordHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		secret := httpapi.NewAPIKeySecret()
		role := store.RoleSales
		if p.role == store.UserMarketing {
			role = store.RoleMarketing
		}
		if _, err := st.InsertAPIKey(ctx, store.APIKey{WorkspaceID: ws.ID, Role: role, Name: p.name, Prefix: httpapi.APIKeyPrefix(secret), UserID: &pr.ID}, secret); err != nil {
			t.Fatal(err)
		}
		people[p.name] = &who{pr, secret}
	}
	east, err := st.InsertTeam(ctx, store.Team{WorkspaceID: ws.ID, Name: "East", ManagerID: &people["mia"].person.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceTeamMembers(ctx, ws.ID, east.ID, []store.TeamMember{{UserID: people["ann"].person.ID, Weight: 1}, {UserID: people["bob"].person.ID, Weight: 1}}); err != nil {
		t.Fatal(err)
	}
	handoffs := []store.Handoff{
		insertHandoff(t, st, ws.ID, "a@lead.example", &people["ann"].person.ID, &east.ID),
		insertHandoff(t, st, ws.ID, "b@lead.example", &people["bob"].person.ID, &east.ID),
		insertHandoff(t, st, ws.ID, "c@lead.example", &people["cat"].person.ID, nil),
		insertHandoff(t, st, ws.ID, "e@lead.example", nil, &east.ID),
	}
	base := startServe(t, dbURL, redisURL, "")

	call := func(client *http.Client, req *http.Request) (int, string) {
		t.Helper()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	apiGet := func(key, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		return call(http.DefaultClient, req)
	}
	for name, w := range people {
		jar, _ := cookiejar.New(nil)
		client := &http.Client{Jar: jar}
		req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(url.Values{"email": {w.person.Email}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if code, _ := call(client, req); code != http.StatusOK {
			t.Fatalf("%s signing in: status %d", name, code)
		}
		for _, h := range handoffs {
			req, _ := http.NewRequest("GET", base+"/console/handoffs/"+h.ID.String(), nil)
			page, html := call(client, req)
			answer, body := apiGet(w.key, "/api/v1/handoffs/"+h.ID.String())
			if page != answer || (answer != http.StatusOK && answer != http.StatusNotFound) {
				t.Errorf("%s on handoff %s: console %d, API %d %s", name, h.ID, page, answer, body)
			}
			// Marketing reads handoffs, as the API lets it, and decides none:
			// its page offers no accept or reject, and the API refuses one.
			if w.person.Role == store.UserMarketing && page == http.StatusOK {
				if strings.Contains(html, `id="accept-form"`) || strings.Contains(html, `id="reject-form"`) {
					t.Errorf("%s's page of handoff %s offers to accept or reject it", name, h.ID)
				}
				req, _ := http.NewRequest("POST", base+"/api/v1/handoffs/"+h.ID.String()+"/reject", strings.NewReader(`{"reason": "not mine"}`))
				req.Header.Set("Authorization", "Bearer "+w.key)
				req.Header.Set("Content-Type", "application/json")
				if code, body := call(http.DefaultClient, req); code != http.StatusForbidden {
					t.Errorf("%s rejecting handoff %s through the API: %d %s, want 403", name, h.ID, code, body)
				}
			}
		}
		req, _ = http.NewRequest("GET", base+"/console/handoffs", nil)
		code, listPage := call(client, req)
		if code != http.StatusOK {
			t.Fatalf("%s's handoffs page: status %d", name, code)
		}
		var shown []uuid.UUID
		for _, m := range consoleHandoffRow.FindAllStringSubmatch(listPage, -1) {
			shown = append(shown, uuid.MustParse(m[1]))
		}
		code, raw := apiGet(w.key, "/api/v1/handoffs?status=open")
		var listed struct {
			Items []struct {
				ID uuid.UUID `json:"id"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(raw), &listed); code != http.StatusOK || err != nil {
			t.Fatalf("%s's API list: %d %s", name, code, raw)
		}
		var ids []uuid.UUID
		for _, it := range listed.Items {
			ids = append(ids, it.ID)
		}
		if diff := cmp.Diff(sortedIDs(ids), sortedIDs(shown)); diff != "" {
			t.Errorf("%s: the console lists other handoffs than the API (-api +console):\n%s", name, diff)
		}
	}
}
