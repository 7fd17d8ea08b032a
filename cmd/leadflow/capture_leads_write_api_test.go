package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/capture"
	"leadflow/store"
)

// leadWriteBody is a lead's view as the write endpoints answer it.
type leadWriteBody struct {
	leadBody
	Suppression *capture.LeadSuppression `json:"suppression"`
}

type referredBody struct {
	Outcome string        `json:"outcome"`
	Filled  []string      `json:"filled"`
	Lead    leadWriteBody `json:"lead"`
}

// auditOf returns the lead's audit entries with the action, in order.
func auditOf(entries []capture.AuditEntry, action string) []capture.AuditEntry {
	var out []capture.AuditEntry
	for _, e := range entries {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func TestLeadReferralMatchesTheExistingPerson(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	key := b.a.sales
	form := b.form(t, b.a.ws.ID, nil)
	alice := b.submit(t, form, personFields(t, "alice.smith@gmail.com", "Alice", "Smith", "Acme Robotics"), false)

	// Another spelling of her address finds her; what the referral says
	// fills her blanks and overwrites nothing she said herself.
	got := expectJSON[referredBody](t, b, 200, key, "POST", "/api/v1/leads", map[string]any{
		"email": "Alice.Smith+ref@GMAIL.com", "first_name": "Alicia", "company": "Other Co",
		"phone": "+44 20 7946 0958", "referred_by": "Bob at the trade show",
	})
	if got.Outcome != capture.OutcomeMerged || got.Lead.ID != *alice.LeadID {
		t.Fatalf("referral of Alice = %s lead %s, want merged into %s", got.Outcome, got.Lead.ID, alice.LeadID)
	}
	if diff := cmp.Diff([]string{"phone"}, got.Filled); diff != "" {
		t.Errorf("filled (-want +got):\n%s", diff)
	}
	if got.Lead.FirstName != "Alice" || got.Lead.Company != "Acme Robotics" || got.Lead.Phone != "+442079460958" {
		t.Errorf("lead after referral = %+v", got.Lead.Lead)
	}
	merged := auditOf(got.Lead.Audit, store.AuditResponseMerged)
	if len(merged) != 1 || merged[0].ResponseID != nil || !strings.HasPrefix(merged[0].Actor, "api_key:") ||
		merged[0].Detail["source"] != "referral" || merged[0].Detail["referred_by"] != "Bob at the trade show" {
		t.Errorf("referral audit = %+v", merged)
	}

	made := expectJSON[referredBody](t, b, 201, b.a.marketing, "POST", "/api/v1/leads", map[string]any{
		"email": "carol@example.com", "first_name": "carol", "last_name": "DANVERS", "primary_interest": "Robots",
		"custom": map[string]string{"booth": "B12"},
	})
	if made.Outcome != capture.OutcomeCreated || made.Lead.LeadSource != capture.LeadSourceReferral ||
		made.Lead.PrimaryInterest != "Robots" || made.Lead.Custom["booth"] != "B12" || len(made.Filled) != 0 {
		t.Errorf("new referral = %s %+v filled %v", made.Outcome, made.Lead.Lead, made.Filled)
	}
	if created := auditOf(made.Lead.Audit, store.AuditCreated); len(created) != 1 || created[0].Detail["source"] != "referral" {
		t.Errorf("new referral's audit = %+v", made.Lead.Audit)
	}
	leads := expectJSON[listBody[capture.Lead]](t, b, 200, key, "GET", "/api/v1/leads", nil)
	if len(leads.Items) != 2 {
		t.Errorf("leads after two referrals = %d, want 2 (Alice and Carol)", len(leads.Items))
	}

	for _, tt := range []struct {
		body any
		want []string
	}{
		{map[string]any{}, []string{"email", "phone"}},
		{map[string]any{"email": "not an address"}, []string{"email"}},
		{map[string]any{"email": "d@example.com", "status": "converted"}, []string{"status"}},
		{map[string]any{"email": "d@example.com", "first_name": 7}, []string{"first_name"}},
		{map[string]any{"phone": "12"}, []string{"phone"}},
	} {
		fields := expectError(t, b, 422, "validation_failed", key, "POST", "/api/v1/leads", tt.body)
		if diff := cmp.Diff(tt.want, fieldNames(fields)); diff != "" {
			t.Errorf("POST /leads %v fields (-want +got):\n%s", tt.body, diff)
		}
	}
	expectError(t, b, 401, "unauthorized", "", "POST", "/api/v1/leads", map[string]any{"email": "e@example.com"})
}

func TestLeadConcurrentReferralsMakeOneLead(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	const n = 8
	type answer struct {
		status int
		lead   uuid.UUID
		err    error
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf(`{"email":"dana+%d@example.com","first_name":"Dana"}`, i)
			req, err := http.NewRequest("POST", b.srv.URL+"/api/v1/leads", bytes.NewBufferString(body))
			if err != nil {
				answers[i].err = err
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+b.a.marketing)
			resp, err := b.srv.Client().Do(req)
			if err != nil {
				answers[i].err = err
				return
			}
			defer resp.Body.Close()
			var v referredBody
			answers[i].status = resp.StatusCode
			answers[i].err = json.NewDecoder(resp.Body).Decode(&v)
			answers[i].lead = v.Lead.ID
		})
	}
	wg.Wait()
	created := 0
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Fatalf("referral %d: %v", i, a.err)
		case a.status == 201:
			created++
		case a.status != 200:
			t.Fatalf("referral %d = %d", i, a.status)
		}
		if a.lead != answers[0].lead {
			t.Errorf("referral %d found lead %s, referral 0 %s", i, a.lead, answers[0].lead)
		}
	}
	if created != 1 {
		t.Errorf("%d referrals made a lead, want 1", created)
	}
	leads := expectJSON[listBody[capture.Lead]](t, b, 200, b.a.sales, "GET", "/api/v1/leads", nil)
	if len(leads.Items) != 1 {
		t.Errorf("leads = %d, want 1", len(leads.Items))
	}
}

func TestLeadPatchAuditsEachFieldWithItsActor(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	form := b.form(t, b.a.ws.ID, nil)
	r := b.submit(t, form, personFields(t, "erin@example.com", "Erin", "Hale", "Hale Ltd"), false)
	other := b.submit(t, form, personFields(t, "finn@example.com", "Finn", "Moss", ""), false)
	path := "/api/v1/leads/" + r.LeadID.String()
	before := expectJSON[leadWriteBody](t, b, 200, b.a.sales, "GET", path, nil)

	got := expectJSON[leadWriteBody](t, b, 200, b.a.sales, "PATCH", path, map[string]any{
		"first_name": "Erin", "company": "  Hale Holdings ", "title": "CTO", "country": "GB",
		"phone": "020 7946 0958", "custom": map[string]any{"tier": "gold"},
	})
	if got.Company != "Hale Holdings" || got.Title != "CTO" || got.Phone != "+442079460958" || got.Custom["tier"] != "gold" {
		t.Errorf("patched lead = %+v", got.Lead)
	}
	type change struct{ Field, Old, New string }
	var changes []change
	actors := map[string]bool{}
	for _, e := range auditOf(got.Audit, store.AuditFieldOverwritten) {
		changes = append(changes, change{e.Field, e.OldValue, e.NewValue})
		actors[e.Actor] = true
	}
	want := []change{
		{"company", "Hale Ltd", "Hale Holdings"}, {"title", "", "CTO"}, {"country", "", "GB"},
		{"phone", "", "+442079460958"}, {"custom.tier", "", "gold"},
	}
	sortChanges := func(c []change) {
		slices.SortFunc(c, func(a, b change) int { return strings.Compare(a.Field, b.Field) })
	}
	sortChanges(want)
	sortChanges(changes)
	if diff := cmp.Diff(want, changes); diff != "" {
		t.Errorf("audited changes (-want +got):\n%s", diff)
	}
	if len(actors) != 1 || actors[capture.ProcessActor] {
		t.Errorf("actors of the changes = %v, want the one key", actors)
	}

	// The same values again change and write nothing.
	again := expectJSON[leadWriteBody](t, b, 200, b.a.marketing, "PATCH", path, map[string]any{
		"company": "Hale Holdings", "title": "CTO", "custom": map[string]any{"tier": "gold"},
	})
	if len(again.Audit) != len(got.Audit) || !again.UpdatedAt.Equal(got.UpdatedAt) {
		t.Errorf("no-op PATCH wrote: audit %d -> %d, updated_at %v -> %v", len(got.Audit), len(again.Audit), got.UpdatedAt, again.UpdatedAt)
	}
	marketingEdit := expectJSON[leadWriteBody](t, b, 200, b.a.marketing, "PATCH", path, map[string]any{"custom": map[string]any{"tier": nil}})
	last := marketingEdit.Audit[len(marketingEdit.Audit)-1]
	if _, ok := marketingEdit.Custom["tier"]; ok || last.Field != "custom.tier" || actors[last.Actor] {
		t.Errorf("marketing removing tier: custom %v, last audit %+v", marketingEdit.Custom, last)
	}

	// A new address becomes the lead's; the old one still finds it.
	moved := expectJSON[leadWriteBody](t, b, 200, b.a.sales, "PATCH", path, map[string]any{"email": "Erin@Hale.example"})
	if moved.Email != "erin@hale.example" {
		t.Errorf("email after PATCH = %q", moved.Email)
	}
	found := expectJSON[listBody[capture.Lead]](t, b, 200, b.a.sales, "GET", "/api/v1/leads?email=erin@hale.example", nil)
	if diff := cmp.Diff([]uuid.UUID{*r.LeadID}, idsOf(found.Items, leadID)); diff != "" {
		t.Errorf("leads with the new address (-want +got):\n%s", diff)
	}
	if n := len(auditOf(moved.Audit, store.AuditIdentityAdded)); n != 1 {
		t.Errorf("identity_added entries = %d, want 1", n)
	}
	again2 := b.submit(t, form, personFields(t, "erin@example.com", "Erin", "Hale", ""), false)
	if *again2.LeadID != *r.LeadID {
		t.Errorf("a submission from the old address made lead %s, want %s", again2.LeadID, r.LeadID)
	}
	fields := expectError(t, b, 409, "conflict", b.a.sales, "PATCH", path, map[string]any{"email": "finn@example.com"})
	if _, ok := fields["email"]; !ok {
		t.Errorf("conflict fields = %v, want email", fields)
	}

	for _, tt := range []struct {
		body any
		want []string
	}{
		{map[string]any{}, []string{""}},
		{map[string]any{"email": ""}, []string{"email"}},
		{map[string]any{"status": "converted"}, []string{"status"}},
		{map[string]any{"first_name": strings.Repeat("x", 201), "phone": "12"}, []string{"first_name", "phone"}},
		{map[string]any{"owner_id": "nobody"}, []string{"owner_id"}},
	} {
		fields := expectError(t, b, 422, "validation_failed", b.a.sales, "PATCH", path, tt.body)
		if diff := cmp.Diff(tt.want, fieldNames(fields)); diff != "" {
			t.Errorf("PATCH %v fields (-want +got):\n%s", tt.body, diff)
		}
	}
	expectError(t, b, 422, "invalid_reference", b.a.sales, "PATCH", path, map[string]any{"owner_id": store.NewID()})

	// A lead with no address and a phone kept as typed takes the edit
	// form's blanks and that phone back unchanged.
	odd, err := b.st.InsertLead(context.Background(), store.Lead{WorkspaceID: b.a.ws.ID, FirstName: "Kit",
		PhoneUnverified: "ext. 12 ask for Kit", Status: store.LeadNew})
	if err != nil {
		t.Fatal(err)
	}
	kept := expectJSON[leadWriteBody](t, b, 200, b.a.sales, "PATCH", "/api/v1/leads/"+odd.ID.String(),
		map[string]any{"email": "", "phone": "ext. 12 ask for Kit", "title": "Buyer"})
	if kept.PhoneUnverified != "ext. 12 ask for Kit" || kept.Title != "Buyer" || len(kept.Audit) != 1 || kept.Audit[0].Field != "title" {
		t.Errorf("lead without an address after the edit = %+v, audit %+v", kept.Lead, kept.Audit)
	}

	// A merged lead is its survivor's to edit.
	expectJSON[leadWriteBody](t, b, 200, b.a.marketing, "POST", path+"/merge", map[string]any{"other_id": other.LeadID})
	expectError(t, b, 409, "conflict", b.a.sales, "PATCH", "/api/v1/leads/"+other.LeadID.String(), map[string]any{"title": "CEO"})
	if before.ID != *r.LeadID {
		t.Fatal("lead changed id")
	}
}

func TestLeadStatusChangeKeepsItsReason(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	form := b.form(t, b.a.ws.ID, nil)
	r := b.submit(t, form, personFields(t, "gus@example.com", "Gus", "Fring", ""), false)
	path := "/api/v1/leads/" + r.LeadID.String() + "/status"

	got := expectJSON[leadWriteBody](t, b, 200, b.a.sales, "POST", path, map[string]any{"status": "disqualified", "reason": "student, no budget"})
	if got.Status != store.LeadDisqualified || got.StatusReason != "student, no budget" {
		t.Errorf("lead after the move = %s (%q)", got.Status, got.StatusReason)
	}
	moves := auditOf(got.Audit, store.AuditStatusChanged)
	if len(moves) != 1 || moves[0].OldValue != store.LeadNew || moves[0].NewValue != store.LeadDisqualified ||
		moves[0].Detail["reason"] != "student, no budget" || !strings.HasPrefix(moves[0].Actor, "api_key:") {
		t.Errorf("status audit = %+v", moves)
	}
	same := expectJSON[leadWriteBody](t, b, 200, b.a.marketing, "POST", path, map[string]any{"status": "disqualified", "reason": "again"})
	if len(same.Audit) != len(got.Audit) {
		t.Errorf("moving to the status it has wrote %d audit entries", len(same.Audit)-len(got.Audit))
	}
	expectJSON[leadWriteBody](t, b, 200, b.a.marketing, "POST", path, map[string]any{"status": "recycled", "reason": "has budget now"})

	for _, tt := range []struct {
		body any
		want []string
	}{
		{map[string]any{"status": "nurturing"}, []string{"reason"}},
		{map[string]any{"status": "converted", "reason": "signed"}, []string{"status"}},
		{map[string]any{"status": "marketing_qualified", "reason": "hot"}, []string{"status"}},
		{map[string]any{"status": "hot", "reason": " "}, []string{"reason", "status"}},
		{map[string]any{"status": "nurturing", "reason": "x", "by": "me"}, []string{"by"}},
	} {
		fields := expectError(t, b, 422, "validation_failed", b.a.sales, "POST", path, tt.body)
		if diff := cmp.Diff(tt.want, fieldNames(fields)); diff != "" {
			t.Errorf("status %v fields (-want +got):\n%s", tt.body, diff)
		}
	}
}

func TestLeadResubscribeRequiresNewConsent(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	ctx := context.Background()
	ws := b.a.ws.ID
	form := b.form(t, ws, nil)
	r := b.submit(t, form, personFields(t, "hank@example.com", "Hank", "Schrader", ""), false)
	bounced := b.submit(t, form, personFields(t, "ivy@example.com", "Ivy", "Lane", ""), false)
	path := "/api/v1/leads/" + r.LeadID.String()

	if v := expectJSON[leadWriteBody](t, b, 200, b.a.sales, "GET", path, nil); v.Suppression != nil {
		t.Errorf("suppression of an address never suppressed = %+v", v.Suppression)
	}
	expectError(t, b, 409, "conflict", b.a.sales, "POST", path+"/resubscribe",
		map[string]any{"consent_text": "yes", "consent_source": "call"})

	since := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	if _, err := b.st.InsertSuppression(ctx, ws, "hank@example.com", store.SuppressUnsubscribed, since); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.InsertSuppression(ctx, ws, "ivy@example.com", store.SuppressBounced, since); err != nil {
		t.Fatal(err)
	}
	v := expectJSON[leadWriteBody](t, b, 200, b.a.sales, "GET", path, nil)
	if v.Suppression == nil || v.Suppression.Reason != store.SuppressUnsubscribed || !v.Suppression.Since.Equal(since) {
		t.Errorf("suppression = %+v, want unsubscribed since %v", v.Suppression, since)
	}

	for _, tt := range []struct {
		body any
		want []string
	}{
		{map[string]any{}, []string{"consent_source", "consent_text"}},
		{map[string]any{"consent_text": "I agree to hear from Acme"}, []string{"consent_source"}},
		{map[string]any{"consent_text": " ", "consent_source": "phone call"}, []string{"consent_text"}},
	} {
		fields := expectError(t, b, 422, "validation_failed", b.a.sales, "POST", path+"/resubscribe", tt.body)
		if diff := cmp.Diff(tt.want, fieldNames(fields)); diff != "" {
			t.Errorf("resubscribe %v fields (-want +got):\n%s", tt.body, diff)
		}
	}
	if ok, err := b.st.IsSuppressed(ctx, ws, "hank@example.com"); err != nil || !ok {
		t.Fatalf("refused resubscriptions took the suppression back: %v %v", ok, err)
	}

	got := expectJSON[leadWriteBody](t, b, 200, b.a.marketing, "POST", path+"/resubscribe",
		map[string]any{"consent_text": "I agree to hear from Acme", "consent_source": "phone call 2 Dec"})
	if got.Suppression != nil || !got.Consent || got.ConsentText != "I agree to hear from Acme" || got.ConsentAt == nil {
		t.Errorf("resubscribed lead: suppression %+v consent %v %q %v", got.Suppression, got.Consent, got.ConsentText, got.ConsentAt)
	}
	consent := auditOf(got.Audit, store.AuditConsentRecorded)
	if len(consent) != 1 || consent[0].Detail["consent_source"] != "phone call 2 Dec" || consent[0].NewValue != "I agree to hear from Acme" {
		t.Errorf("consent audit = %+v", consent)
	}
	if removed := auditOf(got.Audit, store.AuditSuppressionRemoved); len(removed) != 1 || removed[0].Actor != consent[0].Actor {
		t.Errorf("suppression removal audit = %+v", removed)
	}
	if ok, err := b.st.IsSuppressed(ctx, ws, "hank@example.com"); err != nil || ok {
		t.Errorf("resubscribed address suppressed = %v %v", ok, err)
	}

	// Consent does not make a bounced address take mail.
	bpath := "/api/v1/leads/" + bounced.LeadID.String()
	fields := expectError(t, b, 409, "conflict", b.a.sales, "POST", bpath+"/resubscribe",
		map[string]any{"consent_text": "yes", "consent_source": "call"})
	if _, ok := fields["email"]; !ok {
		t.Errorf("bounced resubscribe fields = %v, want email", fields)
	}
	moved := expectJSON[leadWriteBody](t, b, 200, b.a.sales, "PATCH", bpath, map[string]any{"email": "ivy@lane.example"})
	if moved.Suppression != nil {
		t.Errorf("lead with a new address still shows %+v", moved.Suppression)
	}
}

func TestLeadWritesStayInTheirWorkspace(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	form := b.form(t, b.a.ws.ID, nil)
	r := b.submit(t, form, personFields(t, "jan@example.com", "Jan", "Oort", ""), false)
	path := "/api/v1/leads/" + r.LeadID.String()
	for _, key := range []string{b.b.admin, b.b.marketing, b.b.sales} {
		expectError(t, b, 404, "not_found", key, "PATCH", path, map[string]any{"title": "CEO"})
		expectError(t, b, 404, "not_found", key, "POST", path+"/status", map[string]any{"status": "contacted", "reason": "called"})
		expectError(t, b, 404, "not_found", key, "POST", path+"/resubscribe", map[string]any{"consent_text": "yes", "consent_source": "call"})
	}
	// The other workspace's referral of the same person is its own lead.
	other := expectJSON[referredBody](t, b, 201, b.b.sales, "POST", "/api/v1/leads", map[string]any{"email": "jan@example.com"})
	if other.Lead.ID == *r.LeadID {
		t.Errorf("a referral in another workspace found this workspace's lead")
	}
	v := expectJSON[leadWriteBody](t, b, 200, b.a.sales, "GET", path, nil)
	if v.Title != "" || v.Status != store.LeadNew || len(v.Audit) != 1 {
		t.Errorf("lead after the other workspace's writes = %+v, audit %d", v.Lead, len(v.Audit))
	}
}

// A lead disqualified by hand leaves its sequences at once, with the reason
// saying why; other moves by hand leave its enrolments as they are.
func TestLeadDisqualifiedByHandLeavesItsSequences(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	ctx := context.Background()
	ws := b.a.ws.ID
	form := b.form(t, ws, nil)
	r := b.submit(t, form, personFields(t, "walt@example.com", "Walt", "White", ""), false)
	seq := store.NewID()
	if _, err := b.st.Pool.Exec(ctx, `INSERT INTO sequences (id, workspace_id, name, status, steps)
		VALUES ($1, $2, 'Seq', 'active', jsonb_build_array(jsonb_build_object('key', 'w', 'type', 'wait', 'duration', '1h')))`, seq, ws); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.Pool.Exec(ctx, `INSERT INTO enrollments (id, workspace_id, sequence_id, lead_id, state, step_key, next_run_at)
		VALUES ($1, $2, $3, $4, 'active', 'w', now() + interval '1 hour')`, store.NewID(), ws, seq, *r.LeadID); err != nil {
		t.Fatal(err)
	}
	enrolment := func() (state, reason string) {
		t.Helper()
		if err := b.st.Pool.QueryRow(ctx, `SELECT state, exit_reason FROM enrollments WHERE lead_id = $1`, *r.LeadID).Scan(&state, &reason); err != nil {
			t.Fatal(err)
		}
		return state, reason
	}
	path := "/api/v1/leads/" + r.LeadID.String() + "/status"
	expectJSON[leadWriteBody](t, b, 200, b.a.marketing, "POST", path, map[string]any{"status": "contacted", "reason": "called once"})
	if state, _ := enrolment(); state != store.EnrollmentActive {
		t.Fatalf("after a move to contacted the enrolment is %s, want it active", state)
	}
	expectJSON[leadWriteBody](t, b, 200, b.a.sales, "POST", path, map[string]any{"status": "disqualified", "reason": "competitor"})
	if state, reason := enrolment(); state != store.EnrollmentExited || reason != store.ExitDisqualified {
		t.Errorf("after disqualifying the enrolment is %s (%q), want exited (%q)", state, reason, store.ExitDisqualified)
	}
}
