package qualify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"leadflow/store"
)

// engagementKinds are the engagement events scoring gives points to: what
// capture records (form submitted, event registered, event attended) and
// what nurture records (email sent, opened, clicked, unsubscribed,
// bounced), plus page views.
var engagementKinds = []string{
	"form_submitted", "event_registered", "event_attended", "email_sent", "email_opened", "email_clicked",
	"page_viewed", "unsubscribed", "bounced",
}

// WorkerActor signs what the scoring worker does to a lead.
const WorkerActor = "worker:qualify"

// How the scoring jobs pace themselves.
const (
	// scoreBatchSize is how many marked leads one transaction rescores.
	scoreBatchSize = 100
	// scoreJobBatchSize is how many leads a recompute job walks per
	// transaction; they stay locked until it commits.
	scoreJobBatchSize = 100
	// jobBudget is how long one job keeps taking batches in one run of the
	// engine, so a backlog does not starve the engine's other jobs.
	jobBudget = time.Second
	// decayEvery is how often a process looks for scores to fade: scores
	// change slowly (a 30-day half-life moves a score by about 0.1% an
	// hour), so a sweep every few minutes is plenty.
	decayEvery = 5 * time.Minute
	// decayStaleAfter is how old a score must be before decay recomputes it.
	decayStaleAfter = time.Hour
	// decayBatchSize bounds one decay statement.
	decayBatchSize = 1000
)

// Half-life bounds.
const (
	minHalfLife = time.Minute
	maxHalfLife = 3650 * 24 * time.Hour
)

// scoringState is the engine's scoring bookkeeping.
type scoringState struct {
	mu        sync.Mutex
	lastDecay time.Time
}

// Rules are a workspace's scoring rules, parsed.
type Rules struct {
	// Points per engagement kind; kinds not listed score nothing.
	Points map[string]int `json:"points"`
	// FitRules sum to the fit points that make the grade.
	FitRules []FitRule `json:"fit_rules"`
	// GradeThresholds are the fit points each grade needs.
	GradeThresholds map[string]int `json:"grade_thresholds"`
	// HalfLife is how long it takes an event's points to halve.
	HalfLife time.Duration `json:"-"`
}

// ScoringView is how the API shows a workspace's scoring rules.
type ScoringView struct {
	Points          map[string]int `json:"points"`
	FitRules        []FitRule      `json:"fit_rules"`
	GradeThresholds map[string]int `json:"grade_thresholds"`
	HalfLife        string         `json:"half_life"`
	HalfLifeSeconds int64          `json:"half_life_seconds"`
	UpdatedAt       time.Time      `json:"updated_at"`
}

// ScoringUpdate changes a workspace's scoring rules: members left nil keep
// their current value.
type ScoringUpdate struct {
	Points          json.RawMessage
	FitRules        json.RawMessage
	GradeThresholds json.RawMessage
	HalfLife        *string
}

// rulesFrom parses the stored rules.
func rulesFrom(r store.ScoringRules) (Rules, error) {
	var out Rules
	if err := json.Unmarshal(r.Points, &out.Points); err != nil {
		return Rules{}, fmt.Errorf("stored points: %w", err)
	}
	if err := json.Unmarshal(r.FitRules, &out.FitRules); err != nil {
		return Rules{}, fmt.Errorf("stored fit rules: %w", err)
	}
	if err := json.Unmarshal(r.GradeThresholds, &out.GradeThresholds); err != nil {
		return Rules{}, fmt.Errorf("stored grade thresholds: %w", err)
	}
	out.HalfLife = time.Duration(r.HalfLifeSeconds) * time.Second
	return out, nil
}

func viewOf(r store.ScoringRules, rules Rules) ScoringView {
	return ScoringView{
		Points:          rules.Points,
		FitRules:        orEmpty(rules.FitRules),
		GradeThresholds: rules.GradeThresholds,
		HalfLife:        formatHalfLife(r.HalfLifeSeconds),
		HalfLifeSeconds: r.HalfLifeSeconds,
		UpdatedAt:       r.UpdatedAt,
	}
}

// orEmpty keeps a nil slice from being shown as null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// engagementScore sums each event's points, halved for every half-life of
// its age, and rounds the sum. An event dated in the future counts in full.
func engagementScore(events []store.EngagementEvent, rules Rules, now time.Time) int {
	halfLife := rules.HalfLife.Seconds()
	if halfLife <= 0 {
		halfLife = 1
	}
	var sum float64
	for _, ev := range events {
		p := rules.Points[ev.Kind]
		if p == 0 {
			continue
		}
		age := max(now.Sub(ev.OccurredAt).Seconds(), 0)
		sum += float64(p) * math.Pow(0.5, age/halfLife)
	}
	return int(math.Round(sum))
}

// parseHalfLife reads a duration like "30d", "12h", "90m", "2w" or a Go
// duration like "1h30m".
func parseHalfLife(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	units := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}
	if len(s) >= 2 {
		if unit, ok := units[s[len(s)-1:]]; ok {
			if n, err := strconv.ParseInt(s[:len(s)-1], 10, 64); err == nil {
				if n <= 0 || n > int64(maxHalfLife/unit) {
					return 0, errors.New("out of range")
				}
				return time.Duration(n) * unit, nil
			}
		}
	}
	return time.ParseDuration(s)
}

// formatHalfLife writes seconds in the largest unit that divides them.
func formatHalfLife(seconds int64) string {
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"d", 86400}, {"h", 3600}, {"m", 60}} {
		if seconds%u.n == 0 {
			return strconv.FormatInt(seconds/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(seconds, 10) + "s"
}

// Scoring returns the workspace's scoring rules (the defaults until
// marketing sets its own).
func (e *Engine) Scoring(ctx context.Context, workspaceID uuid.UUID) (ScoringView, error) {
	r, err := e.cfg.Store.ScoringRulesOf(ctx, workspaceID)
	if err != nil {
		return ScoringView{}, err
	}
	rules, err := rulesFrom(r)
	if err != nil {
		return ScoringView{}, err
	}
	return viewOf(r, rules), nil
}

// PutScoring validates and saves a change of the workspace's scoring rules.
// Scores follow at each lead's next event; a recompute job re-applies the
// rules to every lead at once.
func (e *Engine) PutScoring(ctx context.Context, workspaceID uuid.UUID, u ScoringUpdate) (ScoringView, error) {
	bad := map[string]string{}
	var points map[string]int
	if u.Points != nil {
		if isNull(u.Points) || json.Unmarshal(u.Points, &points) != nil {
			bad["points"] = "must be an object of integers, like {\"form_submitted\": 10}"
		}
		for kind, p := range points {
			switch {
			case !slices.Contains(engagementKinds, kind):
				bad["points."+kind] = "unknown engagement kind: one of " + strings.Join(engagementKinds, ", ")
			case abs(p) > maxRulePoints:
				bad["points."+kind] = fmt.Sprintf("must be between -%d and %d", maxRulePoints, maxRulePoints)
			}
		}
	}
	var fit []FitRule
	if u.FitRules != nil {
		fit = parseFitRules(u.FitRules, bad)
	}
	var thresholds map[string]int
	if u.GradeThresholds != nil {
		thresholds = parseGradeThresholds(u.GradeThresholds, bad)
	}
	var halfLife time.Duration
	if u.HalfLife != nil {
		d, err := parseHalfLife(*u.HalfLife)
		switch {
		case err != nil:
			bad["half_life"] = `must be a duration like "30d", "12h" or "90m"`
		case d < minHalfLife || d > maxHalfLife || d%time.Second != 0:
			bad["half_life"] = "must be whole seconds, from 1m to 3650d"
		}
		halfLife = d
	}
	if len(bad) > 0 {
		return ScoringView{}, &ValidationError{Fields: bad}
	}

	var out ScoringView
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		cur, err := q.ScoringRulesOf(ctx, workspaceID)
		if err != nil {
			return err
		}
		next := cur
		if u.Points != nil {
			next.Points, _ = json.Marshal(points)
		}
		if u.FitRules != nil {
			next.FitRules, _ = json.Marshal(fit)
		}
		if u.GradeThresholds != nil {
			next.GradeThresholds, _ = json.Marshal(thresholds)
		}
		if u.HalfLife != nil {
			next.HalfLifeSeconds = int64(halfLife / time.Second)
		}
		next.UpdatedAt = e.now()
		saved, err := q.PutScoringRules(ctx, next)
		if err != nil {
			return err
		}
		rules, err := rulesFrom(saved)
		if err != nil {
			return err
		}
		out = viewOf(saved, rules)
		return nil
	})
	return out, err
}

// StartRecompute starts a background job that recomputes every lead of the
// workspace with the current rules and criteria.
func (e *Engine) StartRecompute(ctx context.Context, workspaceID uuid.UUID) (store.ScoreJob, error) {
	return e.cfg.Store.InsertScoreJob(ctx, workspaceID, e.now())
}

// ScoreJob returns a recompute job of the workspace, with its progress.
func (e *Engine) ScoreJob(ctx context.Context, workspaceID, id uuid.UUID) (store.ScoreJob, error) {
	return e.cfg.Store.GetScoreJob(ctx, workspaceID, id)
}

// scorePending rescores the leads marked by the triggers (engagement
// events, fit field changes) or by decay, batch after batch, within its
// budget. Each batch is one transaction: a crash leaves the marks in place.
func (e *Engine) scorePending(ctx context.Context) error {
	for start := time.Now(); time.Since(start) < jobBudget; {
		n, err := e.scoreBatch(ctx)
		if err != nil || n < scoreBatchSize {
			return err
		}
	}
	return nil
}

// scoreBatch claims and rescores one batch of marked leads and reports how
// many it claimed.
func (e *Engine) scoreBatch(ctx context.Context) (int, error) {
	var claimed []store.ScoreDirtyLead
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		var err error
		if claimed, err = q.ClaimScoreDirty(ctx, scoreBatchSize); err != nil {
			return err
		}
		s := e.newScorer(q)
		for _, d := range claimed {
			if err := s.rescoreMarked(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(claimed) == 0 || ctx.Err() != nil {
		return len(claimed), err
	}
	// One lead failing rolled the whole batch back: rescore the leads one
	// by one, so the others go through and the failing one waits at the
	// back of the queue instead of blocking every batch.
	e.log.Warn("score_batch_failed", "leads", len(claimed), "err", err)
	for _, d := range claimed {
		if err := e.scoreOne(ctx, d); err != nil && ctx.Err() == nil {
			e.log.Warn("score_lead_failed", "lead_id", d.LeadID, "workspace_id", d.WorkspaceID, "err", err)
			if err := e.cfg.Store.DeferScoreDirty(ctx, d.LeadID, e.now()); err != nil {
				e.log.Warn("score_defer_failed", "lead_id", d.LeadID, "err", err)
			}
		}
	}
	return len(claimed), nil
}

// scoreOne claims and rescores one marked lead in a transaction of its own.
func (e *Engine) scoreOne(ctx context.Context, d store.ScoreDirtyLead) error {
	return e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		ok, err := q.ClaimScoreDirtyLead(ctx, d.LeadID)
		if err != nil || !ok {
			return err
		}
		return e.newScorer(q).rescoreMarked(ctx, d)
	})
}

// runScoreJobs advances recompute jobs, batch after batch, within its
// budget.
func (e *Engine) runScoreJobs(ctx context.Context) error {
	for start := time.Now(); time.Since(start) < jobBudget; {
		worked, err := e.scoreJobBatch(ctx)
		if err != nil || !worked {
			return err
		}
	}
	return nil
}

// scoreJobBatch rescores the next batch of one job's leads, in one
// transaction with the job's progress, and reports whether there was a job
// to work on.
func (e *Engine) scoreJobBatch(ctx context.Context) (bool, error) {
	worked := false
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		job, err := q.ClaimScoreJob(ctx)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		worked = true
		after := uuid.Nil
		if job.LastLeadID != nil {
			after = *job.LastLeadID
		}
		leads, err := q.LockLeadsAfter(ctx, job.WorkspaceID, after, scoreJobBatchSize)
		if err != nil {
			return err
		}
		s := e.newScorer(q)
		s.recompute = true
		for _, l := range leads {
			if _, err := s.rescore(ctx, l); err != nil {
				return err
			}
		}
		var last *uuid.UUID
		if len(leads) > 0 {
			last = &leads[len(leads)-1].ID
		}
		finished := len(leads) < scoreJobBatchSize
		job, err = q.AdvanceScoreJob(ctx, job.WorkspaceID, job.ID, last, len(leads), finished, s.now)
		if err != nil {
			return err
		}
		if finished {
			e.log.Info("score_job_done", "job_id", job.ID, "workspace_id", job.WorkspaceID, "leads", job.Done)
		}
		return nil
	})
	return worked, err
}

// decayScores marks for rescoring, every decayEvery, the non-zero scores
// computed more than decayStaleAfter ago, so that scores fade without new
// events. Marking is idempotent, so several processes sweeping at once only
// repeat each other.
func (e *Engine) decayScores(ctx context.Context) error {
	now := e.now()
	e.scoring.mu.Lock()
	due := e.scoring.lastDecay.IsZero() || !now.Before(e.scoring.lastDecay.Add(decayEvery)) || now.Before(e.scoring.lastDecay)
	if due {
		e.scoring.lastDecay = now
	}
	e.scoring.mu.Unlock()
	if !due {
		return nil
	}
	if _, err := e.cfg.Store.PurgeOrphanScoreDirty(ctx); err != nil {
		return err
	}
	var marked int64
	for start := time.Now(); time.Since(start) < jobBudget; {
		n, err := e.cfg.Store.MarkStaleScoresDirty(ctx, now.Add(-decayStaleAfter), decayBatchSize)
		if err != nil {
			return err
		}
		marked += n
		if n < decayBatchSize {
			break
		}
	}
	if marked > 0 {
		e.log.Debug("scores_marked_for_decay", "leads", marked)
	}
	return nil
}

// scorer rescores leads inside one transaction, loading each workspace's
// rules and active criteria once.
type scorer struct {
	e          *Engine
	q          *store.Queries
	now        time.Time
	workspaces map[uuid.UUID]*workspaceScoring
	// recompute: the scorer walks a recompute job's leads.
	recompute bool
}

// workspaceScoring is what scoring a workspace's leads needs.
type workspaceScoring struct {
	rules    Rules
	criteria *compiledCriteria // nil: no active criteria
	// rulesUpdatedAt is when the rules were last changed.
	rulesUpdatedAt time.Time
}

func (e *Engine) newScorer(q *store.Queries) *scorer {
	return &scorer{e: e, q: q, now: e.now(), workspaces: map[uuid.UUID]*workspaceScoring{}}
}

func (s *scorer) workspace(ctx context.Context, id uuid.UUID) (*workspaceScoring, error) {
	if w, ok := s.workspaces[id]; ok {
		return w, nil
	}
	r, err := s.q.ScoringRulesOf(ctx, id)
	if err != nil {
		return nil, err
	}
	w := &workspaceScoring{rulesUpdatedAt: r.UpdatedAt}
	if w.rules, err = rulesFrom(r); err != nil {
		return nil, fmt.Errorf("workspace %s: %w", id, err)
	}
	c, err := s.q.ActiveCriteria(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		if w.criteria, err = compileCriteria(c); err != nil {
			// Saved criteria compiled when saved; one that no longer does
			// (an upgraded language, a tighter budget) is taken out of
			// service rather than stopping scoring.
			w.criteria = nil
			if err := s.e.deactivateFailed(ctx, c, "no longer compiles: "+firstLine(err), s.now); err != nil {
				return nil, err
			}
		}
	}
	s.workspaces[id] = w
	return w, nil
}

// rescoreMarked rescores a lead claimed from the marks (and locked by the
// claim).
func (s *scorer) rescoreMarked(ctx context.Context, d store.ScoreDirtyLead) error {
	l, err := s.q.GetLead(ctx, d.WorkspaceID, d.LeadID)
	if err != nil {
		return err
	}
	_, err = s.rescore(ctx, l)
	return err
}

// rescore recomputes a locked lead's score and grade from its events and
// its fields, then applies the active criteria. Given the same events,
// fields and clock it writes the same result.
func (s *scorer) rescore(ctx context.Context, l store.Lead) (store.Lead, error) {
	w, err := s.workspace(ctx, l.WorkspaceID)
	if err != nil {
		return l, err
	}
	events, err := s.q.ScoringEvents(ctx, l.WorkspaceID, l.ID)
	if err != nil {
		return l, err
	}
	score := engagementScore(events, w.rules, s.now)
	grade := gradeFor(fitPoints(l, w.rules.FitRules), w.rules.GradeThresholds)
	if l, err = s.q.SetLeadScore(ctx, l.WorkspaceID, l.ID, s.scoreChange(l, events, w, score, grade)); err != nil {
		return l, err
	}
	if w.criteria == nil {
		return l, nil
	}
	out, err := s.e.qualifyByCriteria(ctx, s.q, l, events, w.criteria, s.now)
	if f, ok := errors.AsType[*criteriaFailure](err); ok {
		reason := fmt.Sprintf("failed at run time on lead %s: %s", f.leadID, firstLine(errors.Unwrap(f.err)))
		if err := s.e.deactivateFailed(ctx, f.criteria, reason, s.now); err != nil {
			return l, err
		}
		w.criteria = nil
		return l, nil
	}
	return out, err
}
