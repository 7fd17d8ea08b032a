package qualify_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"leadflow/store"
)

// scoreItems returns the lead's timeline score changes as "title | detail |
// cause", newest first.
func (b *scoreBundle) scoreItems(t *testing.T, l store.Lead) []string {
	t.Helper()
	items, err := b.st.LeadTimeline(b.ctx, l.WorkspaceID, l.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		if it.Kind == store.TimelineScore {
			out = append(out, it.Title+" | "+it.Detail+" | "+it.Actor)
		}
	}
	return out
}

func TestScoreHistorySaysWhatMovedTheScore(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	b.rules(t, b.ws, `{"form_submitted": 20, "email_clicked": 8}`, `[{"field": "title", "op": "contains", "value": "director", "points": 50}]`,
		`{"A": 80, "B": 50}`, "30d")
	l := b.newLead(t, b.ws, nil)
	b.event(t, l, store.EngagementFormSubmitted, b.clock.Now())
	b.drain(t)
	b.clock.advance(time.Minute)
	b.event(t, l, store.EngagementEmailClicked, b.clock.Now())
	b.drain(t)

	// A recompute that changes nothing leaves no history.
	job, err := b.eng.StartRecompute(b.ctx, b.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for job.Status == store.ScoreJobRunning {
		if time.Now().After(deadline) {
			t.Fatalf("job still running: %+v", job)
		}
		b.eng.RunOnce(b.ctx)
		if job, err = b.eng.ScoreJob(b.ctx, b.ws.ID, job.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM lead_score_history WHERE lead_id = $1`, l.ID); n != 2 {
		t.Errorf("%d history rows after a recompute that changed nothing, want 2", n)
	}

	// A change of a field the fit rules read moves the grade.
	b.clock.advance(time.Minute)
	if _, err := b.st.Pool.Exec(b.ctx, `UPDATE leads SET title = 'Sales Director' WHERE id = $1`, l.ID); err != nil {
		t.Fatal(err)
	}
	b.drain(t)

	// Thirty days on, decay has halved the score: one row for the fade.
	b.clock.advance(30 * day)
	b.eng.RunOnce(b.ctx)
	b.drain(t)
	if got := b.lead(t, l).Score; got != 14 {
		t.Fatalf("score after a half-life = %d, want 14", got)
	}
	// Four days more take a point off, too little to record.
	b.clock.advance(4 * day)
	b.eng.RunOnce(b.ctx)
	b.drain(t)
	if got := b.lead(t, l).Score; got != 13 {
		t.Fatalf("score after four days more = %d, want 13", got)
	}

	want := []string{
		"28 → 14 | B | decay",
		"28 | F → B | fit changed",
		"20 → 28 | F | email clicked",
		"0 → 20 | F | form submitted",
	}
	if diff := cmp.Diff(want, b.scoreItems(t, l)); diff != "" {
		t.Errorf("score changes (-want +got):\n%s", diff)
	}
}
