package capture_test

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/capture"
	"leadflow/nurture"
	"leadflow/store"
	"leadflow/store/storetest"
)

// eventsBundle is a workerBundle whose processor queues the real
// confirmation emails, and the admin API whose cancellations queue the real
// promotion emails, both through nurture's engine.
type eventsBundle struct {
	*workerBundle
	api *capture.API
	eng *nurture.Engine
}

func setupEvents(t *testing.T) *eventsBundle {
	t.Helper()
	b := setupWorker(t)
	rdb := redis.NewClient(storetest.RedisOptions(t))
	t.Cleanup(func() { rdb.Close() })
	queue := asynq.NewClientFromRedisClient(rdb)
	signer, err := nurture.NewSigner("a test secret that is long enough to sign")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := nurture.New(nurture.Config{Store: b.store, Queue: queue, Redis: rdb, Signer: signer, BaseURL: "http://leadflow.test",
		CanonicalEmail: func(email string) (string, error) {
			_, canonical, err := capture.NormalizeEmail(email)
			return canonical, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	if b.proc, err = capture.NewProcessor(capture.ProcessorConfig{Store: b.store, Enroller: eng}); err != nil {
		t.Fatal(err)
	}
	api, err := capture.NewAPI(capture.APIConfig{Store: b.store, Enqueuer: queue, Merger: b.proc, Releaser: b.proc,
		Retrier: b.proc, Tasks: asynq.NewInspectorFromRedisClient(rdb), Mailer: eng, Referrer: b.proc, Unsuppressor: eng})
	if err != nil {
		t.Fatal(err)
	}
	return &eventsBundle{workerBundle: b, api: api, eng: eng}
}

// register posts one person's registration for the event's form, processes
// it, and returns their registration.
func (b *eventsBundle) register(t *testing.T, form store.Form, email string) store.EventRegistration {
	t.Helper()
	out := b.process(t, b.newResponse(t, form, personFields(t, email, "Guest", email, "")))
	l, err := b.store.LeadRegistration(b.ctx, form.WorkspaceID, *form.EventID, leadOf(t, b, out))
	if err != nil {
		t.Fatalf("registration of %s: %v", email, err)
	}
	return l
}

func leadOf(t *testing.T, b *eventsBundle, out capture.Outcome) uuid.UUID {
	t.Helper()
	r := b.response(t, store.Workspace{ID: out.WorkspaceID}, out.ResponseID)
	if r.LeadID == nil {
		t.Fatalf("response %s made no lead", out.ResponseID)
	}
	return *r.LeadID
}

// eventForm makes an event of capacity places and its registration form.
func (b *eventsBundle) eventForm(t *testing.T, ws store.Workspace, capacity int) store.Form {
	t.Helper()
	ev := b.newEvent(t, ws, capacity)
	return b.newForm(t, ws, func(f *store.Form) { f.Kind, f.EventID = store.FormEventRegistration, &ev })
}

// statuses maps each registration to its status now.
func (b *eventsBundle) statuses(t *testing.T, regs []store.EventRegistration) []string {
	t.Helper()
	var out []string
	for _, r := range regs {
		got, err := b.store.GetRegistration(b.ctx, r.WorkspaceID, r.EventID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got.Status)
	}
	return out
}

// promotionEmails counts the promotion emails queued for a registration.
func (b *eventsBundle) promotionEmails(t *testing.T, reg store.EventRegistration) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM messages WHERE dedupe_key = $1`, "event_promoted:"+reg.ID.String())
}

// TestEventConcurrentCancelsPromoteDistinctPeople cancels every held place
// of a full event at once, each cancellation sent twice: each freed place
// goes to a different person, first come first served, the event never
// holds more than its capacity, and each promoted person gets one email.
func TestEventConcurrentCancelsPromoteDistinctPeople(t *testing.T) {
	t.Parallel()
	b := setupEvents(t)
	const places, waiting = 4, 6
	form := b.eventForm(t, b.ws, places)
	var held, queue []store.EventRegistration
	for i := range places + waiting {
		r := b.register(t, form, fmt.Sprintf("guest%d@example.com", i))
		if i < places {
			held = append(held, r)
		} else {
			queue = append(queue, r)
		}
	}
	if got := b.statuses(t, queue); slices.ContainsFunc(got, func(s string) bool { return s != store.RegistrationWaitlisted }) {
		t.Fatalf("waitlist before: %v", got)
	}

	b.warmPool(t)
	start := make(chan struct{})
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		changed int
		got     []uuid.UUID
	)
	for _, r := range append(slices.Clone(held), held...) {
		wg.Go(func() {
			<-start
			ch, err := b.api.CancelRegistration(b.ctx, b.ws.ID, r.EventID, r.ID, "test")
			if err != nil {
				t.Errorf("cancel %s: %v", r.ID, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if ch.Changed {
				changed++
			}
			for _, p := range ch.Promoted {
				got = append(got, p.ID)
			}
		})
	}
	close(start)
	wg.Wait()

	if changed != places {
		t.Errorf("%d cancellations changed something, want %d (each registration once)", changed, places)
	}
	slices.SortFunc(got, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	var want []uuid.UUID
	for _, r := range queue[:places] {
		want = append(want, r.ID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("promoted (-want +got):\n%s", diff)
	}
	if n, err := b.store.CountRegistered(b.ctx, b.ws.ID, *form.EventID); err != nil || n != places {
		t.Errorf("places held = %d, %v; want %d", n, err, places)
	}
	wantStatuses := []string{store.RegistrationRegistered, store.RegistrationRegistered, store.RegistrationRegistered,
		store.RegistrationRegistered, store.RegistrationWaitlisted, store.RegistrationWaitlisted}
	if diff := cmp.Diff(wantStatuses, b.statuses(t, queue)); diff != "" {
		t.Errorf("waitlist after (-want +got):\n%s", diff)
	}
	for i, r := range queue {
		want := 0
		if i < places {
			want = 1
		}
		if n := b.promotionEmails(t, r); n != want {
			t.Errorf("waitlisted #%d: %d promotion emails, want %d", i, n, want)
		}
	}
}

// TestEventRegistrationPromotionEmailOnce queues a promotion's email again,
// as a retried cancellation would: still one email.
func TestEventRegistrationPromotionEmailOnce(t *testing.T) {
	t.Parallel()
	b := setupEvents(t)
	form := b.eventForm(t, b.ws, 1)
	first := b.register(t, form, "first@example.com")
	next := b.register(t, form, "next@example.com")
	ch, err := b.api.CancelRegistration(b.ctx, b.ws.ID, first.EventID, first.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Promoted) != 1 || ch.Promoted[0].ID != next.ID {
		t.Fatalf("promoted %v, want %s", ch.Promoted, next.ID)
	}
	if err := b.store.InTx(b.ctx, func(q *store.Queries) error { return b.eng.QueuePromotion(b.ctx, q, ch.Promoted[0]) }); err != nil {
		t.Fatal(err)
	}
	if n := b.promotionEmails(t, next); n != 1 {
		t.Errorf("%d promotion emails, want 1", n)
	}
	// Cancelling again changes nothing and promotes nobody.
	again, err := b.api.CancelRegistration(b.ctx, b.ws.ID, first.EventID, first.ID, "test")
	if err != nil || again.Changed || len(again.Promoted) != 0 {
		t.Errorf("second cancel: changed %v, promoted %d, %v", again.Changed, len(again.Promoted), err)
	}
	// The email carries the link that cancels the promoted registration.
	var text string
	if err := b.store.Pool.QueryRow(b.ctx, `SELECT text_body FROM messages WHERE dedupe_key = $1`,
		"event_promoted:"+next.ID.String()).Scan(&text); err != nil {
		t.Fatal(err)
	}
	if !regexpCancel.MatchString(text) {
		t.Errorf("promotion email has no cancel link:\n%s", text)
	}
}

// TestEventRegistrationAttendance records attendance once, as an
// engagement event scoring reads; an attended registration keeps its place
// and cannot be cancelled, a cancelled one cannot be attended.
func TestEventRegistrationAttendance(t *testing.T) {
	t.Parallel()
	b := setupEvents(t)
	form := b.eventForm(t, b.ws, 1)
	came := b.register(t, form, "came@example.com")
	waits := b.register(t, form, "waits@example.com")
	for i := range 2 {
		ch, err := b.api.MarkAttended(b.ctx, b.ws.ID, came.EventID, came.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		if ch.Changed != (i == 0) || ch.Registration.Status != store.RegistrationAttended || ch.Registration.AttendedAt == nil {
			t.Errorf("attend #%d: changed %v, status %q", i, ch.Changed, ch.Registration.Status)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM engagement_events WHERE lead_id = $1 AND kind = 'event_attended' AND source_id = $2`,
		came.LeadID, came.ID); n != 1 {
		t.Errorf("%d event_attended engagement events, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM score_dirty WHERE lead_id = $1`, came.LeadID); n != 1 {
		t.Errorf("the lead is not marked for rescoring")
	}
	// Attending keeps the place: the waitlist stays as it is.
	if got := b.statuses(t, []store.EventRegistration{waits}); got[0] != store.RegistrationWaitlisted {
		t.Errorf("waitlisted person is %s", got[0])
	}
	if _, err := b.api.CancelRegistration(b.ctx, b.ws.ID, came.EventID, came.ID, "test"); !isValidation(err) {
		t.Errorf("cancel attended: %v, want a validation error", err)
	}
	if _, err := b.api.CancelRegistration(b.ctx, b.ws.ID, waits.EventID, waits.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.api.MarkAttended(b.ctx, b.ws.ID, waits.EventID, waits.ID, "test"); !isValidation(err) {
		t.Errorf("attend cancelled: %v, want a validation error", err)
	}
}

// TestEventRegistrationIsolation: another workspace can neither read,
// cancel nor attend a registration, even knowing its IDs.
func TestEventRegistrationIsolation(t *testing.T) {
	t.Parallel()
	b := setupEvents(t)
	form := b.eventForm(t, b.ws, 1)
	reg := b.register(t, form, "mine@example.com")
	other := b.newWorkspace(t, "globex")
	if _, err := b.api.CancelRegistration(b.ctx, other.ID, reg.EventID, reg.ID, "test"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cancel from another workspace: %v, want not found", err)
	}
	if _, err := b.api.MarkAttended(b.ctx, other.ID, reg.EventID, reg.ID, "test"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("attend from another workspace: %v, want not found", err)
	}
	rs, err := b.store.ListRegistrations(b.ctx, other.ID, reg.EventID, "", uuid.Nil, 10)
	if err != nil || len(rs) != 0 {
		t.Errorf("another workspace lists %d registrations, %v", len(rs), err)
	}
	if got := b.statuses(t, []store.EventRegistration{reg}); got[0] != store.RegistrationRegistered {
		t.Errorf("registration is %s", got[0])
	}
}

// regexpCancel finds a registration email's cancel link, tracked or not.
var regexpCancel = regexp.MustCompile(`http://leadflow\.test/(r|t/c)/[A-Za-z0-9_-]+`)

func isValidation(err error) bool {
	var ve *capture.ValidationError
	return errors.As(err, &ve)
}

// TestEventRegistrationMergeKeepsAttendance merges a person's two leads,
// one of which cancelled and the other attended the same event: the
// survivor keeps one registration, attended.
func TestEventRegistrationMergeKeepsAttendance(t *testing.T) {
	t.Parallel()
	b := setupEvents(t)
	form := b.eventForm(t, b.ws, 0)
	keep := b.register(t, form, "hal@work.example")
	other := b.register(t, form, "hal@home.example")
	if _, err := b.api.CancelRegistration(b.ctx, b.ws.ID, keep.EventID, keep.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.api.MarkAttended(b.ctx, b.ws.ID, other.EventID, other.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.proc.MergeLeads(b.ctx, b.ws.ID, keep.LeadID, other.LeadID, "test"); err != nil {
		t.Fatal(err)
	}
	rs, err := b.store.ListRegistrations(b.ctx, b.ws.ID, keep.EventID, "", uuid.Nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].ID != keep.ID || rs[0].LeadID != keep.LeadID || rs[0].Status != store.RegistrationAttended ||
		rs[0].AttendedAt == nil || rs[0].CancelledAt != nil {
		t.Errorf("after the merge: %+v, want the kept registration, attended", rs)
	}
}

// TestEventRegistrationAfterCancelling: a person who cancelled and
// registers again holds a registration again, as anyone registering then
// would (the back of the waitlist of a full event, a place once one is
// free), with a confirmation for each time they registered, and the same
// response processed again confirms nothing more.
func TestEventRegistrationAfterCancelling(t *testing.T) {
	t.Parallel()
	b := setupEvents(t)
	form := b.eventForm(t, b.ws, 1)
	ada := b.register(t, form, "ada@example.com")
	grace := b.register(t, form, "grace@example.com")
	if _, err := b.api.CancelRegistration(b.ctx, b.ws.ID, ada.EventID, ada.ID, "test"); err != nil {
		t.Fatal(err)
	}
	// Grace took Ada's place; the event is full again.
	if diff := cmp.Diff([]string{store.RegistrationCancelled, store.RegistrationRegistered}, b.statuses(t, []store.EventRegistration{ada, grace})); diff != "" {
		t.Fatalf("after the cancel (-want +got):\n%s", diff)
	}
	confirmations := func() int {
		t.Helper()
		return b.count(t, `SELECT count(*) FROM messages WHERE dedupe_key LIKE $1`, "event:"+ada.ID.String()+":%")
	}
	if n := confirmations(); n != 1 {
		t.Fatalf("%d confirmations before registering again, want 1", n)
	}

	again := b.register(t, form, "ada@example.com")
	if again.ID != ada.ID || again.Status != store.RegistrationWaitlisted || again.CancelledAt != nil {
		t.Errorf("registered again into a full event: %+v, want the same registration waitlisted", again)
	}
	if n := confirmations(); n != 2 {
		t.Errorf("%d confirmations after registering again, want 2", n)
	}
	// Processing that response again changes nothing.
	if _, err := b.proc.Process(b.ctx, again.ResponseID); err != nil {
		t.Fatal(err)
	}
	if n := confirmations(); n != 2 {
		t.Errorf("%d confirmations after processing the response again, want 2", n)
	}
	// Grace cancels: the first (only) one waiting, Ada, gets the place.
	ch, err := b.api.CancelRegistration(b.ctx, b.ws.ID, grace.EventID, grace.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Promoted) != 1 || ch.Promoted[0].ID != ada.ID {
		t.Errorf("promoted %v, want Ada's registration", ch.Promoted)
	}
}
