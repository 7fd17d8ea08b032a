package nurture_test

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/capture"
	"leadflow/nurture"
	"leadflow/store"
)

// doiForm makes a double opt-in contact form.
func (b *trackBundle) doiForm(t *testing.T, ws store.Workspace) store.Form {
	t.Helper()
	f, err := b.st.InsertForm(b.ctx, store.Form{WorkspaceID: ws.ID, Name: "Newsletter", Kind: store.FormContactUs, DoubleOptIn: true})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// response commits a pending response to the form as capture does.
func (b *trackBundle) response(t *testing.T, form store.Form, posted, firstName string) uuid.UUID {
	t.Helper()
	email, canonical, err := capture.NormalizeEmail(posted)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := json.Marshal(capture.Fields{Email: email, EmailCanonical: canonical, FirstName: firstName})
	if err != nil {
		t.Fatal(err)
	}
	id := store.NewID()
	if _, err := b.st.Pool.Exec(b.ctx, `
		INSERT INTO responses (id, workspace_id, form_id, received_at, ip, user_agent, raw, fields, utm, custom, verdict, status)
		VALUES ($1, $2, $3, $4, $5, 'test', $6, $7, '{}', '{}', 'ok', 'pending')`,
		id, form.WorkspaceID, form.ID, b.clock.Now(), netip.MustParseAddr("203.0.113.7"),
		map[string][]string{"email": {posted}}, fields); err != nil {
		t.Fatal(err)
	}
	return id
}

func (b *trackBundle) getResponse(t *testing.T, ws store.Workspace, id uuid.UUID) store.Response {
	t.Helper()
	r, err := b.st.GetResponse(b.ctx, ws.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (b *trackBundle) countLeads(t *testing.T, ws store.Workspace) int {
	t.Helper()
	var n int
	if err := b.st.Pool.QueryRow(b.ctx, `SELECT count(*) FROM leads WHERE workspace_id = $1`, ws.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// responseMessages lists the messages made for a response.
func (b *trackBundle) responseMessages(t *testing.T, ws store.Workspace, responseID uuid.UUID) []store.Message {
	t.Helper()
	rows, err := b.st.Pool.Query(b.ctx, `SELECT id FROM messages WHERE workspace_id = $1 AND response_id = $2 ORDER BY id`, ws.ID, responseID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	var out []store.Message
	for _, id := range ids {
		out = append(out, b.getMessage(t, store.Message{ID: id, WorkspaceID: ws.ID}))
	}
	return out
}

func (b *trackBundle) process(t *testing.T, id uuid.UUID) capture.Outcome {
	t.Helper()
	out, err := b.proc.Process(b.ctx, id)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	return out
}

var clickURL = regexp.MustCompile(regexp.QuoteMeta(trackBaseURL) + `/t/c/[A-Za-z0-9_-]+`)

func TestDoubleOptInEndToEnd(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	form := b.doiForm(t, b.ws)
	respID := b.response(t, form, "Ada+news@Example.com", "Ada <b>")

	// Processing parks the response and queues one confirmation email; no
	// lead is made.
	out := b.process(t, respID)
	if diff := cmp.Diff(capture.Outcome{ResponseID: respID, WorkspaceID: b.ws.ID, Status: store.ResponseAwaitingConfirmation}, out); diff != "" {
		t.Errorf("first processing (-want +got):\n%s", diff)
	}
	if n := b.countLeads(t, b.ws); n != 0 {
		t.Fatalf("an unconfirmed response made %d leads", n)
	}
	msgs := b.responseMessages(t, b.ws, respID)
	if len(msgs) != 1 {
		t.Fatalf("%d confirmation messages, want 1", len(msgs))
	}
	m := msgs[0]
	if diff := cmp.Diff([]any{(*uuid.UUID)(nil), "confirm:" + respID.String(), store.MessageTransactional, "ada+news@example.com", store.MessageQueued},
		[]any{m.LeadID, m.DedupeKey, m.Kind, m.ToEmail, m.Status}); diff != "" {
		t.Errorf("confirmation message (-want +got):\n%s", diff)
	}
	if out := b.process(t, respID); !out.Unchanged || out.Status != store.ResponseAwaitingConfirmation {
		t.Errorf("processing again = %+v, want unchanged", out)
	}
	if n := len(b.responseMessages(t, b.ws, respID)); n != 1 {
		t.Errorf("processing again made %d confirmation messages, want still 1", n)
	}
	// The sweeper leaves a response awaiting confirmation alone.
	pending, err := b.st.PendingResponses(b.ctx, time.Now().Add(time.Hour), store.PendingResponse{}, 10)
	if err != nil || len(pending) != 0 {
		t.Errorf("pending responses = %v, %v; want none", pending, err)
	}

	// The scheduler's send path delivers it through SMTP.
	if err := b.eng.Send(b.ctx, nurture.SendPayload{WorkspaceID: b.ws.ID, MessageID: m.ID}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	sent := b.smtp.Messages()
	if len(sent) != 1 || sent[0].Subject != "Please confirm your email address" || !slices.Equal(sent[0].To, []string{"ada+news@example.com"}) {
		t.Fatalf("SMTP got %+v", sent)
	}
	if !strings.Contains(sent[0].HTML, "Hello Ada &lt;b&gt;,") {
		t.Errorf("the greeting is not the escaped first name:\n%s", sent[0].HTML)
	}
	// The confirmation link is the email's own, not a tracked redirect.
	confirmURL := nurture.ConfirmURL(trackBaseURL, b.signer, respID)
	for _, body := range []string{sent[0].Text, sent[0].HTML} {
		if !strings.Contains(body, confirmURL) || clickURL.MatchString(body) {
			t.Fatalf("the email does not link straight to %s:\n%s", confirmURL, body)
		}
	}

	// A GET (a mail scanner following the link) confirms nothing.
	a := b.do(t, http.MethodGet, confirmURL, "", "")
	if a.status != http.StatusOK || !strings.Contains(a.body, `<form method="post">`) || !strings.Contains(a.body, "ada&#43;news@example.com") {
		t.Fatalf("GET confirm = %d:\n%s", a.status, a.body)
	}
	if r := b.getResponse(t, b.ws, respID); r.Status != store.ResponseAwaitingConfirmation || r.ConfirmedAt != nil {
		t.Errorf("a GET changed the response: %s, confirmed %v", r.Status, r.ConfirmedAt)
	}

	// A tampered token does nothing.
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		for _, bad := range []string{tamper(confirmURL), trackBaseURL + "/c/" + b.signer.Sign(nurture.TokenUnsubscribe, respID, 0)} {
			if a := b.do(t, method, bad, "application/x-www-form-urlencoded", ""); a.status != http.StatusNotFound {
				t.Errorf("%s %s = %d, want 404", method, bad, a.status)
			}
		}
	}
	if r := b.getResponse(t, b.ws, respID); r.Status != store.ResponseAwaitingConfirmation || r.ConfirmedAt != nil {
		t.Errorf("a tampered token changed the response: %s, confirmed %v", r.Status, r.ConfirmedAt)
	}

	// The POST confirms, once, and puts the response's processing on the
	// queue.
	confirmedAt := b.clock.Now()
	for i := range 2 {
		a = b.do(t, http.MethodPost, confirmURL, "application/x-www-form-urlencoded", "")
		if a.status != http.StatusOK || !strings.Contains(a.body, "is confirmed") {
			t.Fatalf("POST confirm %d = %d:\n%s", i, a.status, a.body)
		}
		b.clock.Set(confirmedAt.Add(time.Minute))
	}
	r := b.getResponse(t, b.ws, respID)
	if r.Status != store.ResponsePending || r.ConfirmedAt == nil || !r.ConfirmedAt.Equal(confirmedAt) {
		t.Errorf("after confirming: %s, confirmed %v; want pending, confirmed at %v", r.Status, r.ConfirmedAt, confirmedAt)
	}
	if diff := cmp.Diff([]uuid.UUID{respID}, b.processedResponses()); diff != "" {
		t.Errorf("responses put on the queue (-want +got):\n%s", diff)
	}
	if _, err := b.inspec.GetTaskInfo(capture.Queue, capture.TypeProcessResponse+":"+respID.String()); err != nil {
		t.Errorf("no response:process task on the queue: %v", err)
	}

	// Processing now makes the lead.
	out = b.process(t, respID)
	if out.Status != store.ResponseProcessed || out.Result != capture.OutcomeCreated || out.LeadID == uuid.Nil {
		t.Fatalf("processing the confirmed response = %+v", out)
	}
	lead, err := b.st.GetLead(b.ctx, b.ws.ID, out.LeadID)
	if err != nil || lead.EmailCanonical != "ada@example.com" {
		t.Errorf("the lead = %+v, %v", lead, err)
	}
	if n := len(b.responseMessages(t, b.ws, respID)); n != 1 {
		t.Errorf("%d messages for the response after processing, want the one confirmation", n)
	}
}

func TestConfirmingWhileTheQueueIsDownLeavesItToTheSweeper(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	form := b.doiForm(t, b.ws)
	respID := b.response(t, form, "grace@example.com", "Grace")
	b.process(t, respID)
	b.failProcessing()

	a := b.do(t, http.MethodPost, nurture.ConfirmURL(trackBaseURL, b.signer, respID), "application/x-www-form-urlencoded", "")
	if a.status != http.StatusOK {
		t.Fatalf("POST confirm = %d:\n%s", a.status, a.body)
	}
	if r := b.getResponse(t, b.ws, respID); r.Status != store.ResponsePending || r.ConfirmedAt == nil {
		t.Fatalf("the confirmation was not committed: %s, %v", r.Status, r.ConfirmedAt)
	}
	pending, err := b.st.PendingResponses(b.ctx, time.Now().Add(time.Hour), store.PendingResponse{}, 10)
	if err != nil || len(pending) != 1 || pending[0].ID != respID {
		t.Errorf("the sweeper sees %v, %v; want the confirmed response", pending, err)
	}
}

func TestUnsubscribingFromAConfirmationEmailSuppressesTheAddress(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	form := b.doiForm(t, b.ws)
	respID := b.response(t, form, "A.Lovelace+promo@gmail.com", "Ada")
	b.process(t, respID)
	m := b.responseMessages(t, b.ws, respID)[0]

	a := b.do(t, http.MethodPost, b.links(m).Unsubscribe(), "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
	if a.status != http.StatusOK || !strings.Contains(a.body, "You are unsubscribed") {
		t.Fatalf("POST unsubscribe = %d:\n%s", a.status, a.body)
	}
	// Keyed by the canonical address, as a lead made later would be.
	if diff := cmp.Diff([]string{"alovelace@gmail.com unsubscribed"}, b.suppressions(t, b.ws)); diff != "" {
		t.Errorf("suppressions (-want +got):\n%s", diff)
	}
	if r := b.getResponse(t, b.ws, respID); r.Status != store.ResponseAwaitingConfirmation {
		t.Errorf("the response is %s, want still awaiting confirmation", r.Status)
	}
}

// A confirmation link works for the link lifetime; after it the page says
// so clearly and confirms nothing. A link signed before links expired is
// held to the same lifetime from the response's arrival.
func TestExpiredConfirmationLinks(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	form := b.doiForm(t, b.ws)
	receivedAt := b.clock.Now()
	fresh := b.response(t, form, "ada@example.com", "Ada")
	old := b.response(t, form, "grace@example.com", "Grace")
	b.process(t, fresh)
	b.process(t, old)
	current := nurture.ConfirmURL(trackBaseURL, b.signer, fresh)
	legacy := trackBaseURL + "/c/" + nurture.LegacyToken(b.signer, nurture.TokenConfirm, old, 0)

	b.clock.Set(receivedAt.Add(179 * 24 * time.Hour))
	if a := b.do(t, http.MethodGet, legacy, "", ""); a.status != http.StatusOK || !strings.Contains(a.body, "<form") {
		t.Errorf("an old link within the lifetime = %d:\n%s", a.status, a.body)
	}

	b.clock.Set(receivedAt.Add(180 * 24 * time.Hour))
	for _, link := range []string{current, legacy} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			a := b.do(t, method, link, "application/x-www-form-urlencoded", "")
			if a.status != http.StatusGone || !strings.Contains(a.body, "This confirmation link has expired, so nothing was confirmed") {
				t.Errorf("%s an expired confirmation = %d:\n%s", method, a.status, a.body)
			}
		}
	}
	for _, id := range []uuid.UUID{fresh, old} {
		if r := b.getResponse(t, b.ws, id); r.Status != store.ResponseAwaitingConfirmation || r.ConfirmedAt != nil {
			t.Errorf("an expired link changed response %s: %s, confirmed %v", id, r.Status, r.ConfirmedAt)
		}
	}
	if got := b.processedResponses(); len(got) != 0 {
		t.Errorf("expired links put %v on the queue", got)
	}
}
