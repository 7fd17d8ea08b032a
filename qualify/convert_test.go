package qualify_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"leadflow/qualify"
	"leadflow/store"
	"leadflow/store/storetest"
)

// convertBundle is an engine on a fresh database with a workspace, a sales
// owner and a webhook listening to handoff decisions.
type convertBundle struct {
	st    *store.Store
	eng   *qualify.Engine
	ws    store.Workspace
	owner store.User
	now   time.Time
}

const convertActor = "api_key:test"

func convertSetup(t *testing.T) *convertBundle {
	t.Helper()
	ctx := context.Background()
	st := storetest.NewStore(t)
	rdb := redis.NewClient(storetest.RedisOptions(t))
	queue := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { rdb.Close() })
	// A fixed clock: dates the conversion derives (the close date) are known.
	now := time.Date(2031, 3, 10, 12, 0, 0, 0, time.UTC)
	eng, err := qualify.New(qualify.Config{
		Store: st, Queue: queue, BaseURL: "https://leadflow.example", Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := st.EnsureWorkspace(ctx, "acme-"+store.NewID().String())
	if err != nil {
		t.Fatal(err)
	}
	owner, err := st.InsertUser(ctx, store.User{WorkspaceID: ws.ID, Name: "Sam Seller", Email: "sam@seller.example", Role: store.UserSalesRep, Available: true})
	if err != nil {
		t.Fatal(err)
	}
	b := &convertBundle{st: st, eng: eng, ws: ws, owner: owner, now: now}
	b.exec(t, `INSERT INTO webhooks (id, workspace_id, url, events, secret)
		VALUES ($1, $2, 'http://127.0.0.1:9/hook', '{handoff.accepted,handoff.rejected}', 'secret-secret')`,
		store.NewID(), ws.ID)
	return b
}

func (b *convertBundle) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := b.st.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// count runs a count query.
func (b *convertBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := b.st.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// lead makes a lead of the workspace with defaults for what l leaves out.
func (b *convertBundle) lead(t *testing.T, l store.Lead) store.Lead {
	t.Helper()
	l.WorkspaceID = b.ws.ID
	if l.FirstName == "" {
		l.FirstName, l.LastName = "Ann", "Lee"
	}
	if l.Status == "" {
		l.Status = store.LeadMarketingQualified
	}
	out, err := b.st.InsertLead(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// handoff records a qualification of the lead and an open handoff of it to
// the owner, as qualifying does.
func (b *convertBundle) handoff(t *testing.T, leadID uuid.UUID) store.Handoff {
	t.Helper()
	ctx := context.Background()
	decision := store.NewID()
	b.exec(t, `INSERT INTO qualification_decisions (id, workspace_id, lead_id, outcome, actor)
		VALUES ($1, $2, $3, 'qualified', 'test')`, decision, b.ws.ID, leadID)
	h, err := b.st.InsertHandoff(ctx, store.Handoff{
		WorkspaceID: b.ws.ID, LeadID: leadID, DecisionID: decision, OwnerID: &b.owner.ID,
		SLADueAt: b.now.Add(24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// sequence makes a sequence with one wait step keyed key.
func (b *convertBundle) sequence(t *testing.T, status, key string) uuid.UUID {
	t.Helper()
	id := store.NewID()
	b.exec(t, `INSERT INTO sequences (id, workspace_id, name, status, steps)
		VALUES ($1, $2, 'Seq', $3, jsonb_build_array(jsonb_build_object('key', $4::text, 'type', 'wait', 'duration', '1h'),
			jsonb_build_object('key', 'later', 'type', 'wait', 'duration', '1h')))`,
		id, b.ws.ID, status, key)
	return id
}

// enroll puts the lead in a sequence, active at step.
func (b *convertBundle) enroll(t *testing.T, seq, lead uuid.UUID, step string) uuid.UUID {
	t.Helper()
	id := store.NewID()
	b.exec(t, `INSERT INTO enrollments (id, workspace_id, sequence_id, lead_id, state, step_key, next_run_at)
		VALUES ($1, $2, $3, $4, 'active', $5, now())`, id, b.ws.ID, seq, lead, step)
	return id
}

func convertRows[T any](t *testing.T, b *convertBundle, sql string, args ...any) []T {
	t.Helper()
	r, _ := b.st.Pool.Query(context.Background(), sql, args...)
	out, err := pgx.CollectRows(r, pgx.RowToStructByPos[T])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func TestAcceptConvertsLeadInOneTransaction(t *testing.T) {
	t.Parallel()
	b := convertSetup(t)
	ctx := context.Background()
	lead := b.lead(t, store.Lead{
		Email: "ann@acme.example", EmailCanonical: "ann@acme.example", Company: "Acme Corp",
		Title: "CTO", Country: "GB", Phone: "+442071234567", PrimaryInterest: "Widgets",
	})
	welcome := b.sequence(t, store.SequenceActive, "first")
	other := b.sequence(t, store.SequenceActive, "first")
	e1 := b.enroll(t, welcome, lead.ID, "first")
	e2 := b.enroll(t, other, lead.ID, "later")
	h := b.handoff(t, lead.ID)

	got, err := b.eng.Accept(ctx, b.ws.ID, h.ID, convertActor, qualify.AcceptInput{})
	if err != nil {
		t.Fatal(err)
	}

	closeDate := "2031-06-08" // 90 days after 10 March
	want := qualify.Conversion{
		Handoff: store.Handoff{
			ID: h.ID, LeadID: lead.ID, DecisionID: h.DecisionID, OwnerID: &b.owner.ID,
			Status: store.HandoffAccepted, SLADueAt: h.SLADueAt, DecidedBy: convertActor, DecidedAt: &b.now,
		},
		Account: store.Account{Name: "Acme Corp", Domain: "acme.example"},
		Contact: store.Contact{
			FirstName: "Ann", LastName: "Lee", Email: "ann@acme.example", EmailCanonical: "ann@acme.example",
			Phone: "+442071234567", Company: "Acme Corp", Title: "CTO", Country: "GB", AccountID: &got.Account.ID,
		},
		Opportunity: &store.Opportunity{
			AccountID: got.Account.ID, ContactID: got.Contact.ID, LeadID: lead.ID, HandoffID: &h.ID,
			Name: "Acme Corp - Widgets", Amount: "0.00", Stage: store.StageQualification, Probability: 10,
			ExpectedCloseDate: &closeDate, InForecast: false, OwnerID: &b.owner.ID,
		},
	}
	ignore := cmp.Options{
		cmpopts.IgnoreFields(store.Handoff{}, "WorkspaceID", "CreatedAt"),
		cmpopts.IgnoreFields(store.Account{}, "ID", "WorkspaceID", "CreatedAt"),
		cmpopts.IgnoreFields(store.Contact{}, "ID", "WorkspaceID", "CreatedAt", "UpdatedAt"),
		cmpopts.IgnoreFields(store.Opportunity{}, "ID", "WorkspaceID", "CreatedAt", "UpdatedAt"),
		cmpopts.EquateApproxTime(time.Millisecond),
	}
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("conversion (-want +got):\n%s", diff)
	}

	// The stored rows are the ones returned, and nothing else was made.
	type stored struct {
		Accounts, Contacts, Opportunities int
		LeadStatus, LeadContact           string
		StatusHistory                     []string
		StageHistory                      []string
		Enrollments                       []string
		EnrollmentSteps                   []string
		HandoffEvents                     []string
		Webhooks                          []string
		Audit                             []string
	}
	after, err := b.st.GetLead(ctx, b.ws.ID, lead.ID)
	if err != nil {
		t.Fatal(err)
	}
	gotStored := stored{
		Accounts:      b.count(t, `SELECT count(*) FROM accounts WHERE workspace_id = $1 AND id = $2`, b.ws.ID, got.Account.ID),
		Contacts:      b.count(t, `SELECT count(*) FROM contacts WHERE workspace_id = $1 AND account_id = $2`, b.ws.ID, got.Account.ID),
		Opportunities: b.count(t, `SELECT count(*) FROM opportunities WHERE workspace_id = $1 AND id = $2`, b.ws.ID, got.Opportunity.ID),
		LeadStatus:    after.Status,
		LeadContact:   after.ContactID.String(),
		StatusHistory: convertStatuses(convertRows[struct{ To string }](t, b,
			`SELECT to_status FROM lead_status_history WHERE lead_id = $1 AND from_status <> '' ORDER BY id`, lead.ID)),
		StageHistory: convertJoin(convertRows[struct{ From, To, Actor string }](t, b,
			`SELECT from_stage, to_stage, actor FROM opportunity_stage_history WHERE opportunity_id = $1 ORDER BY id`, got.Opportunity.ID)),
		Enrollments: convertJoin(convertRows[struct{ ID, State, Reason, Step string }](t, b,
			`SELECT id::text, state, exit_reason, step_key FROM enrollments WHERE lead_id = $1 ORDER BY id`, lead.ID)),
		EnrollmentSteps: convertJoin(convertRows[struct{ ID, Step, Outcome, Reason string }](t, b,
			`SELECT s.enrollment_id::text, s.step_key, s.outcome, s.detail->>'reason' FROM enrollment_steps s
			 JOIN enrollments e ON e.id = s.enrollment_id WHERE e.lead_id = $1 ORDER BY s.id`, lead.ID)),
		HandoffEvents: convertJoin(convertRows[struct{ Action, Actor, Opp string }](t, b,
			`SELECT action, actor, detail->>'opportunity_id' FROM handoff_events WHERE handoff_id = $1 ORDER BY id`, h.ID)),
		Webhooks: convertJoin(convertRows[struct{ Event, Key, Handoff string }](t, b,
			`SELECT event, dedupe_key, payload->'handoff'->>'status' FROM webhook_deliveries WHERE workspace_id = $1`, b.ws.ID)),
		Audit: convertJoin(convertRows[struct{ Action, Field, Old, New, Actor string }](t, b,
			`SELECT action, field, old_value, new_value, actor FROM lead_audit WHERE lead_id = $1 ORDER BY id`, lead.ID)),
	}
	wantStored := stored{
		Accounts: 1, Contacts: 1, Opportunities: 1,
		LeadStatus: store.LeadConverted, LeadContact: got.Contact.ID.String(),
		StatusHistory: []string{store.LeadSalesAccepted, store.LeadConverted},
		StageHistory:  []string{"|qualification|" + convertActor},
		Enrollments: []string{
			e1.String() + "|exited|converted|",
			e2.String() + "|exited|converted|",
		},
		EnrollmentSteps: []string{
			e1.String() + "|first|exited|converted",
			e2.String() + "|later|exited|converted",
		},
		HandoffEvents: []string{"accepted|" + convertActor + "|" + got.Opportunity.ID.String()},
		Webhooks:      []string{"handoff.accepted|handoff.accepted:" + h.ID.String() + "|accepted"},
		Audit: []string{
			"contact_linked|contact_id||" + got.Contact.ID.String() + "|" + convertActor,
			"status_changed|status|marketing_qualified|sales_accepted|" + convertActor,
			"status_changed|status|sales_accepted|converted|" + convertActor,
			"converted||||" + convertActor,
		},
	}
	if diff := cmp.Diff(wantStored, gotStored); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
}

func TestAcceptKnownContactMakesNoSecondContact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		linked bool
	}{
		{"contact found by email", false},
		{"contact linked to the lead", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := convertSetup(t)
			ctx := context.Background()
			account, err := b.st.InsertAccount(ctx, store.Account{WorkspaceID: b.ws.ID, Name: "Initech"})
			if err != nil {
				t.Fatal(err)
			}
			// A customer already known, at a company whose account has no
			// domain and a name unlike the lead's company field.
			contact, _, err := b.st.EnsureContact(ctx, store.Contact{
				WorkspaceID: b.ws.ID, FirstName: "Bob", LastName: "Ode", Email: "Bob@Initech.example",
				EmailCanonical: "bob@initech.example", AccountID: &account.ID,
			})
			if err != nil {
				t.Fatal(err)
			}
			l := store.Lead{Email: "bob@initech.example", EmailCanonical: "bob@initech.example", Company: "Initech Ltd"}
			if tc.linked {
				l.ContactID = &contact.ID
			}
			lead := b.lead(t, l)
			h := b.handoff(t, lead.ID)

			got, err := b.eng.Accept(ctx, b.ws.ID, h.ID, convertActor, qualify.AcceptInput{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Contact.ID != contact.ID || got.Account.ID != account.ID {
				t.Errorf("converted into contact %s account %s, want the known %s and %s",
					got.Contact.ID, got.Account.ID, contact.ID, account.ID)
			}
			if n := b.count(t, `SELECT count(*) FROM contacts WHERE workspace_id = $1`, b.ws.ID); n != 1 {
				t.Errorf("%d contacts, want 1", n)
			}
			if n := b.count(t, `SELECT count(*) FROM accounts WHERE workspace_id = $1`, b.ws.ID); n != 1 {
				t.Errorf("%d accounts, want 1", n)
			}
			after, err := b.st.GetLead(ctx, b.ws.ID, lead.ID)
			if err != nil {
				t.Fatal(err)
			}
			if after.ContactID == nil || *after.ContactID != contact.ID {
				t.Errorf("lead contact = %v, want %s", after.ContactID, contact.ID)
			}
		})
	}
}

func TestAcceptMatchesAccount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// existing account, if any
		account *store.Account
		lead    store.Lead
		// want is the converted account; Match says it is the existing one.
		want  store.Account
		match bool
	}{
		{
			name:    "by email domain, whatever the company field says",
			account: &store.Account{Name: "Globex Corporation", Domain: "globex.example"},
			lead:    store.Lead{Email: "hank@GLOBEX.example", Company: "Globex"},
			want:    store.Account{Name: "Globex Corporation", Domain: "globex.example"}, match: true,
		},
		{
			name:    "by company name ignoring case, from free mail",
			account: &store.Account{Name: "Umbrella Corp"},
			lead:    store.Lead{Email: "alice@gmail.com", Company: "UMBRELLA CORP"},
			want:    store.Account{Name: "Umbrella Corp"}, match: true,
		},
		{
			name:    "by company name, learning the domain",
			account: &store.Account{Name: "Hooli"},
			lead:    store.Lead{Email: "gavin@hooli.example", Company: "hooli"},
			want:    store.Account{Name: "Hooli", Domain: "hooli.example"}, match: true,
		},
		{
			name:    "a free mail domain matches no one",
			account: &store.Account{Name: "Someone Else", Domain: "yahoo.co.uk"},
			lead:    store.Lead{Email: "zed@yahoo.co.uk", Company: "Zed Consulting"},
			want:    store.Account{Name: "Zed Consulting"},
		},
		{
			name: "new, named after the domain when there is no company",
			lead: store.Lead{Email: "kim@stark.example"},
			want: store.Account{Name: "stark.example", Domain: "stark.example"},
		},
		{
			name: "new, named after the person when there is nothing else",
			lead: store.Lead{Email: "ann@outlook.com"},
			want: store.Account{Name: "Ann Lee"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := convertSetup(t)
			ctx := context.Background()
			var existing store.Account
			if tc.account != nil {
				a := *tc.account
				a.WorkspaceID = b.ws.ID
				var err error
				if existing, err = b.st.InsertAccount(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			tc.lead.EmailCanonical = tc.lead.Email
			lead := b.lead(t, tc.lead)
			got, err := b.eng.Accept(ctx, b.ws.ID, b.handoff(t, lead.ID).ID, convertActor, qualify.AcceptInput{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got.Account, cmpopts.IgnoreFields(store.Account{}, "ID", "WorkspaceID", "CreatedAt")); diff != "" {
				t.Errorf("account (-want +got):\n%s", diff)
			}
			if matched := got.Account.ID == existing.ID; matched != tc.match {
				t.Errorf("matched the existing account = %v, want %v", matched, tc.match)
			}
		})
	}
}

func TestAcceptWithoutOpportunity(t *testing.T) {
	t.Parallel()
	b := convertSetup(t)
	ctx := context.Background()
	lead := b.lead(t, store.Lead{Email: "ann@acme.example", EmailCanonical: "ann@acme.example", Company: "Acme"})
	h := b.handoff(t, lead.ID)
	no := false
	got, err := b.eng.Accept(ctx, b.ws.ID, h.ID, convertActor, qualify.AcceptInput{CreateOpportunity: &no})
	if err != nil {
		t.Fatal(err)
	}
	if got.Opportunity != nil {
		t.Errorf("opportunity = %+v, want none", got.Opportunity)
	}
	if n := b.count(t, `SELECT count(*) FROM opportunities WHERE workspace_id = $1`, b.ws.ID); n != 0 {
		t.Errorf("%d opportunities stored, want 0", n)
	}
	after, err := b.st.GetLead(ctx, b.ws.ID, lead.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != store.LeadConverted || after.ContactID == nil || *after.ContactID != got.Contact.ID {
		t.Errorf("lead status %q contact %v, want converted with contact %s", after.Status, after.ContactID, got.Contact.ID)
	}
}

func TestAcceptOpportunityInput(t *testing.T) {
	t.Parallel()
	b := convertSetup(t)
	ctx := context.Background()
	lead := b.lead(t, store.Lead{Email: "ann@acme.example", EmailCanonical: "ann@acme.example", Company: "Acme"})
	h := b.handoff(t, lead.ID)
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	amt := func(s string) *qualify.Amount { a := qualify.Amount(s); return &a }

	_, err := b.eng.Accept(ctx, b.ws.ID, h.ID, convertActor, qualify.AcceptInput{Opportunity: &qualify.NewOpportunity{
		Name: str(" "), Amount: amt("-5"), Stage: str("won"), Probability: num(101), ExpectedCloseDate: str("31/12/2031"),
	}})
	var verr *qualify.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("accept with bad fields: %v, want a validation error", err)
	}
	wantFields := []string{"opportunity.amount", "opportunity.expected_close_date", "opportunity.name",
		"opportunity.probability", "opportunity.stage"}
	if diff := cmp.Diff(wantFields, convertKeys(verr.Fields)); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}

	got, err := b.eng.Accept(ctx, b.ws.ID, h.ID, convertActor, qualify.AcceptInput{Opportunity: &qualify.NewOpportunity{
		Name: str("Acme renewal"), Amount: amt("12500.5"), Stage: str(store.StageDiscovery), Probability: num(35),
		ExpectedCloseDate: str("2031-12-31"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := store.Opportunity{
		Name: "Acme renewal", Amount: "12500.50", Stage: store.StageDiscovery, Probability: 35,
		ExpectedCloseDate: str("2031-12-31"),
	}
	if diff := cmp.Diff(want, *got.Opportunity, cmpopts.IgnoreFields(store.Opportunity{}, "ID", "WorkspaceID",
		"AccountID", "ContactID", "LeadID", "HandoffID", "OwnerID", "CreatedAt", "UpdatedAt")); diff != "" {
		t.Errorf("opportunity (-want +got):\n%s", diff)
	}
}

func TestSecondAcceptConflictsAndChangesNothing(t *testing.T) {
	t.Parallel()
	b := convertSetup(t)
	ctx := context.Background()
	lead := b.lead(t, store.Lead{Email: "ann@acme.example", EmailCanonical: "ann@acme.example", Company: "Acme"})
	h := b.handoff(t, lead.ID)
	if _, err := b.eng.Accept(ctx, b.ws.ID, h.ID, convertActor, qualify.AcceptInput{}); err != nil {
		t.Fatal(err)
	}
	before := b.snapshot(t)
	_, err := b.eng.Accept(ctx, b.ws.ID, h.ID, "api_key:other", qualify.AcceptInput{})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second accept: %v, want ErrConflict", err)
	}
	_, err = b.eng.Reject(ctx, b.ws.ID, h.ID, "api_key:other", qualify.RejectInput{Reason: "changed my mind"})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("reject after accept: %v, want ErrConflict", err)
	}
	if diff := cmp.Diff(before, b.snapshot(t)); diff != "" {
		t.Errorf("rows after the refused decisions (-before +after):\n%s", diff)
	}
}

func TestAcceptIsOneTransaction(t *testing.T) {
	t.Parallel()
	b := convertSetup(t)
	ctx := context.Background()
	lead := b.lead(t, store.Lead{Email: "new@fresh.example", EmailCanonical: "new@fresh.example", Company: "Fresh Co"})
	seq := b.sequence(t, store.SequenceActive, "first")
	b.enroll(t, seq, lead.ID, "first")
	h := b.handoff(t, lead.ID)
	// The lead already has an opportunity (under another account), so the
	// conversion fails at its last step, after the account and contact.
	other, err := b.st.InsertAccount(ctx, store.Account{WorkspaceID: b.ws.ID, Name: "Elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := b.st.EnsureContact(ctx, store.Contact{WorkspaceID: b.ws.ID, AccountID: &other.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.InsertOpportunity(ctx, store.Opportunity{WorkspaceID: b.ws.ID, AccountID: other.ID,
		ContactID: c.ID, LeadID: lead.ID, Name: "Earlier", Stage: store.StageDiscovery}); err != nil {
		t.Fatal(err)
	}
	before := b.snapshot(t)

	if _, err := b.eng.Accept(ctx, b.ws.ID, h.ID, convertActor, qualify.AcceptInput{}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("accept: %v, want ErrConflict", err)
	}
	if diff := cmp.Diff(before, b.snapshot(t)); diff != "" {
		t.Errorf("rows after the failed accept (-before +after):\n%s", diff)
	}
	after, err := b.st.GetLead(ctx, b.ws.ID, lead.ID)
	if err != nil {
		t.Fatal(err)
	}
	stillOpen, err := b.st.GetHandoff(ctx, b.ws.ID, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != store.LeadMarketingQualified || after.ContactID != nil || stillOpen.Status != store.HandoffOpen {
		t.Errorf("lead %s contact %v handoff %s, want all as before", after.Status, after.ContactID, stillOpen.Status)
	}
}

// snapshot counts every kind of row a decision writes.
func (b *convertBundle) snapshot(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"accounts", "contacts", "opportunities", "opportunity_stage_history",
		"handoff_events", "webhook_deliveries", "lead_audit", "lead_status_history", "enrollments", "enrollment_steps"} {
		out[table] = b.count(t, `SELECT count(*) FROM `+table)
	}
	return out
}

func TestConcurrentAcceptsConvertOnce(t *testing.T) {
	t.Parallel()
	b := convertSetup(t)
	ctx := context.Background()
	lead := b.lead(t, store.Lead{Email: "ann@acme.example", EmailCanonical: "ann@acme.example", Company: "Acme"})
	h := b.handoff(t, lead.ID)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = b.eng.Accept(ctx, b.ws.ID, h.ID, convertActor, qualify.AcceptInput{})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("accept: %v, want success or ErrConflict", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d accepts succeeded, want exactly 1", ok)
	}
	want := map[string]int{"accounts": 1, "contacts": 1, "opportunities": 1, "opportunity_stage_history": 1,
		"handoff_events": 1, "webhook_deliveries": 1}
	got := b.snapshot(t)
	for k := range got {
		if _, ok := want[k]; !ok {
			delete(got, k)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestRejectRecyclesIntoSequence(t *testing.T) {
	t.Parallel()
	b := convertSetup(t)
	ctx := context.Background()
	recycle := b.sequence(t, store.SequenceActive, "warm-up")
	b.exec(t, `INSERT INTO assignment_settings (workspace_id, recycle_sequence_id) VALUES ($1, $2)`, b.ws.ID, recycle)
	lead := b.lead(t, store.Lead{Email: "ann@acme.example", EmailCanonical: "ann@acme.example", Company: "Acme"})
	h := b.handoff(t, lead.ID)

	_, err := b.eng.Reject(ctx, b.ws.ID, h.ID, convertActor, qualify.RejectInput{Reason: "  "})
	var verr *qualify.ValidationError
	if !errors.As(err, &verr) || verr.Fields["reason"] == "" {
		t.Fatalf("reject without a reason: %v, want a validation error on reason", err)
	}

	got, err := b.eng.Reject(ctx, b.ws.ID, h.ID, convertActor, qualify.RejectInput{Reason: "No budget until next year"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Handoff.Status != store.HandoffRejected || got.Handoff.Reason != "No budget until next year" ||
		got.Handoff.DecidedBy != convertActor || got.Handoff.DecidedAt == nil {
		t.Errorf("handoff = %+v, want rejected with the reason by the actor", got.Handoff)
	}
	if got.Lead.Status != store.LeadRecycled || got.Lead.StatusReason != "No budget until next year" {
		t.Errorf("lead status %q reason %q, want recycled with the reason", got.Lead.Status, got.Lead.StatusReason)
	}
	if got.RecycleSequenceID == nil || *got.RecycleSequenceID != recycle {
		t.Errorf("recycled into %v, want %s", got.RecycleSequenceID, recycle)
	}
	type enrollment struct {
		State, Step, By string
		Due             time.Time
	}
	enrolled := convertRows[enrollment](t, b, `SELECT state, step_key, enrolled_by, next_run_at FROM enrollments
		WHERE sequence_id = $1 AND lead_id = $2`, recycle, lead.ID)
	wantEnrolled := []enrollment{{State: "active", Step: "warm-up", By: "handoff_rejected:" + h.ID.String(), Due: b.now}}
	if diff := cmp.Diff(wantEnrolled, enrolled, cmpopts.EquateApproxTime(time.Millisecond)); diff != "" {
		t.Errorf("recycle enrollment (-want +got):\n%s", diff)
	}
	wantTrail := []string{
		"status_changed|marketing_qualified|recycled|No budget until next year",
	}
	trail := convertJoin(convertRows[struct{ Action, Old, New, Reason string }](t, b,
		`SELECT action, old_value, new_value, detail->>'reason' FROM lead_audit WHERE lead_id = $1 ORDER BY id`, lead.ID))
	if diff := cmp.Diff(wantTrail, trail); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	events := convertJoin(convertRows[struct{ Action, Reason string }](t, b,
		`SELECT action, detail->>'reason' FROM handoff_events WHERE handoff_id = $1 ORDER BY id`, h.ID))
	if diff := cmp.Diff([]string{"rejected|No budget until next year"}, events); diff != "" {
		t.Errorf("handoff events (-want +got):\n%s", diff)
	}
	hooks := convertJoin(convertRows[struct{ Event, Reason string }](t, b,
		`SELECT event, payload->>'reason' FROM webhook_deliveries WHERE workspace_id = $1`, b.ws.ID))
	if diff := cmp.Diff([]string{"handoff.rejected|No budget until next year"}, hooks); diff != "" {
		t.Errorf("webhook deliveries (-want +got):\n%s", diff)
	}

	// A recycled lead can qualify again: a new decision makes a new handoff.
	again := b.handoff(t, lead.ID)
	if again.ID == h.ID || again.Status != store.HandoffOpen {
		t.Errorf("second handoff = %+v, want a new open one", again)
	}
}

func TestRejectWithoutActiveRecycleSequence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status string // "" = no recycle sequence configured
	}{
		{"none configured", ""},
		{"paused", store.SequencePaused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := convertSetup(t)
			if tc.status != "" {
				seq := b.sequence(t, tc.status, "warm-up")
				b.exec(t, `INSERT INTO assignment_settings (workspace_id, recycle_sequence_id) VALUES ($1, $2)`, b.ws.ID, seq)
			}
			lead := b.lead(t, store.Lead{Email: "ann@acme.example", EmailCanonical: "ann@acme.example"})
			got, err := b.eng.Reject(context.Background(), b.ws.ID, b.handoff(t, lead.ID).ID, convertActor, qualify.RejectInput{Reason: "Not a fit"})
			if err != nil {
				t.Fatal(err)
			}
			if got.RecycleSequenceID != nil || got.Lead.Status != store.LeadRecycled {
				t.Errorf("lead %q recycled into %v, want recycled into none", got.Lead.Status, got.RecycleSequenceID)
			}
			if n := b.count(t, `SELECT count(*) FROM enrollments WHERE lead_id = $1`, lead.ID); n != 0 {
				t.Errorf("%d enrollments, want 0", n)
			}
		})
	}
}

func TestDecisionsStayInTheirWorkspace(t *testing.T) {
	t.Parallel()
	b := convertSetup(t)
	ctx := context.Background()
	lead := b.lead(t, store.Lead{Email: "ann@acme.example", EmailCanonical: "ann@acme.example"})
	h := b.handoff(t, lead.ID)
	other, err := b.st.EnsureWorkspace(ctx, "other-"+store.NewID().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.Accept(ctx, other.ID, h.ID, convertActor, qualify.AcceptInput{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("accept from another workspace: %v, want ErrNotFound", err)
	}
	if _, err := b.eng.Reject(ctx, other.ID, h.ID, convertActor, qualify.RejectInput{Reason: "no"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("reject from another workspace: %v, want ErrNotFound", err)
	}
	got, err := b.st.GetHandoff(ctx, b.ws.ID, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.HandoffOpen {
		t.Errorf("handoff %s, want still open", got.Status)
	}
}

func TestUpdateOpportunity(t *testing.T) {
	t.Parallel()
	b := convertSetup(t)
	ctx := context.Background()
	lead := b.lead(t, store.Lead{Email: "ann@acme.example", EmailCanonical: "ann@acme.example", Company: "Acme"})
	conv, err := b.eng.Accept(ctx, b.ws.ID, b.handoff(t, lead.ID).ID, convertActor, qualify.AcceptInput{})
	if err != nil {
		t.Fatal(err)
	}
	id := conv.Opportunity.ID
	str := func(s string) *string { return &s }
	amt := func(s string) *qualify.Amount { a := qualify.Amount(s); return &a }
	yes := true

	_, err = b.eng.UpdateOpportunity(ctx, b.ws.ID, id, "api_key:a", qualify.OpportunityPatch{Stage: str("won"), Amount: amt("1.999")})
	var verr *qualify.ValidationError
	if !errors.As(err, &verr) || len(verr.Fields) != 2 {
		t.Fatalf("bad patch: %v, want a validation error on stage and amount", err)
	}
	stranger := store.NewID()
	_, err = b.eng.UpdateOpportunity(ctx, b.ws.ID, id, "api_key:a", qualify.OpportunityPatch{OwnerID: &stranger})
	if !errors.Is(err, store.ErrInvalidReference) {
		t.Fatalf("unknown owner: %v, want ErrInvalidReference", err)
	}

	if _, err := b.eng.UpdateOpportunity(ctx, b.ws.ID, id, "api_key:a", qualify.OpportunityPatch{
		Stage: str(store.StageProposal), Amount: amt("5000"), ExpectedCloseDate: str("2031-09-30"),
	}); err != nil {
		t.Fatal(err)
	}
	// A patch without a stage change writes no history.
	if _, err := b.eng.UpdateOpportunity(ctx, b.ws.ID, id, "api_key:b", qualify.OpportunityPatch{Name: str("Acme expansion")}); err != nil {
		t.Fatal(err)
	}
	got, err := b.eng.UpdateOpportunity(ctx, b.ws.ID, id, "api_key:b", qualify.OpportunityPatch{
		Stage: str(store.StageClosedWon), InForecast: &yes,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := qualify.OpportunityDetail{
		Opportunity: store.Opportunity{
			Name: "Acme expansion", Amount: "5000.00", Stage: store.StageClosedWon, Probability: 100,
			ExpectedCloseDate: str("2031-09-30"), InForecast: true, OwnerID: &b.owner.ID,
		},
		StageHistory: []store.StageChange{
			{ToStage: store.StageQualification, Actor: convertActor, At: b.now},
			{FromStage: store.StageQualification, ToStage: store.StageProposal, Actor: "api_key:a", At: b.now},
			{FromStage: store.StageProposal, ToStage: store.StageClosedWon, Actor: "api_key:b", At: b.now},
		},
	}
	if diff := cmp.Diff(want, got,
		cmpopts.IgnoreFields(store.Opportunity{}, "ID", "WorkspaceID", "AccountID", "ContactID", "LeadID", "HandoffID", "CreatedAt", "UpdatedAt"),
		cmpopts.IgnoreFields(store.StageChange{}, "ID", "OpportunityID"),
		cmpopts.EquateApproxTime(time.Millisecond),
	); diff != "" {
		t.Errorf("opportunity (-want +got):\n%s", diff)
	}

	other, err := b.st.EnsureWorkspace(ctx, "other-"+store.NewID().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.UpdateOpportunity(ctx, other.ID, id, "api_key:c", qualify.OpportunityPatch{Name: str("mine")}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update from another workspace: %v, want ErrNotFound", err)
	}
}

func convertStatuses(rs []struct{ To string }) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.To
	}
	return out
}

// convertJoin writes each row of strings as "a|b|c", for compact diffs.
func convertJoin[T any](rs []T) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		v := reflect.ValueOf(r)
		parts := make([]string, v.NumField())
		for j := range parts {
			parts[j] = fmt.Sprint(v.Field(j).Interface())
		}
		out[i] = strings.Join(parts, "|")
	}
	return out
}

// convertKeys lists a map's keys, sorted.
func convertKeys(m map[string]string) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.Sort(keys)
	return keys
}

// A decision allowed for one owner does not survive the handoff being given
// to another meanwhile (the SLA reassigned it between the permission check
// and the decision): the former owner can neither accept nor reject it.
func TestDecisionRefusedWhenHandoffReassignedMeanwhile(t *testing.T) {
	t.Parallel()
	b := convertSetup(t)
	ctx := context.Background()
	lead := b.lead(t, store.Lead{Email: "rea@example.com", PrimaryInterest: "Engines"})
	h := b.handoff(t, lead.ID)
	seen := b.owner.ID
	next, err := b.st.InsertUser(ctx, store.User{WorkspaceID: b.ws.ID, Name: "Ria Rep", Email: "ria@seller.example", Role: store.UserSalesRep, Available: true})
	if err != nil {
		t.Fatal(err)
	}
	b.exec(t, `UPDATE handoffs SET owner_id = $2 WHERE id = $1`, h.ID, next.ID)

	if _, err := b.eng.Accept(ctx, b.ws.ID, h.ID, convertActor, qualify.AcceptInput{Owner: &seen}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("accept by the former owner: %v, want a conflict", err)
	}
	if _, err := b.eng.Reject(ctx, b.ws.ID, h.ID, convertActor, qualify.RejectInput{Reason: "not mine", Owner: &seen}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("reject by the former owner: %v, want a conflict", err)
	}
	if n := b.count(t, `SELECT count(*) FROM handoffs WHERE id = $1 AND status = 'open'`, h.ID); n != 1 {
		t.Errorf("the handoff is no longer open after refused decisions")
	}
	if n := b.count(t, `SELECT count(*) FROM contacts WHERE workspace_id = $1`, b.ws.ID); n != 0 {
		t.Errorf("%d contacts after a refused accept, want none", n)
	}
	// The new owner decides.
	if _, err := b.eng.Accept(ctx, b.ws.ID, h.ID, convertActor, qualify.AcceptInput{Owner: &next.ID}); err != nil {
		t.Errorf("accept by the new owner: %v", err)
	}
}
