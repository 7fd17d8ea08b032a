package nurture

import (
	"encoding/json"
	"errors"
	"mime"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"leadflow/store"
)

// subjects lists the decoded subjects of the emails to an address, in
// arrival order.
func (b *engineBundle) subjects(t *testing.T, to string) []string {
	t.Helper()
	var out []string
	for _, m := range b.smtp.To(to) {
		s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// An email, a wait of seconds, then a condition on whether that email was
// opened: the lead who opened it gets one follow-up, the other lead the
// other one.
func TestSequenceBranchesOnOpen(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	intro := b.newTemplate(t, "Intro", "<p>Intro</p>", "Intro")
	thanks := b.newTemplate(t, "Glad you liked it", "<p>More</p>", "More")
	nudge := b.newTemplate(t, "Did you miss this?", "<p>Again</p>", "Again")
	seq := b.newSequence(t, []Step{
		emailStep("intro", intro),
		waitStep("pause", 3*time.Second),
		{Key: "opened", Type: StepCondition, If: &Condition{Opened: "previous"}, Then: "thanks", Else: "nudge"},
		emailStep("thanks", thanks),
		{Key: "done", Type: StepExit},
		emailStep("nudge", nudge),
	}, nil)
	reader := b.newLead(t, "reader@example.org", nil)
	skimmer := b.newLead(t, "skimmer@example.org", nil)
	er := b.enroll(t, seq, reader)
	es := b.enroll(t, seq, skimmer)
	b.startWorker(t)

	// The reader opens the intro as soon as it arrives, well within the
	// wait.
	eventually(t, 15*time.Second, func() bool { return len(b.smtp.To("reader@example.org")) == 1 }, "the reader's intro")
	introMsg, err := b.store.MessageByDedupeKey(b.ctx, b.ws.ID, stepDedupeKey(er.ID, "intro"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.eng.RecordOpen(b.ctx, introMsg.ID); err != nil {
		t.Fatal(err)
	}

	for _, id := range []uuid.UUID{er.ID, es.ID} {
		b.waitEnrollment(t, id, 20*time.Second, "completed", func(e store.Enrollment) bool {
			return e.State == store.EnrollmentCompleted
		})
	}
	eventually(t, 10*time.Second, func() bool {
		return len(b.smtp.Messages()) == 4
	}, "four emails")
	if diff := cmp.Diff([]string{"Intro", "Glad you liked it"}, b.subjects(t, "reader@example.org")); diff != "" {
		t.Errorf("reader's emails (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Intro", "Did you miss this?"}, b.subjects(t, "skimmer@example.org")); diff != "" {
		t.Errorf("skimmer's emails (-want +got):\n%s", diff)
	}

	// Each enrollment's history tells the same story.
	if diff := cmp.Diff([]string{
		"intro enrolled", "intro email_queued", "pause waiting", "opened condition true->thanks",
		"thanks email_queued", "done completed",
	}, b.history(t, er.ID)); diff != "" {
		t.Errorf("reader's history (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{
		"intro enrolled", "intro email_queued", "pause waiting", "opened condition false->nudge",
		"nudge email_queued", "nudge completed",
	}, b.history(t, es.ID)); diff != "" {
		t.Errorf("skimmer's history (-want +got):\n%s", diff)
	}
}

// history lists an enrollment's steps as "key outcome" (conditions with
// their result and branch).
func (b *engineBundle) history(t *testing.T, enrollmentID uuid.UUID) []string {
	t.Helper()
	rows, err := b.store.Pool.Query(b.ctx, `SELECT step_key, outcome, detail FROM enrollment_steps WHERE enrollment_id = $1 ORDER BY id`, enrollmentID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var key, outcome string
		var detail map[string]any
		if err := rows.Scan(&key, &outcome, &detail); err != nil {
			t.Fatal(err)
		}
		s := key + " " + outcome
		if outcome == store.StepOutcomeCondition {
			s += " " + map[bool]string{true: "true", false: "false"}[detail["result"] == true] + "->" + detail["goto"].(string)
		}
		out = append(out, s)
	}
	return out
}

// A step due outside the send window waits for it to open, in the lead's
// time zone where known, else the sequence's.
func TestSendWindowHoldsStep(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	london, _ := time.LoadLocation("Europe/London")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	// A Saturday at 10:00 in London, at least a week ahead; the window is
	// weekdays 09:00-17:00.
	sat := time.Now().In(london).AddDate(0, 0, 7)
	for sat.Weekday() != time.Saturday {
		sat = sat.AddDate(0, 0, 1)
	}
	y, m, d := sat.Date()
	saturday := time.Date(y, m, d, 10, 0, 0, 0, london)
	mondayLondon := time.Date(y, m, d+2, 9, 0, 0, 0, london)
	mondayTokyo := time.Date(y, m, d+2, 9, 0, 0, 0, tokyo) // Sunday night in London
	b.clock.Set(saturday)

	tpl := b.newTemplate(t, "Hello", "<p>Hello</p>", "Hello")
	win, _ := json.Marshal(SendWindow{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"})
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, func(s *store.Sequence) {
		s.Timezone, s.SendWindow = "Europe/London", win
	})
	londoner := b.newLead(t, "londoner@example.org", nil)
	traveller := b.newLead(t, "traveller@example.org", func(l *store.Lead) { l.Timezone = "Asia/Tokyo" })
	el := b.enroll(t, seq, londoner)
	et := b.enroll(t, seq, traveller)
	b.startWorker(t)

	for _, c := range []struct {
		id   uuid.UUID
		want time.Time
	}{{el.ID, mondayLondon}, {et.ID, mondayTokyo}} {
		e := b.waitEnrollment(t, c.id, 15*time.Second, "held for the window", func(e store.Enrollment) bool {
			return e.NextRunAt != nil && e.NextRunAt.After(saturday.Add(time.Hour))
		})
		if e.State != store.EnrollmentActive || e.StepKey != "s1" || !e.NextRunAt.Equal(c.want) {
			t.Errorf("enrollment %s: %s at %s due %s, want active at s1 due %s", c.id, e.State, e.StepKey, e.NextRunAt, c.want)
		}
	}
	if n := len(b.messages(t, "londoner@example.org")) + len(b.messages(t, "traveller@example.org")); n != 0 {
		t.Fatalf("%d messages made outside the window", n)
	}

	// Monday 09:00 in Tokyo: the traveller's email goes, the Londoner's
	// still waits.
	b.clock.Set(mondayTokyo.Add(time.Second))
	eventually(t, 15*time.Second, func() bool { return len(b.smtp.To("traveller@example.org")) == 1 }, "the traveller's email")
	if n := len(b.messages(t, "londoner@example.org")); n != 0 {
		t.Errorf("the Londoner's email was made on Sunday night")
	}
	b.clock.Set(mondayLondon.Add(time.Second))
	eventually(t, 15*time.Second, func() bool { return len(b.smtp.To("londoner@example.org")) == 1 }, "the Londoner's email")
	if got := b.history(t, el.ID); !slices.Contains(got, "s1 held_for_window") {
		t.Errorf("history lacks the hold: %v", got)
	}
}

// A paused sequence's due enrollments are not scheduled; resumed, they go on.
func TestPausedSequenceHoldsEnrollments(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	tpl := b.newTemplate(t, "Hello", "<p>Hello</p>", "Hello")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	lead := b.newLead(t, "paused@example.org", nil)
	enr := b.enroll(t, seq, lead)
	if _, err := b.store.SetSequenceStatus(b.ctx, b.ws.ID, seq.ID, store.SequencePaused); err != nil {
		t.Fatal(err)
	}
	steps, _, err := b.eng.ScheduleOnce(b.ctx)
	if err != nil || steps != 0 {
		t.Fatalf("ScheduleOnce while paused: %d steps, %v; want none", steps, err)
	}
	// A step task that was already on the queue does nothing either.
	if err := b.eng.RunStep(b.ctx, StepPayload{WorkspaceID: b.ws.ID, EnrollmentID: enr.ID, StepKey: "s1"}); err != nil {
		t.Fatal(err)
	}
	if e := b.enrollment(t, enr.ID); e.StepKey != "s1" || e.State != store.EnrollmentActive || len(b.messages(t, "paused@example.org")) != 0 {
		t.Fatalf("paused enrollment moved: %+v", e)
	}
	if _, err := b.store.SetSequenceStatus(b.ctx, b.ws.ID, seq.ID, store.SequenceActive); err != nil {
		t.Fatal(err)
	}
	b.startWorker(t)
	eventually(t, 15*time.Second, func() bool { return len(b.smtp.To("paused@example.org")) == 1 }, "the email after resuming")
}

// A lead who qualifies, or converts, leaves at its next step, when the
// sequence has that exit criterion.
func TestExitCriteria(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	tpl := b.newTemplate(t, "Hello", "<p>Hello</p>", "Hello")
	seq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	keep := b.newSequence(t, []Step{emailStep("s1", tpl)}, func(s *store.Sequence) { s.ExitCriteria = []string{ExitUnsubscribed} })
	mql := b.newLead(t, "mql@example.org", func(l *store.Lead) { l.Status = store.LeadMarketingQualified })
	won := b.newLead(t, "won@example.org", func(l *store.Lead) { l.Status = store.LeadConverted })
	e1 := b.enroll(t, seq, mql)
	e2 := b.enroll(t, seq, won)
	e3 := b.enroll(t, keep, mql)
	for _, c := range []struct {
		id     uuid.UUID
		state  string
		reason string
	}{{e1.ID, store.EnrollmentExited, ExitQualified}, {e2.ID, store.EnrollmentExited, ExitConverted}, {e3.ID, store.EnrollmentCompleted, ""}} {
		key := "s1"
		if err := b.eng.RunStep(b.ctx, StepPayload{WorkspaceID: b.ws.ID, EnrollmentID: c.id, StepKey: key}); err != nil {
			t.Fatal(err)
		}
		if e := b.enrollment(t, c.id); e.State != c.state || e.ExitReason != c.reason {
			t.Errorf("enrollment %s: %s (%s), want %s (%s)", c.id, e.State, e.ExitReason, c.state, c.reason)
		}
	}
	if n := len(b.messages(t, "won@example.org")); n != 0 {
		t.Errorf("the converted lead got %d messages", n)
	}
	if n := len(b.messages(t, "mql@example.org")); n != 1 {
		t.Errorf("the qualified lead got %d messages, want 1 (from the sequence without the criterion)", n)
	}
}

// The scheduler puts only due work on the queue, once per lease: a step
// not yet due stays in PostgreSQL, a step enqueued twice is one task, and
// if Redis is away nothing is marked enqueued.
func TestSchedulerEnqueuesOnlyDueWork(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	tpl := b.newTemplate(t, "Hello", "<p>Hello</p>", "Hello")
	now := b.clock.Now()
	dueSeq := b.newSequence(t, []Step{emailStep("s1", tpl)}, nil)
	laterSeq := b.newSequence(t, []Step{waitStep("w", time.Hour), emailStep("s1", tpl)}, nil)
	due := b.enroll(t, dueSeq, b.newLead(t, "due@example.org", nil))
	later := b.enroll(t, laterSeq, b.newLead(t, "later@example.org", nil))
	// Let the later enrollment's wait begin, so it is due in an hour.
	if err := b.eng.RunStep(b.ctx, StepPayload{WorkspaceID: b.ws.ID, EnrollmentID: later.ID, StepKey: "w"}); err != nil {
		t.Fatal(err)
	}
	if e := b.enrollment(t, later.ID); e.NextRunAt == nil || e.NextRunAt.Before(now.Add(59*time.Minute)) {
		t.Fatalf("later enrollment due %v, want in an hour", e.NextRunAt)
	}

	// Redis away: the round fails and claims nothing.
	down := *b
	down.cfg.Queue = asynq.NewClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { down.cfg.Queue.(*asynq.Client).Close() })
	downEng, err := New(down.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := downEng.ScheduleOnce(b.ctx); err == nil {
		t.Fatal("ScheduleOnce with Redis away: no error")
	}
	if e := b.enrollment(t, due.ID); e.EnqueuedAt != nil {
		t.Fatalf("a failed round left the enrollment marked enqueued at %v", e.EnqueuedAt)
	}

	steps, _, err := b.eng.ScheduleOnce(b.ctx)
	if err != nil || steps != 1 {
		t.Fatalf("first round: %d steps, %v; want 1", steps, err)
	}
	if steps, _, _ := b.eng.ScheduleOnce(b.ctx); steps != 0 {
		t.Errorf("second round within the lease: %d steps, want 0", steps)
	}
	// After the lease it is put there again, and merges with the task
	// still queued.
	b.clock.Advance(b.cfg.Lease + time.Second)
	if steps, _, _ := b.eng.ScheduleOnce(b.ctx); steps != 1 {
		t.Errorf("round after the lease: %d steps, want 1", steps)
	}
	info, err := asynq.NewInspectorFromRedisClient(b.rdb).GetQueueInfo(Queue)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending != 1 {
		t.Errorf("pending tasks: %d, want 1", info.Pending)
	}
	task, err := asynq.NewInspectorFromRedisClient(b.rdb).GetTaskInfo(Queue, TypeStep+":"+due.ID.String()+":s1")
	if err != nil {
		t.Fatalf("the due step's task: %v", err)
	}
	var p StepPayload
	if err := json.Unmarshal(task.Payload, &p); err != nil || p.EnrollmentID != due.ID || p.StepKey != "s1" {
		t.Errorf("task payload %s (%v)", task.Payload, err)
	}
	if _, err := asynq.NewInspectorFromRedisClient(b.rdb).GetTaskInfo(Queue, TypeStep+":"+later.ID.String()+":s1"); !errors.Is(err, asynq.ErrTaskNotFound) {
		t.Errorf("the later step is on the queue: %v", err)
	}
}

// Past MaxQueued waiting tasks the scheduler adds no more: due work waits
// in PostgreSQL, not in Redis.
func TestSchedulerBoundsTheQueue(t *testing.T) {
	t.Parallel()
	b := setupEngine(t, func(c *Config) { c.MaxQueued, c.BatchSize = 5, 2 })
	seq := b.newSequence(t, []Step{waitStep("w", time.Hour)}, nil)
	for i := range 8 {
		b.enroll(t, seq, b.newLead(t, "bound"+string(rune('a'+i))+"@example.org", nil))
	}
	steps, _, err := b.eng.ScheduleOnce(b.ctx)
	if err != nil || steps != 5 {
		t.Fatalf("first round: %d steps, %v; want 5", steps, err)
	}
	if steps, _, _ := b.eng.ScheduleOnce(b.ctx); steps != 0 {
		t.Errorf("round with a full queue: %d steps, want 0", steps)
	}
	info, err := asynq.NewInspectorFromRedisClient(b.rdb).GetQueueInfo(Queue)
	if err != nil || info.Pending != 5 {
		t.Errorf("pending: %+v, %v; want 5", info, err)
	}
	b.startWorker(t)
	eventually(t, 15*time.Second, func() bool {
		var n int
		if err := b.store.Pool.QueryRow(b.ctx, `SELECT count(*) FROM enrollments WHERE state = 'completed'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 8
	}, "all eight enrollments through")
}
