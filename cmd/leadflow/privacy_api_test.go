package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/store"
)

// privacyPerson is a person with a history in every table family: two
// submissions from two addresses made into two leads and merged, a file
// uploaded, emails sent, an event registration, an enrollment, scores, a
// qualification and handoff, a contact and account with an opportunity, a
// webhook delivery, a bounce and a suppression.
type privacyPerson struct {
	lead, merged uuid.UUID
	// needles are the personal values that must be nowhere once erased.
	needles []string
}

func (b *apiBundle) privacyPerson(t *testing.T, w apiWorkspace, tag string) privacyPerson {
	t.Helper()
	ctx := context.Background()
	ws := w.ws.ID
	email, other := "ada."+tag+"@engines.test", "lovelace."+tag+"@analytical.test"
	last, phone := "Lovelace"+tag, "+1415555"+fmt.Sprintf("%04d", len(tag)*1111%10000)
	form := b.form(t, ws, nil)
	f1 := personFields(t, email, "Augusta", last, "Analytical Engines "+tag)
	f1.Phone = phone
	r1 := b.submit(t, form, f1, false)
	r2 := b.submit(t, form, personFields(t, other, "Ada", last, "Babbage & Co "+tag), false)
	if r1.LeadID == nil || r2.LeadID == nil || *r1.LeadID == *r2.LeadID {
		t.Fatalf("responses made leads %v and %v, want two", r1.LeadID, r2.LeadID)
	}
	p := privacyPerson{lead: *r1.LeadID, merged: *r2.LeadID, needles: []string{email, other, last, phone}}
	expectJSON[leadBody](t, b, http.StatusOK, w.marketing, "POST", "/api/v1/leads/"+p.lead.String()+"/merge",
		map[string]any{"other_id": p.merged.String()})

	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := b.st.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", strings.Fields(sql)[:3], err)
		}
	}
	exec(`UPDATE leads SET phone = $2, title = 'Countess', description = 'met ' || $3 WHERE id = $1`, p.lead, phone, last)
	if err := b.st.InsertAuditEntries(ctx, ws, store.AuditEntry{LeadID: p.lead, Actor: "system",
		Action: store.AuditFieldOverwritten, Field: "phone", OldValue: "", NewValue: phone}); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO response_files (id, workspace_id, response_id, field, filename, content_type, size, data)
		VALUES ($1, $2, $3, 'cv', $4, 'text/plain', 5, $5)`, store.NewID(), ws, r1.ID, last+".txt", []byte(email))
	event, err := b.st.InsertEvent(ctx, store.Event{WorkspaceID: ws, Name: "Engines summit " + tag})
	if err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO event_registrations (id, workspace_id, event_id, lead_id, response_id, status)
		VALUES ($1, $2, $3, $4, $5, 'registered')`, store.NewID(), ws, event.ID, p.lead, r1.ID)
	seq, enr := store.NewID(), store.NewID()
	exec(`INSERT INTO sequences (id, workspace_id, name) VALUES ($1, $2, 'Welcome')`, seq, ws)
	exec(`INSERT INTO enrollments (id, workspace_id, sequence_id, lead_id, step_key, next_run_at)
		VALUES ($1, $2, $3, $4, 'follow-up', now() + interval '2 days')`, enr, ws, seq, p.lead)
	exec(`INSERT INTO enrollment_steps (enrollment_id, step_key, outcome, detail) VALUES ($1, 'welcome', 'sent', $2)`,
		enr, map[string]any{"to": email})
	msg := store.NewID()
	exec(`INSERT INTO messages (id, workspace_id, lead_id, enrollment_id, step_key, dedupe_key, kind, to_email,
			subject, html_body, text_body, links, message_id, status, sent_at, opened_at)
		VALUES ($1, $2, $3, $4, 'welcome', $7, 'marketing', $5, 'Welcome, Augusta '||$6, '<p>Hi '||$6||'</p>',
			'Hi '||$6, ARRAY['https://engines.test/?e='||$5], $7 || '@lf', 'sent', now(), now())`,
		msg, ws, p.lead, enr, email, last, msg.String())
	exec(`INSERT INTO engagement_events (id, workspace_id, lead_id, kind, source_id, occurred_at, detail)
		VALUES ($1, $2, $3, 'email_clicked', $1, now(), $4)`, store.NewID(), ws, p.lead,
		map[string]any{"url": "https://engines.test/?e=" + email})
	exec(`INSERT INTO lead_score_history (workspace_id, lead_id, at, score, grade, cause) VALUES ($1, $2, now(), 15, 'D', 'engagement')`,
		ws, p.lead)
	decision, handoff := store.NewID(), store.NewID()
	exec(`INSERT INTO qualification_decisions (id, workspace_id, lead_id, outcome, vals, actor, reason)
		VALUES ($1, $2, $3, 'qualified', $4, 'system', 'asked for '||$5)`, decision, ws, p.lead,
		map[string]any{"email": email, "score": 15}, last)
	exec(`INSERT INTO handoffs (id, workspace_id, lead_id, decision_id, sla_due_at, reason)
		VALUES ($1, $2, $3, $4, now() + interval '1 day', 'call '||$5)`, handoff, ws, p.lead, decision, phone)
	exec(`INSERT INTO handoff_events (handoff_id, action, actor, detail) VALUES ($1, 'created', 'system', $2)`,
		handoff, map[string]any{"phone": phone})
	account, err := b.st.InsertAccount(ctx, store.Account{WorkspaceID: ws, Name: "Analytical Engines " + tag})
	if err != nil {
		t.Fatal(err)
	}
	contact := store.NewID()
	exec(`INSERT INTO contacts (id, workspace_id, first_name, last_name, email, email_canonical, phone, account_id)
		VALUES ($1, $2, 'Augusta', $3, $4, $4, $5, $6)`, contact, ws, last, email, phone, account.ID)
	exec(`UPDATE leads SET contact_id = $2 WHERE id = $1`, p.lead, contact)
	exec(`INSERT INTO opportunities (id, workspace_id, account_id, contact_id, lead_id, name)
		VALUES ($1, $2, $3, $4, $5, 'Engines expansion')`, store.NewID(), ws, account.ID, contact, p.lead)
	hook, dl := store.NewID(), store.NewID()
	exec(`INSERT INTO webhooks (id, workspace_id, url, events, secret) VALUES ($1, $2, 'https://crm.test/hook', '{handoff.created}', 's')`,
		hook, ws)
	exec(`INSERT INTO webhook_deliveries (id, workspace_id, webhook_id, event, dedupe_key, payload, status)
		VALUES ($1, $2, $3, 'handoff.created', $5, $4, 'delivered')`, dl, ws, hook,
		map[string]any{"event": "handoff.created", "lead": map[string]any{"id": p.lead, "email": email, "last_name": last}}, dl.String())
	exec(`INSERT INTO bounces (id, workspace_id, email_canonical, kind, detail) VALUES ($1, $2, $3, 'soft', '452 mailbox of '||$3||' full')`,
		store.NewID(), ws, other)
	if _, err := b.st.InsertSuppression(ctx, ws, other, store.SuppressUnsubscribed, time.Time{}); err != nil {
		t.Fatal(err)
	}
	return p
}

type exportBody struct {
	LeadID   uuid.UUID   `json:"lead_id"`
	LeadIDs  []uuid.UUID `json:"lead_ids"`
	RowLimit int         `json:"row_limit"`
	Sections map[string]struct {
		Rows      []map[string]any `json:"rows"`
		Truncated bool             `json:"truncated"`
	} `json:"sections"`
}

// TestPrivacyExportHoldsEverySection: an admin's export of a lead with a
// history in every table family has every section filled, covers the lead
// merged into it, leaves file contents out, and is the admin's only.
func TestPrivacyExportHoldsEverySection(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	p := b.privacyPerson(t, b.a, "x")
	path := "/api/v1/leads/" + p.lead.String() + "/export"

	got := expectJSON[exportBody](t, b, http.StatusOK, b.a.admin, "GET", path, nil)
	want := []string{"account", "audit", "bounces", "contact", "engagement_events", "enrollments", "handoffs",
		"identities", "leads", "messages", "opportunities", "qualification_decisions", "registrations",
		"response_files", "responses", "score_history", "status_history", "suppressions"}
	var names, empty []string
	for name, s := range got.Sections {
		names = append(names, name)
		if len(s.Rows) == 0 {
			empty = append(empty, name)
		}
		if s.Truncated {
			t.Errorf("section %s truncated", name)
		}
	}
	slices.Sort(names)
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("sections (-want +got):\n%s", diff)
	}
	if len(empty) > 0 {
		t.Errorf("empty sections %v", empty)
	}
	wantIDs := []uuid.UUID{p.lead, p.merged}
	slices.SortFunc(wantIDs, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	if diff := cmp.Diff(wantIDs, got.LeadIDs); diff != "" {
		t.Errorf("lead ids (-want +got):\n%s", diff)
	}
	if got.RowLimit != store.ExportSectionLimit {
		t.Errorf("row limit %d, want %d", got.RowLimit, store.ExportSectionLimit)
	}
	if n := len(got.Sections["responses"].Rows); n != 2 {
		t.Errorf("%d responses, want both leads' 2", n)
	}
	if f := got.Sections["response_files"].Rows[0]; f["data"] != nil || f["filename"] != "Lovelacex.txt" {
		t.Errorf("file row %v, want its name without its content", f)
	}
	if m := got.Sections["messages"].Rows[0]; !strings.Contains(fmt.Sprint(m["subject"]), "Augusta") || m["opened_at"] == nil {
		t.Errorf("message row %v, want its subject and opened time", m)
	}

	expectError(t, b, http.StatusForbidden, "forbidden", b.a.marketing, "GET", path, nil)
	expectError(t, b, http.StatusForbidden, "forbidden", b.a.sales, "GET", path, nil)
	expectError(t, b, http.StatusNotFound, "not_found", b.b.admin, "GET", path, nil)
}
