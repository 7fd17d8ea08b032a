package qualify

import (
	"time"

	"leadflow/store"
)

// decayHistoryStep is how far decay must move a score from its latest
// recorded value before the lead's score history records it: with a 30-day
// half-life a score of 50 loses a point a day, and a row for each would
// bury the changes that matter under the fading. A change of grade, or a
// score faded to 0, is recorded whatever the step.
const decayHistoryStep = 5

// scoreChange is what rescoring writes for a lead: its new score and grade,
// and what moved them since it was last scored (prev), for its history.
// A recompute job says so; otherwise the newest engagement with points
// since the last score, else a change of the scoring rules since then,
// else a change of grade (the lead's fit fields), else time.
func (s *scorer) scoreChange(prev store.Lead, events []store.EngagementEvent, w *workspaceScoring, score int, grade string) store.ScoreChange {
	c := store.ScoreChange{Score: score, Grade: grade, At: s.now, MinDecay: decayHistoryStep}
	if s.recompute {
		c.Cause = store.ScoreCauseRecompute
		return c
	}
	since := time.Time{}
	if prev.ScoredAt != nil {
		since = *prev.ScoredAt
	}
	// The newest event with points, and the newest since the last score.
	var newest, fresh *store.EngagementEvent
	for i := range events {
		ev := &events[i]
		if w.rules.Points[ev.Kind] == 0 {
			continue
		}
		newest = ev
		if ev.OccurredAt.After(since) {
			fresh = ev
		}
	}
	switch {
	case fresh != nil:
		c.Cause, c.EventKind = store.ScoreCauseEngagement, fresh.Kind
	case prev.ScoredAt != nil && w.rulesUpdatedAt.After(since):
		c.Cause = store.ScoreCauseRules
	case grade != prev.Grade:
		c.Cause = store.ScoreCauseFit
	case score > prev.Score && newest != nil:
		// Time only lowers a score: a rise is an event dated before the
		// last score (an import's history, say).
		c.Cause, c.EventKind = store.ScoreCauseEngagement, newest.Kind
	default:
		c.Cause = store.ScoreCauseDecay
	}
	return c
}
