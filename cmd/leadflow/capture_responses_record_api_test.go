package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"leadflow/capture"
	"leadflow/store"
)

// record posts a response recorded by hand, which must answer want.
func (b *apiBundle) record(t *testing.T, key string, want int, body map[string]any) capture.Response {
	t.Helper()
	return expectJSON[capture.Response](t, b, want, key, "POST", "/api/v1/responses", body)
}

// resolve runs the real worker code on a recorded response and reads it back.
func (b *apiBundle) resolve(t *testing.T, ws, id uuid.UUID) store.Response {
	t.Helper()
	ctx := context.Background()
	if _, err := b.processor.Process(ctx, id); err != nil {
		t.Fatal(err)
	}
	r, err := b.st.GetResponse(ctx, ws, id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (b *apiBundle) countRows(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := b.st.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRecordedResponsesResolveLikeFormResponses(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	ws := b.a.ws.ID
	form := b.form(t, ws, nil)
	ada := b.submit(t, form, personFields(t, "ada@example.com", "Ada", "Lovelace", "Analytical"), false)

	// A phone survey of a known lead, recorded by sales: kept with its
	// channel, answers and recorder, no form, and merged into her lead.
	got := b.record(t, b.a.sales, 202, map[string]any{
		"channel": "phone", "email": "ADA@example.com", "campaign": "Q4 survey",
		"answers": []map[string]string{
			{"question": "How many engineers?", "answer": "40"},
			{"question": "Budget this year?", "answer": "Yes"},
		},
		"recorded_by": "Grace at the call centre",
	})
	if got.Channel != store.ChannelPhone || got.FormID != nil || got.Status != store.ResponsePending ||
		len(got.Answers) != 2 || got.Answers[0].Question != "How many engineers?" || got.Answers[1].Answer != "Yes" {
		t.Fatalf("recorded phone response = %+v", got)
	}
	if got.RecordedBy == "" || got.Campaign != "Q4 survey" {
		t.Errorf("recorded by %q, campaign %q", got.RecordedBy, got.Campaign)
	}
	r := b.resolve(t, ws, got.ID)
	if r.Status != store.ResponseProcessed || r.Outcome != capture.OutcomeMerged || r.LeadID == nil || *r.LeadID != *ada.LeadID {
		t.Fatalf("phone response resolved to %s %s lead %v, want merged into %s", r.Status, r.Outcome, r.LeadID, ada.LeadID)
	}
	lead := expectJSON[leadBody](t, b, 200, b.a.sales, "GET", "/api/v1/leads/"+ada.LeadID.String(), nil)
	merged := auditOf(lead.Audit, store.AuditResponseMerged)
	if len(merged) != 1 || merged[0].Detail["channel"] != store.ChannelPhone || merged[0].Detail["recorded_by"] == nil {
		t.Errorf("audit of the phone response = %+v", merged)
	}
	if n := b.countRows(t, `SELECT count(*) FROM leads WHERE workspace_id = $1`, ws); n != 1 {
		t.Errorf("leads after a known person's phone response = %d, want 1", n)
	}

	// A known contact who chats becomes a lead linked to the contact.
	contact := expectJSON[capture.Contact](t, b, 201, b.a.sales, "POST", "/api/v1/contacts",
		map[string]any{"email": "carol@globex.example", "first_name": "Carol"})
	chat := b.record(t, b.a.marketing, 202, map[string]any{"channel": "chat", "email": "carol@globex.example", "first_name": "Carol"})
	r = b.resolve(t, ws, chat.ID)
	if r.Outcome != capture.OutcomeLinkedContact || r.LeadID == nil {
		t.Fatalf("chat of a contact resolved to %s lead %v, want linked_contact", r.Outcome, r.LeadID)
	}
	var linked uuid.UUID
	if err := b.st.Pool.QueryRow(context.Background(), `SELECT contact_id FROM leads WHERE id = $1`, *r.LeadID).Scan(&linked); err != nil {
		t.Fatal(err)
	}
	if linked != contact.ID {
		t.Errorf("chat lead linked to contact %s, want %s", linked, contact.ID)
	}

	// The list filter finds each channel's responses, web ones by their form.
	phones := expectJSON[listBody[capture.Response]](t, b, 200, b.a.marketing, "GET", "/api/v1/responses?channel=phone", nil)
	if len(phones.Items) != 1 || phones.Items[0].ID != got.ID {
		t.Errorf("responses?channel=phone = %+v", phones.Items)
	}
	webs := expectJSON[listBody[capture.Response]](t, b, 200, b.a.marketing, "GET", "/api/v1/responses?channel=web", nil)
	if len(webs.Items) != 1 || webs.Items[0].ID != ada.ID || webs.Items[0].FormID == nil || *webs.Items[0].FormID != form.ID {
		t.Errorf("responses?channel=web = %+v", webs.Items)
	}
}

func TestListSubscriptionMakesALeadOnlyWithAPurchaseInterest(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	ws := b.a.ws.ID
	leads := func() int { return b.countRows(t, `SELECT count(*) FROM leads WHERE workspace_id = $1`, ws) }

	// A stranger who subscribes is an audience: the response is kept,
	// processed, and makes no lead.
	sub := b.record(t, b.a.marketing, 202, map[string]any{"channel": "list", "email": "reader@example.com", "consent": true, "consent_text": "Send me the newsletter"})
	r := b.resolve(t, ws, sub.ID)
	if r.Status != store.ResponseProcessed || r.Outcome != capture.OutcomeListOnly || r.LeadID != nil {
		t.Fatalf("list subscription = %s %s lead %v, want processed list_only without a lead", r.Status, r.Outcome, r.LeadID)
	}
	if n := leads(); n != 0 {
		t.Fatalf("leads after a list subscription = %d, want 0", n)
	}
	// Processing it again changes nothing.
	if again := b.resolve(t, ws, sub.ID); again.Outcome != capture.OutcomeListOnly || leads() != 0 {
		t.Errorf("second processing = %s, %d leads", again.Outcome, leads())
	}

	// A purchase interest makes the subscriber a lead.
	keen := b.record(t, b.a.marketing, 202, map[string]any{"channel": "list", "email": "buyer@example.com", "product_interest": "Robots"})
	if r := b.resolve(t, ws, keen.ID); r.Outcome != capture.OutcomeCreated || r.LeadID == nil {
		t.Fatalf("list subscription with an interest = %s lead %v, want created", r.Outcome, r.LeadID)
	}

	// A subscription of someone already a lead joins that lead.
	form := b.form(t, ws, nil)
	known := b.submit(t, form, personFields(t, "known@example.com", "Kim", "Known", ""), false)
	join := b.record(t, b.a.marketing, 202, map[string]any{"channel": "list", "email": "known@example.com"})
	if r := b.resolve(t, ws, join.ID); r.Outcome != capture.OutcomeMerged || r.LeadID == nil || *r.LeadID != *known.LeadID {
		t.Fatalf("list subscription of a lead = %s lead %v, want merged into %s", r.Outcome, r.LeadID, known.LeadID)
	}
	if n := leads(); n != 2 {
		t.Errorf("leads = %d, want 2 (the keen subscriber and the form's)", n)
	}
}

func TestRecordedResponseIsSafeToRepeatAndRefusesBadInput(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	ws := b.a.ws.ID
	responses := func() int { return b.countRows(t, `SELECT count(*) FROM responses`) }

	// The same call twice (a client retrying after a timeout) keeps one.
	id := store.NewID()
	body := map[string]any{"id": id, "channel": "email", "email": "repeat@example.com"}
	first := b.record(t, b.a.sales, 202, body)
	second := b.record(t, b.a.sales, 200, body)
	if first.ID != id || second.ID != id || responses() != 1 {
		t.Fatalf("repeated call: %s then %s, %d responses; want one response %s", first.ID, second.ID, responses(), id)
	}
	// Another workspace cannot take the ID, nor learn what it holds.
	fields := expectError(t, b, 422, "validation_failed", b.b.sales, "POST", "/api/v1/responses",
		map[string]any{"id": id, "channel": "email", "email": "other@example.com"})
	if _, ok := fields["id"]; !ok || responses() != 1 {
		t.Errorf("taken ID from another workspace: fields %v, %d responses", fields, responses())
	}

	long := make([]map[string]string, 101)
	for i := range long {
		long[i] = map[string]string{"question": fmt.Sprintf("q%d", i), "answer": "a"}
	}
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no channel", map[string]any{"email": "a@example.com"}, "channel"},
		{"web comes through its form", map[string]any{"channel": "web", "email": "a@example.com"}, "channel"},
		{"imports come through an import", map[string]any{"channel": "import", "email": "a@example.com"}, "channel"},
		{"an unknown channel", map[string]any{"channel": "fax", "email": "a@example.com"}, "channel"},
		{"no email nor phone", map[string]any{"channel": "phone", "first_name": "Nobody"}, "email"},
		{"a bad email", map[string]any{"channel": "phone", "email": "not an address"}, "email"},
		{"too many answers", map[string]any{"channel": "phone", "email": "a@example.com", "answers": long}, "answers"},
		{"an answer without its question", map[string]any{"channel": "phone", "email": "a@example.com",
			"answers": []map[string]string{{"answer": "yes"}}}, "answers[0].question"},
		{"a response from the future", map[string]any{"channel": "phone", "email": "a@example.com",
			"received_at": time.Now().Add(time.Hour)}, "received_at"},
		{"consent text without consent", map[string]any{"channel": "list", "email": "a@example.com", "consent_text": "yes"}, "consent_text"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fields := expectError(t, b, 422, "validation_failed", b.a.marketing, "POST", "/api/v1/responses", tc.body)
			if _, ok := fields[tc.field]; !ok {
				t.Errorf("fields at fault = %v, want %s among them", fields, tc.field)
			}
		})
	}
	if n := responses(); n != 1 {
		t.Errorf("responses after refused calls = %d, want 1", n)
	}
	expectError(t, b, 400, "bad_request", b.a.marketing, "POST", "/api/v1/responses", `{"channel": "phone",`)

	// Redis away: the response is committed all the same, left pending for
	// the sweeper to queue.
	b.enqueueFails.Store(true)
	kept := b.record(t, b.a.marketing, 202, map[string]any{"channel": "event", "email": "booth@example.com"})
	b.enqueueFails.Store(false)
	r, err := b.st.GetResponse(context.Background(), ws, kept.ID)
	if err != nil || r.Status != store.ResponsePending || r.Channel != store.ChannelEvent {
		t.Fatalf("response recorded with Redis away = %+v, %v", r, err)
	}
}

func TestAWebResponseMustNameItsForm(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	r := store.Response{ID: store.NewID(), WorkspaceID: b.a.ws.ID, ReceivedAt: time.Now(), Channel: store.ChannelWeb}
	if err := b.st.InsertResponses(context.Background(), []store.Response{r}, nil); err == nil {
		t.Fatal("a web response without a form was stored")
	}
	r.Channel = "fax"
	r.ID = store.NewID()
	if err := b.st.InsertResponses(context.Background(), []store.Response{r}, nil); err == nil {
		t.Fatal("a response of an unknown channel was stored")
	}
}
