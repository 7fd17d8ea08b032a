package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/qualify"
	"leadflow/store"
)

// convertAPI serves the qualify API as `serve` wires it, with two
// workspaces holding a key of every role, a sales owner, and in workspace a
// sales keys acting as the owner, as another sales rep and as a sales admin.
type convertAPI struct {
	*apiBundle
	owner                 store.User
	ownerKey              string
	repKey, salesAdminKey string
	repUser, adminUser    store.User
}

func setupConvertAPI(t *testing.T) *convertAPI {
	t.Helper()
	base, _ := setupQualifyAPI(t)
	b := &convertAPI{apiBundle: base}
	b.owner = b.user(t, b.a.ws.ID, "Sam Seller", store.UserSalesRep)
	b.repUser = b.user(t, b.a.ws.ID, "Rita Rep", store.UserSalesRep)
	b.adminUser = b.user(t, b.a.ws.ID, "Ada Admin", store.UserSalesAdmin)
	b.ownerKey = b.userKey(t, b.a.ws.ID, b.owner.ID)
	b.repKey = b.userKey(t, b.a.ws.ID, b.repUser.ID)
	b.salesAdminKey = b.userKey(t, b.a.ws.ID, b.adminUser.ID)
	return b
}

func (b *convertAPI) user(t *testing.T, ws uuid.UUID, name, role string) store.User {
	t.Helper()
	u, err := b.st.InsertUser(context.Background(), store.User{
		WorkspaceID: ws, Name: name, Email: strings.ToLower(strings.Fields(name)[0]) + "@sales.example", Role: role, Available: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// userKey makes a sales key acting as the user.
func (b *convertAPI) userKey(t *testing.T, ws, user uuid.UUID) string {
	t.Helper()
	secret := b.key(t, ws, store.RoleSales)
	k, err := b.st.APIKeyBySecret(context.Background(), secret)
	if err != nil {
		t.Fatal(err)
	}
	b.exec(t, `UPDATE api_keys SET user_id = $2 WHERE id = $1`, k.ID, user)
	return secret
}

func (b *convertAPI) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	tag, err := b.st.Pool.Exec(context.Background(), sql, args...)
	if err != nil || tag.RowsAffected() == 0 {
		t.Fatalf("%s: %v (%d rows)", sql, err, tag.RowsAffected())
	}
}

// handoff makes a qualified lead of the workspace and its open handoff to
// the owner.
func (b *convertAPI) handoff(t *testing.T, ws uuid.UUID, email string, owner *uuid.UUID) store.Handoff {
	t.Helper()
	ctx := context.Background()
	lead, err := b.st.InsertLead(ctx, store.Lead{
		WorkspaceID: ws, FirstName: "Ann", LastName: "Lee", Email: email, EmailCanonical: email,
		Company: "Acme Corp", PrimaryInterest: "Widgets", Status: store.LeadMarketingQualified,
	})
	if err != nil {
		t.Fatal(err)
	}
	decision := store.NewID()
	b.exec(t, `INSERT INTO qualification_decisions (id, workspace_id, lead_id, outcome, actor)
		VALUES ($1, $2, $3, 'qualified', 'test')`, decision, ws, lead.ID)
	h, err := b.st.InsertHandoff(ctx, store.Handoff{
		WorkspaceID: ws, LeadID: lead.ID, DecisionID: decision, OwnerID: owner, SLADueAt: time.Now().Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type conversionBody struct {
	Handoff     qualify.Handoff      `json:"handoff"`
	Account     qualify.Account      `json:"account"`
	Contact     qualify.Contact      `json:"contact"`
	Opportunity *qualify.Opportunity `json:"opportunity"`
}

func TestQualifyConvertAPIAccept(t *testing.T) {
	t.Parallel()
	b := setupConvertAPI(t)
	h := b.handoff(t, b.a.ws.ID, "ann@acme.example", &b.owner.ID)
	path := "/api/v1/handoffs/" + h.ID.String() + "/accept"

	expectError(t, b.apiBundle, http.StatusUnauthorized, "unauthorized", "", "POST", path, nil)
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.marketing, "POST", path, nil)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.b.sales, "POST", path, nil)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.ownerKey, "POST", "/api/v1/handoffs/nope/accept", nil)
	fields := expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.ownerKey, "POST", path,
		map[string]any{"opportunity": map[string]any{"colour": "red"}, "urgent": true})
	if diff := cmp.Diff([]string{"urgent"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}
	fields = expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.ownerKey, "POST", path,
		map[string]any{"opportunity": map[string]any{"colour": "red"}})
	if diff := cmp.Diff([]string{"opportunity.colour"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}
	fields = expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.ownerKey, "POST", path,
		map[string]any{"opportunity": map[string]any{"amount": -1, "probability": 200, "stage": "won"}})
	if diff := cmp.Diff([]string{"opportunity.amount", "opportunity.probability", "opportunity.stage"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}

	got := expectJSON[conversionBody](t, b.apiBundle, http.StatusOK, b.ownerKey, "POST", path,
		map[string]any{"opportunity": map[string]any{"amount": 2500.5, "expected_close_date": "2031-12-31"}})
	if got.Handoff.Status != store.HandoffAccepted || got.Handoff.DecidedBy != "user:"+b.owner.ID.String() {
		t.Errorf("handoff %s decided by %q, want accepted by user:%s", got.Handoff.Status, got.Handoff.DecidedBy, b.owner.ID)
	}
	if got.Opportunity == nil || got.Opportunity.Amount != "2500.50" || *got.Opportunity.ExpectedCloseDate != "2031-12-31" ||
		got.Opportunity.Name != "Acme Corp - Widgets" || got.Opportunity.OwnerID == nil || *got.Opportunity.OwnerID != b.owner.ID {
		t.Errorf("opportunity = %+v, want 2500.50 closing 2031-12-31 named after the company and interest, owned by the owner", got.Opportunity)
	}
	if got.Account.Domain != "acme.example" || got.Contact.AccountID == nil || *got.Contact.AccountID != got.Account.ID {
		t.Errorf("account %+v contact %+v, want the contact in the acme.example account", got.Account, got.Contact)
	}

	// Once decided, a handoff is decided: neither a second accept nor a
	// reject changes it.
	fields = expectError(t, b.apiBundle, http.StatusConflict, "conflict", b.ownerKey, "POST", path, nil)
	if fields["status"] == "" {
		t.Errorf("conflict fields = %v, want the handoff's status named", fields)
	}
	expectError(t, b.apiBundle, http.StatusConflict, "conflict", b.ownerKey, "POST",
		"/api/v1/handoffs/"+h.ID.String()+"/reject", map[string]any{"reason": "too late"})

	// An empty body, or create_opportunity false, still converts.
	h2 := b.handoff(t, b.a.ws.ID, "bob@acme.example", &b.owner.ID)
	got = expectJSON[conversionBody](t, b.apiBundle, http.StatusOK, b.a.admin, "POST",
		"/api/v1/handoffs/"+h2.ID.String()+"/accept", map[string]any{"create_opportunity": false})
	if got.Opportunity != nil || got.Account.Domain != "acme.example" {
		t.Errorf("accept without opportunity = %+v, want no opportunity and the same account", got)
	}
	h3 := b.handoff(t, b.a.ws.ID, "cat@acme.example", nil)
	got = expectJSON[conversionBody](t, b.apiBundle, http.StatusOK, b.salesAdminKey, "POST", "/api/v1/handoffs/"+h3.ID.String()+"/accept", nil)
	if got.Opportunity == nil || got.Opportunity.Amount != "0.00" || got.Opportunity.Stage != store.StageQualification {
		t.Errorf("accept with no body: opportunity %+v, want the defaults", got.Opportunity)
	}
}

type rejectionBody struct {
	Handoff           qualify.Handoff `json:"handoff"`
	Lead              qualify.Lead    `json:"lead"`
	RecycleSequenceID *uuid.UUID      `json:"recycle_sequence_id"`
}

func TestQualifyConvertAPIReject(t *testing.T) {
	t.Parallel()
	b := setupConvertAPI(t)
	h := b.handoff(t, b.a.ws.ID, "ann@acme.example", &b.owner.ID)
	path := "/api/v1/handoffs/" + h.ID.String() + "/reject"

	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.marketing, "POST", path, map[string]any{"reason": "x"})
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.b.sales, "POST", path, map[string]any{"reason": "x"})
	fields := expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.ownerKey, "POST", path, map[string]any{})
	if diff := cmp.Diff([]string{"reason"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}
	got := expectJSON[rejectionBody](t, b.apiBundle, http.StatusOK, b.ownerKey, "POST", path, map[string]any{"reason": "Student, no budget"})
	if got.Handoff.Status != store.HandoffRejected || got.Handoff.Reason != "Student, no budget" ||
		got.Lead.Status != store.LeadRecycled || got.Lead.StatusReason != "Student, no budget" || got.RecycleSequenceID != nil {
		t.Errorf("rejection = %+v, want the handoff rejected and the lead recycled with the reason, in no sequence", got)
	}
	expectError(t, b.apiBundle, http.StatusConflict, "conflict", b.ownerKey, "POST", path, map[string]any{"reason": "again"})
}

type opportunityBody struct {
	qualify.Opportunity
	StageHistory []qualify.StageChange `json:"stage_history"`
}

func TestQualifyConvertAPIOpportunities(t *testing.T) {
	t.Parallel()
	b := setupConvertAPI(t)
	h := b.handoff(t, b.a.ws.ID, "ann@acme.example", &b.owner.ID)
	conv := expectJSON[conversionBody](t, b.apiBundle, http.StatusOK, b.ownerKey, "POST",
		"/api/v1/handoffs/"+h.ID.String()+"/accept", nil)
	id := conv.Opportunity.ID
	path := "/api/v1/opportunities/" + id.String()

	// Reading: marketing and sales alike, in their own workspace only.
	for _, key := range []string{b.a.marketing, b.a.sales, b.a.admin} {
		got := expectJSON[opportunityBody](t, b.apiBundle, http.StatusOK, key, "GET", path, nil)
		if got.ID != id || len(got.StageHistory) != 1 {
			t.Errorf("GET = %+v, want the opportunity with its first stage", got)
		}
	}
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.b.sales, "GET", path, nil)
	expectError(t, b.apiBundle, http.StatusNotFound, "not_found", b.b.admin, "PATCH", path, map[string]any{"name": "mine"})
	if got := expectJSON[listBody[qualify.Opportunity]](t, b.apiBundle, http.StatusOK, b.b.sales, "GET", "/api/v1/opportunities", nil); len(got.Items) != 0 {
		t.Errorf("another workspace lists %d opportunities, want 0", len(got.Items))
	}

	// Working it: sales moves the stage; marketing may not.
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.marketing, "PATCH", path, map[string]any{"stage": "discovery"})
	fields := expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.ownerKey, "PATCH", path,
		map[string]any{"amount": "12.345", "expected_close_date": "soon", "owner": "x"})
	if diff := cmp.Diff([]string{"owner"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}
	fields = expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.ownerKey, "PATCH", path,
		map[string]any{"amount": "12.345", "expected_close_date": "soon"})
	if diff := cmp.Diff([]string{"amount", "expected_close_date"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}
	expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "invalid_reference", b.ownerKey, "PATCH", path,
		map[string]any{"owner_id": store.NewID()})
	got := expectJSON[opportunityBody](t, b.apiBundle, http.StatusOK, b.ownerKey, "PATCH", path,
		map[string]any{"stage": "proposal", "amount": 1234.5, "probability": 40, "owner_id": b.repUser.ID})
	wantHistory := []qualify.StageChange{
		{ToStage: "qualification", Actor: conv.Handoff.DecidedBy},
		{FromStage: "qualification", ToStage: "proposal", Actor: "user:" + b.owner.ID.String()},
	}
	if diff := cmp.Diff(wantHistory, got.StageHistory, cmpIgnoreAt); diff != "" {
		t.Errorf("stage history (-want +got):\n%s", diff)
	}
	if got.Amount != "1234.50" || got.Probability != 40 || *got.OwnerID != b.repUser.ID {
		t.Errorf("opportunity = %+v, want 1234.50 at 40%% owned by the rep", got.Opportunity)
	}

	// The forecast is a sales admin's decision.
	for _, key := range []string{b.repKey} {
		status, body := b.call(t, key, "PATCH", path, map[string]any{"in_forecast": true})
		if status != http.StatusForbidden || !strings.Contains(string(body), "in_forecast") {
			t.Errorf("in_forecast by a plain sales key = %d %s, want 403 naming in_forecast", status, body)
		}
	}
	expectError(t, b.apiBundle, http.StatusForbidden, "forbidden", b.a.marketing, "PATCH", path, map[string]any{"in_forecast": true})
	if got := expectJSON[opportunityBody](t, b.apiBundle, http.StatusOK, b.salesAdminKey, "PATCH", path, map[string]any{"in_forecast": true}); !got.InForecast {
		t.Errorf("in_forecast by a sales admin user = %v, want true", got.InForecast)
	}
	if got := expectJSON[opportunityBody](t, b.apiBundle, http.StatusOK, b.a.admin, "PATCH", path, map[string]any{"in_forecast": false}); got.InForecast {
		t.Errorf("in_forecast by an admin key = %v, want false", got.InForecast)
	}
	expectJSON[opportunityBody](t, b.apiBundle, http.StatusOK, b.a.admin, "PATCH", path, map[string]any{"in_forecast": true})

	// Listing with filters.
	other := b.handoff(t, b.a.ws.ID, "bob@acme.example", &b.owner.ID)
	conv2 := expectJSON[conversionBody](t, b.apiBundle, http.StatusOK, b.ownerKey, "POST", "/api/v1/handoffs/"+other.ID.String()+"/accept", nil)
	for _, tc := range []struct {
		query string
		want  []uuid.UUID
	}{
		{"", []uuid.UUID{conv2.Opportunity.ID, id}},
		{"?stage=proposal", []uuid.UUID{id}},
		{"?stage=qualification", []uuid.UUID{conv2.Opportunity.ID}},
		{"?in_forecast=true", []uuid.UUID{id}},
		{"?in_forecast=false", []uuid.UUID{conv2.Opportunity.ID}},
		{"?owner_id=" + b.owner.ID.String(), []uuid.UUID{conv2.Opportunity.ID}},
		{"?owner_id=" + b.repUser.ID.String() + "&in_forecast=true", []uuid.UUID{id}},
	} {
		got := expectJSON[listBody[qualify.Opportunity]](t, b.apiBundle, http.StatusOK, b.a.sales, "GET", "/api/v1/opportunities"+tc.query, nil)
		if diff := cmp.Diff(tc.want, idsOf(got.Items, func(o qualify.Opportunity) uuid.UUID { return o.ID })); diff != "" {
			t.Errorf("GET /opportunities%s (-want +got):\n%s", tc.query, diff)
		}
	}
	expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.a.sales, "GET", "/api/v1/opportunities?stage=won", nil)
	expectError(t, b.apiBundle, http.StatusBadRequest, "bad_request", b.a.sales, "GET", "/api/v1/opportunities?in_forecast=maybe", nil)
}

var cmpIgnoreAt = cmp.FilterPath(func(p cmp.Path) bool {
	switch p.Last().String() {
	case ".At", ".ID", ".OpportunityID":
		return true
	}
	return false
}, cmp.Ignore())

func TestQualifyConvertAPIFunnel(t *testing.T) {
	t.Parallel()
	b := setupConvertAPI(t)
	h := b.handoff(t, b.a.ws.ID, "ann@acme.example", &b.owner.ID)
	expectJSON[conversionBody](t, b.apiBundle, http.StatusOK, b.ownerKey, "POST", "/api/v1/handoffs/"+h.ID.String()+"/accept",
		map[string]any{"opportunity": map[string]any{"amount": "500"}})
	b.exec(t, `UPDATE opportunities SET in_forecast = true WHERE workspace_id = $1`, b.a.ws.ID)

	now := time.Now().UTC()
	path := "/api/v1/reports/funnel?from=" + now.Add(-time.Hour).Format(time.RFC3339) +
		"&to=" + now.Add(time.Hour).Format(time.RFC3339) + "&by=source"
	counts := func(r qualify.FunnelReport) map[string]int64 {
		out := map[string]int64{}
		for _, s := range r.Total.Stages {
			out[s.Stage] = s.Count
		}
		return out
	}
	for _, key := range []string{b.a.marketing, b.a.sales, b.a.admin} {
		got := expectJSON[qualify.FunnelReport](t, b.apiBundle, http.StatusOK, key, "GET", path, nil)
		// The lead was made qualified, then accepted and converted.
		want := map[string]int64{"responses": 0, "leads": 1, "nurturing": 0, "marketing_qualified": 1,
			"sales_accepted": 1, "opportunities": 1, "converted": 1}
		if diff := cmp.Diff(want, counts(got)); diff != "" {
			t.Errorf("funnel counts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(store.Forecast{Opportunities: 1, Amount: "500.00"}, got.Forecast); diff != "" {
			t.Errorf("forecast (-want +got):\n%s", diff)
		}
	}
	// Another workspace's funnel is empty.
	got := expectJSON[qualify.FunnelReport](t, b.apiBundle, http.StatusOK, b.b.marketing, "GET", path, nil)
	if c := counts(got); c["leads"] != 0 || c["converted"] != 0 || got.Forecast.Opportunities != 0 || len(got.Groups) != 0 {
		t.Errorf("another workspace's funnel = %+v, want empty", got)
	}
	// The defaults: the last 30 days by source.
	got = expectJSON[qualify.FunnelReport](t, b.apiBundle, http.StatusOK, b.a.marketing, "GET", "/api/v1/reports/funnel", nil)
	if got.By != "source" || got.To.Sub(got.From) != 30*24*time.Hour || counts(got)["leads"] != 1 {
		t.Errorf("default funnel = %s from %s to %s with %v, want by source over 30 days", got.By, got.From, got.To, counts(got))
	}
	fields := expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.a.marketing, "GET",
		"/api/v1/reports/funnel?from=yesterday&by=country", nil)
	if diff := cmp.Diff([]string{"from"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}
	fields = expectError(t, b.apiBundle, http.StatusUnprocessableEntity, "validation_failed", b.a.marketing, "GET",
		"/api/v1/reports/funnel?by=country", nil)
	if diff := cmp.Diff([]string{"by"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}
	expectError(t, b.apiBundle, http.StatusUnauthorized, "unauthorized", "", "GET", path, nil)
}
