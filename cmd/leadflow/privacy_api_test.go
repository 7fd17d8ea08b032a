package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/capture"
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

// textColumns lists every column of every table that can hold a person's
// text: the honest place to look for what an erasure left.
func textColumns(t *testing.T, b *apiBundle) [][3]string {
	t.Helper()
	rows, err := b.st.Pool.Query(context.Background(), `
		SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
		  AND (c.data_type IN ('text', 'character varying', 'jsonb', 'json', 'inet', 'bytea', 'ARRAY'))
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][3]string
	for rows.Next() {
		var tc [3]string
		if err := rows.Scan(&tc[0], &tc[1], &tc[2]); err != nil {
			t.Fatal(err)
		}
		out = append(out, tc)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 50 {
		t.Fatalf("%d text columns: the catalog query found too few", len(out))
	}
	return out
}

// traces lists the table.column places holding any of the needles.
func traces(t *testing.T, b *apiBundle, cols [][3]string, needles []string) []string {
	t.Helper()
	var found []string
	for _, tc := range cols {
		expr := fmt.Sprintf("%q::text", tc[1])
		if tc[2] == "bytea" {
			expr = fmt.Sprintf("encode(%q, 'escape')", tc[1])
		}
		for _, n := range needles {
			var hits int
			err := b.st.Pool.QueryRow(context.Background(), fmt.Sprintf(
				`SELECT count(*) FROM %q WHERE strpos(lower(%s), lower($1)) > 0`, tc[0], expr), n).Scan(&hits)
			if err != nil {
				t.Fatalf("search %s.%s: %v", tc[0], tc[1], err)
			}
			if hits > 0 {
				found = append(found, fmt.Sprintf("%s.%s holds %q", tc[0], tc[1], n))
			}
		}
	}
	return found
}

// funnelFigures are the counts an erasure must not move.
func funnelFigures(t *testing.T, b *apiBundle, ws uuid.UUID) map[string]int {
	t.Helper()
	out := map[string]int{}
	for name, sql := range map[string]string{
		"leads":         `SELECT count(*) FROM leads WHERE workspace_id = $1`,
		"live_leads":    `SELECT count(*) FROM leads WHERE workspace_id = $1 AND merged_into IS NULL`,
		"responses":     `SELECT count(*) FROM responses WHERE workspace_id = $1`,
		"funnel":        `SELECT count(*) FROM lead_funnel WHERE workspace_id = $1 AND NOT merged`,
		"messages_sent": `SELECT count(*) FROM messages WHERE workspace_id = $1 AND sent_at IS NOT NULL`,
		"events":        `SELECT count(*) FROM engagement_events WHERE workspace_id = $1`,
		"registrations": `SELECT count(*) FROM event_registrations WHERE workspace_id = $1`,
		"opportunities": `SELECT count(*) FROM opportunities WHERE workspace_id = $1`,
		"status_moves":  `SELECT count(*) FROM lead_status_history WHERE workspace_id = $1`,
	} {
		var n int
		if err := b.st.Pool.QueryRow(context.Background(), sql, ws).Scan(&n); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = n
	}
	return out
}

type erasureBody struct {
	LeadIDs   []uuid.UUID `json:"lead_ids"`
	Addresses int         `json:"addresses"`
	Already   bool        `json:"already"`
}

// TestPrivacyEraseLeavesNoTrace: after an admin erases a person, no text
// column of any table holds their addresses, name or phone; the funnel's
// figures are what they were; the audit says who erased, without values;
// erasing again answers 200 and does nothing; only an admin may.
func TestPrivacyEraseLeavesNoTrace(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	p := b.privacyPerson(t, b.a, "x")
	cols := textColumns(t, b)
	if found := traces(t, b, cols, p.needles); len(found) < 10 {
		t.Fatalf("before erasure the person is in only %d places, the search cannot be trusted: %v", len(found), found)
	}
	before := funnelFigures(t, b, b.a.ws.ID)
	path := "/api/v1/leads/" + p.lead.String() + "/erase"

	expectError(t, b, http.StatusForbidden, "forbidden", b.a.marketing, "POST", path, nil)
	expectError(t, b, http.StatusForbidden, "forbidden", b.a.sales, "POST", path, nil)
	expectError(t, b, http.StatusNotFound, "not_found", b.b.admin, "POST", path, nil)

	got := expectJSON[erasureBody](t, b, http.StatusOK, b.a.admin, "POST", path, nil)
	if got.Already || got.Addresses != 2 || len(got.LeadIDs) != 2 {
		t.Errorf("erasure %+v, want 2 leads and 2 addresses, not already", got)
	}
	if found := traces(t, b, cols, p.needles); len(found) > 0 {
		t.Errorf("erased person still held:\n%s", strings.Join(found, "\n"))
	}
	if diff := cmp.Diff(before, funnelFigures(t, b, b.a.ws.ID)); diff != "" {
		t.Errorf("funnel figures (-before +after):\n%s", diff)
	}
	ctx := context.Background()
	for _, addr := range p.needles[:2] {
		s, err := b.st.GetSuppression(ctx, b.a.ws.ID, addr)
		if err != nil || s.Reason != store.SuppressErased {
			t.Errorf("suppression of %s = %+v, %v; want erased", addr, s, err)
		}
	}
	var files int
	if err := b.st.Pool.QueryRow(ctx, `SELECT count(*) FROM response_files WHERE workspace_id = $1`, b.a.ws.ID).Scan(&files); err != nil || files != 0 {
		t.Errorf("%d response files left (%v), want 0", files, err)
	}
	key, err := b.st.AuthenticateAPIKey(ctx, b.a.admin)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := b.st.LeadAudit(ctx, b.a.ws.ID, p.lead)
	if err != nil {
		t.Fatal(err)
	}
	var erased []string
	for _, a := range audit {
		if a.Action == store.AuditErased {
			erased = append(erased, a.Actor+" "+a.OldValue+a.NewValue)
		}
	}
	if diff := cmp.Diff([]string{"api_key:" + key.ID.String() + " "}, erased); diff != "" {
		t.Errorf("erased audit entries (-want +got):\n%s", diff)
	}
	l := expectJSON[capture.Lead](t, b, http.StatusOK, b.a.admin, "GET", "/api/v1/leads/"+p.lead.String(), nil)
	if l.Email != store.ErasedEmail(p.lead) || l.FirstName != "" || l.Status == "" {
		t.Errorf("erased lead %s %q %q, want the placeholder address, no name, its status", l.Email, l.FirstName, l.Status)
	}

	again := expectJSON[erasureBody](t, b, http.StatusOK, b.a.admin, "POST", path, nil)
	if !again.Already {
		t.Errorf("second erasure %+v, want already", again)
	}
	audit2, err := b.st.LeadAudit(ctx, b.a.ws.ID, p.lead)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit2) != len(audit) {
		t.Errorf("second erasure wrote %d audit entries, want none", len(audit2)-len(audit))
	}
}

// TestPrivacyEraseStaysInItsWorkspace: another workspace's person with the
// same address keeps their data and may still be mailed.
func TestPrivacyEraseStaysInItsWorkspace(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	pa := b.privacyPerson(t, b.a, "x")
	pb := b.privacyPerson(t, b.b, "x")
	expectJSON[erasureBody](t, b, http.StatusOK, b.a.admin, "POST", "/api/v1/leads/"+pa.lead.String()+"/erase", nil)

	ctx := context.Background()
	l, err := b.st.GetLead(ctx, b.b.ws.ID, pb.lead)
	if err != nil {
		t.Fatal(err)
	}
	if l.EmailCanonical != pb.needles[0] || l.LastName != "Lovelacex" {
		t.Errorf("other workspace's lead %s %s, want it untouched", l.EmailCanonical, l.LastName)
	}
	if _, err := b.st.GetSuppression(ctx, b.b.ws.ID, pb.needles[0]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other workspace's address suppressed: %v", err)
	}
	got := expectJSON[exportBody](t, b, http.StatusOK, b.b.admin, "GET", "/api/v1/leads/"+pb.lead.String()+"/export", nil)
	raw, _ := json.Marshal(got.Sections["responses"])
	if !strings.Contains(string(raw), pb.needles[0]) {
		t.Errorf("other workspace's responses lost the address: %s", raw)
	}
}

// TestPrivacyErasedPersonIsNeverMailedAgain runs the real app with a real
// SMTP server: a person and a control are welcomed by a sequence; the
// person is erased; the follow-up falls due and reaches only the control;
// the person comes back through the form, becomes a new lead, and is still
// sent nothing.
func TestPrivacyErasedPersonIsNeverMailedAgain(t *testing.T) {
	t.Parallel()
	app := startEventsApp(t)
	ctx := context.Background()
	admin := app.apiKey(t, app.ws.ID)
	if _, err := app.st.Pool.Exec(ctx, `UPDATE api_keys SET role = 'admin' WHERE prefix = $1`, admin[:8]); err != nil {
		t.Fatal(err)
	}
	form, err := app.st.InsertForm(ctx, store.Form{WorkspaceID: app.ws.ID, Key: "privacy-contact", Name: "Contact", Kind: store.FormContactUs})
	if err != nil {
		t.Fatal(err)
	}
	var welcome, followUp struct {
		ID string `json:"id"`
	}
	if s := app.call(t, app.key, "POST", "/api/v1/templates", map[string]any{"name": "Welcome", "subject": "Welcome",
		"text_body": "Hello {{first_name}}"}, &welcome); s != http.StatusCreated {
		t.Fatalf("template: %d", s)
	}
	if s := app.call(t, app.key, "POST", "/api/v1/templates", map[string]any{"name": "Follow-up", "subject": "Still thinking?",
		"text_body": "Hello again {{first_name}}"}, &followUp); s != http.StatusCreated {
		t.Fatalf("template: %d", s)
	}
	var seq struct {
		ID string `json:"id"`
	}
	if s := app.call(t, app.key, "POST", "/api/v1/sequences", map[string]any{
		"name": "Welcome", "trigger_form_keys": []string{form.Key}, "timezone": "UTC",
		"steps": []map[string]any{
			{"type": "email", "template_id": welcome.ID},
			{"type": "wait", "duration": "48h"},
			{"type": "email", "template_id": followUp.ID},
		},
	}, &seq); s != http.StatusCreated {
		t.Fatalf("sequence: %d", s)
	}
	if s := app.call(t, app.key, "POST", "/api/v1/sequences/"+seq.ID+"/activate", nil, nil); s != http.StatusOK {
		t.Fatalf("activate: %d", s)
	}
	post := func(first, email string) {
		t.Helper()
		resp, err := http.PostForm(app.base+"/f/"+form.Key, url.Values{"first_name": {first}, "email": {email}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	mails := func(addr, subject string) int {
		n := 0
		for _, m := range app.sink.Messages() {
			if slices.Contains(m.To, addr) && m.Subject == subject {
				n++
			}
		}
		return n
	}
	const ada, bob = "ada@erased.test", "bob@kept.test"
	post("Ada", ada)
	post("Bob", bob)
	waitFor(t, "both welcomes at the SMTP server", 30*time.Second, func() bool {
		return mails(ada, "Welcome") == 1 && mails(bob, "Welcome") == 1
	})

	var adaLead uuid.UUID
	if err := app.st.Pool.QueryRow(ctx, `SELECT lead_id FROM lead_identities WHERE workspace_id = $1 AND email_canonical = $2`,
		app.ws.ID, ada).Scan(&adaLead); err != nil {
		t.Fatal(err)
	}
	var erased erasureBody
	if s := app.call(t, admin, "POST", "/api/v1/leads/"+adaLead.String()+"/erase", nil, &erased); s != http.StatusOK || erased.Already {
		t.Fatalf("erase: %d %+v", s, erased)
	}

	// The wait is over for everyone still enrolled.
	if _, err := app.st.Pool.Exec(ctx, `UPDATE enrollments SET next_run_at = now() WHERE workspace_id = $1 AND state = 'active'`,
		app.ws.ID); err != nil {
		t.Fatal(err)
	}
	post("Ada", ada)
	waitFor(t, "bob's follow-up, and ada's return withheld", 30*time.Second, func() bool {
		var withheld bool
		err := app.st.Pool.QueryRow(ctx, `
			SELECT EXISTS (SELECT 1 FROM enrollments e JOIN leads l ON l.id = e.lead_id
				WHERE l.workspace_id = $1 AND l.email_canonical = $2 AND e.state = 'exited' AND e.exit_reason = $3)`,
			app.ws.ID, ada, store.ExitErased).Scan(&withheld)
		if err != nil {
			t.Fatal(err)
		}
		return withheld && mails(bob, "Still thinking?") == 1
	})
	var adaMails int
	for _, m := range app.sink.Messages() {
		if slices.Contains(m.To, ada) {
			adaMails++
		}
	}
	if adaMails != 1 {
		t.Errorf("%d emails to the erased address, want only the welcome before erasure", adaMails)
	}
	var leads int
	if err := app.st.Pool.QueryRow(ctx, `SELECT count(*) FROM leads WHERE workspace_id = $1`, app.ws.ID).Scan(&leads); err != nil || leads != 3 {
		t.Errorf("%d leads (%v), want ada's erased one, bob's and ada's new one", leads, err)
	}
}

// TestPrivacyExportSectionsAreBounded: a section with more rows than the
// limit holds the limit and says it was cut short.
func TestPrivacyExportSectionsAreBounded(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	p := b.privacyPerson(t, b.a, "x")
	if _, err := b.st.Pool.Exec(context.Background(), `
		INSERT INTO engagement_events (id, workspace_id, lead_id, kind, source_id, occurred_at)
		SELECT gen_random_uuid(), $1, $2, 'page_viewed', gen_random_uuid(), now() FROM generate_series(1, $3)`,
		b.a.ws.ID, p.lead, store.ExportSectionLimit+5); err != nil {
		t.Fatal(err)
	}
	got := expectJSON[exportBody](t, b, http.StatusOK, b.a.admin, "GET", "/api/v1/leads/"+p.lead.String()+"/export", nil)
	ev := got.Sections["engagement_events"]
	if len(ev.Rows) != store.ExportSectionLimit || !ev.Truncated {
		t.Errorf("engagement events: %d rows, truncated %v; want %d, truncated", len(ev.Rows), ev.Truncated, store.ExportSectionLimit)
	}
	if got.Sections["responses"].Truncated {
		t.Error("responses truncated, want whole")
	}
}
