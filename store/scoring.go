package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Score job statuses.
const (
	ScoreJobRunning = "running"
	ScoreJobDone    = "done"
)

// ScoreDirtyLead is a lead claimed for rescoring.
type ScoreDirtyLead struct {
	LeadID      uuid.UUID `db:"lead_id"`
	WorkspaceID uuid.UUID `db:"workspace_id"`
}

// scoringRulesColumns lists ScoringRules' columns in struct order.
const scoringRulesColumns = `workspace_id, points, fit_rules, grade_thresholds, half_life_seconds, updated_at`

// scoreJobColumns lists ScoreJob's columns in struct order.
const scoreJobColumns = `id, workspace_id, status, total, done, last_lead_id, created_at, finished_at`

// ScoringRulesOf returns the workspace's scoring rules. A workspace without
// its own row gets one with the schema's defaults, so the defaults are
// written in one place only.
func (q *Queries) ScoringRulesOf(ctx context.Context, workspaceID uuid.UUID) (ScoringRules, error) {
	// A concurrent first insert can commit after this statement's snapshot
	// was taken, leaving it nothing to see: the second try sees that row.
	for range 2 {
		rows, _ := q.db.Query(ctx, `
			WITH ins AS (
				INSERT INTO scoring_rules (workspace_id) VALUES ($1)
				ON CONFLICT (workspace_id) DO NOTHING
				RETURNING `+scoringRulesColumns+`)
			SELECT * FROM ins
			UNION ALL
			SELECT `+scoringRulesColumns+` FROM scoring_rules WHERE workspace_id = $1
			LIMIT 1`, workspaceID)
		r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[ScoringRules])
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		return r, interpret(err, "scoring rules")
	}
	return ScoringRules{}, interpret(pgx.ErrNoRows, "scoring rules")
}

// PutScoringRules replaces the workspace's scoring rules.
func (q *Queries) PutScoringRules(ctx context.Context, r ScoringRules) (ScoringRules, error) {
	rows, _ := q.db.Query(ctx, `
		INSERT INTO scoring_rules (workspace_id, points, fit_rules, grade_thresholds, half_life_seconds, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (workspace_id) DO UPDATE SET points = EXCLUDED.points, fit_rules = EXCLUDED.fit_rules,
			grade_thresholds = EXCLUDED.grade_thresholds, half_life_seconds = EXCLUDED.half_life_seconds,
			updated_at = EXCLUDED.updated_at
		RETURNING `+scoringRulesColumns,
		r.WorkspaceID, r.Points, r.FitRules, r.GradeThresholds, r.HalfLifeSeconds, timeOrNow(r.UpdatedAt))
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[ScoringRules])
	return out, interpret(err, "put scoring rules")
}

// ClaimScoreDirty takes up to limit leads marked for rescoring off the
// queue, oldest mark first, and locks their lead rows until the transaction
// ends. Marks and leads locked by someone else are skipped, not waited for:
// a resolver holding a lead while it records an event (which marks the lead
// again) can never deadlock with the scorer. Run it inside a transaction, so
// a failed rescoring leaves the mark in place. It spans workspaces: it is
// the scoring worker's queue.
func (q *Queries) ClaimScoreDirty(ctx context.Context, limit int) ([]ScoreDirtyLead, error) {
	rows, _ := q.db.Query(ctx, `
		DELETE FROM score_dirty WHERE lead_id IN (
			SELECT d.lead_id FROM score_dirty d
			JOIN leads l ON l.id = d.lead_id AND l.workspace_id = d.workspace_id
			ORDER BY d.since LIMIT $1
			FOR UPDATE OF d, l SKIP LOCKED)
		RETURNING lead_id, workspace_id`, max(limit, 1))
	ds, err := pgx.CollectRows(rows, pgx.RowToStructByName[ScoreDirtyLead])
	return ds, interpret(err, "claim score dirty")
}

// ClaimScoreDirtyLead is ClaimScoreDirty for one lead: false when the lead
// is not marked or someone else holds it.
func (q *Queries) ClaimScoreDirtyLead(ctx context.Context, leadID uuid.UUID) (bool, error) {
	tag, err := q.db.Exec(ctx, `
		DELETE FROM score_dirty WHERE lead_id IN (
			SELECT d.lead_id FROM score_dirty d
			JOIN leads l ON l.id = d.lead_id AND l.workspace_id = d.workspace_id
			WHERE d.lead_id = $1
			FOR UPDATE OF d, l SKIP LOCKED)`, leadID)
	return tag.RowsAffected() == 1, interpret(err, "claim score dirty lead")
}

// DeferScoreDirty moves a lead's mark to the back of the queue, so a lead
// whose rescoring keeps failing does not hold up the others.
func (q *Queries) DeferScoreDirty(ctx context.Context, leadID uuid.UUID, at time.Time) error {
	_, err := q.db.Exec(ctx, `UPDATE score_dirty SET since = $2 WHERE lead_id = $1`, leadID, timeOrNow(at))
	return interpret(err, "defer score dirty")
}

// MarkStaleScoresDirty marks for rescoring up to limit leads whose non-zero
// score was computed before before and that are not marked already, so
// scores fade without new events. It spans workspaces (the decay job's
// sweep) and reports how many it marked.
func (q *Queries) MarkStaleScoresDirty(ctx context.Context, before time.Time, limit int) (int64, error) {
	tag, err := q.db.Exec(ctx, `
		INSERT INTO score_dirty (lead_id, workspace_id, since)
		SELECT l.id, l.workspace_id, now() FROM leads l
		WHERE l.score <> 0 AND l.scored_at < $1 AND l.merged_into IS NULL
		  AND NOT EXISTS (SELECT 1 FROM score_dirty d WHERE d.lead_id = l.id)
		ORDER BY l.scored_at LIMIT $2
		ON CONFLICT (lead_id) DO NOTHING`, before, max(limit, 1))
	return tag.RowsAffected(), interpret(err, "mark stale scores dirty")
}

// PurgeOrphanScoreDirty drops marks of leads that no longer exist (their
// workspace was deleted), which ClaimScoreDirty would never take.
func (q *Queries) PurgeOrphanScoreDirty(ctx context.Context) (int64, error) {
	tag, err := q.db.Exec(ctx, `
		DELETE FROM score_dirty d WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = d.lead_id)`)
	return tag.RowsAffected(), interpret(err, "purge orphan score dirty")
}

// ScoringEvents returns every engagement event of a lead, the input of its
// score.
func (q *Queries) ScoringEvents(ctx context.Context, workspaceID, leadID uuid.UUID) ([]EngagementEvent, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT id, workspace_id, lead_id, kind, source_id, occurred_at, detail FROM engagement_events
		WHERE workspace_id = $1 AND lead_id = $2 ORDER BY occurred_at, id`, workspaceID, leadID)
	es, err := pgx.CollectRows(rows, pgx.RowToStructByName[EngagementEvent])
	return es, interpret(err, "scoring events")
}

// What moved a lead's score or grade (ScoreChange.Cause).
const (
	// ScoreCauseEngagement: an engagement event (ScoreChange.EventKind).
	ScoreCauseEngagement = "engagement"
	// ScoreCauseFit: a change of the fields the fit rules read.
	ScoreCauseFit = "fit"
	// ScoreCauseRules: a change of the workspace's scoring rules.
	ScoreCauseRules = "rules"
	// ScoreCauseDecay: time, the engagement's points fading.
	ScoreCauseDecay = "decay"
	// ScoreCauseRecompute: a recompute of every lead of the workspace.
	ScoreCauseRecompute = "recompute"
)

// ScoreChange is a lead's newly computed score and grade, and what moved
// them.
type ScoreChange struct {
	Score int
	Grade string
	At    time.Time
	// Cause is one of the ScoreCause constants; EventKind the engagement
	// kind when it is ScoreCauseEngagement.
	Cause, EventKind string
	// MinDecay bounds the history decay leaves: a change by decay that
	// keeps the grade is recorded only once the score is MinDecay points or
	// more away from the lead's latest recorded score, or has reached 0.
	MinDecay int
}

// SetLeadScore writes a lead's computed score and grade and, in the same
// statement, a row of its score history when either changed (a decay
// change only past c.MinDecay). It touches neither the columns whose change
// marks a lead for rescoring nor updated_at (a score is derived, not an
// edit of the lead). A decay row's old score is the latest recorded one, so
// the row sums up the fade since.
func (q *Queries) SetLeadScore(ctx context.Context, workspaceID, leadID uuid.UUID, c ScoreChange) (Lead, error) {
	rows, _ := q.db.Query(ctx, `
		WITH prev AS (
			SELECT id, score, grade FROM leads WHERE workspace_id = $1 AND id = $2 FOR UPDATE
		), up AS (
			UPDATE leads l SET score = $3, grade = $4, scored_at = $5
			FROM prev WHERE l.id = prev.id
			RETURNING l.*, prev.score AS old_score, prev.grade AS old_grade
		), recorded AS (
			SELECT h.score FROM lead_score_history h WHERE h.workspace_id = $1 AND h.lead_id = $2
			ORDER BY h.at DESC, h.id DESC LIMIT 1
		), hist AS (
			INSERT INTO lead_score_history (workspace_id, lead_id, at, score, grade, old_score, old_grade, cause, event_kind)
			SELECT $1, $2, $5, up.score, up.grade,
			       CASE WHEN $6 = 'decay' THEN coalesce((SELECT score FROM recorded), up.old_score) ELSE up.old_score END,
			       up.old_grade, $6, $7
			FROM up
			WHERE (up.score <> up.old_score OR up.grade <> up.old_grade)
			  AND ($6 <> 'decay' OR up.grade <> up.old_grade OR up.score = 0
			       OR abs(coalesce((SELECT score FROM recorded), up.old_score) - up.score) >= $8)
		)
		SELECT `+leadColumns+` FROM up`,
		workspaceID, leadID, c.Score, c.Grade, timeOrNow(c.At), c.Cause, c.EventKind, max(c.MinDecay, 1))
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
	return l, interpret(err, "set lead score")
}

// InsertScoreJob starts a recompute of every live lead of the workspace;
// its total is their number now.
func (q *Queries) InsertScoreJob(ctx context.Context, workspaceID uuid.UUID, at time.Time) (ScoreJob, error) {
	rows, _ := q.db.Query(ctx, `
		INSERT INTO score_jobs (id, workspace_id, total, created_at)
		SELECT $1, $2, count(*), $3 FROM leads WHERE workspace_id = $2 AND merged_into IS NULL
		RETURNING `+scoreJobColumns, NewID(), workspaceID, timeOrNow(at))
	j, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[ScoreJob])
	return j, interpret(err, "insert score job")
}

// GetScoreJob returns a score job of the workspace.
func (q *Queries) GetScoreJob(ctx context.Context, workspaceID, id uuid.UUID) (ScoreJob, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+scoreJobColumns+` FROM score_jobs WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id)
	j, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[ScoreJob])
	return j, interpret(err, "get score job")
}

// ClaimScoreJob locks the oldest running score job nobody else is working
// on, across workspaces; ErrNotFound when there is none.
func (q *Queries) ClaimScoreJob(ctx context.Context) (ScoreJob, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT `+scoreJobColumns+` FROM score_jobs WHERE status = 'running'
		ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`)
	j, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[ScoreJob])
	return j, interpret(err, "claim score job")
}

// LockLeadsAfter locks the workspace's next live leads after the given ID,
// in ID order (keyset paging that new leads cannot upset).
func (q *Queries) LockLeadsAfter(ctx context.Context, workspaceID, after uuid.UUID, limit int) ([]Lead, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT `+leadColumns+` FROM leads
		WHERE workspace_id = $1 AND id > $2 AND merged_into IS NULL
		ORDER BY id LIMIT $3 FOR UPDATE`, workspaceID, after, max(limit, 1))
	ls, err := pgx.CollectRows(rows, pgx.RowToStructByName[Lead])
	return ls, interpret(err, "lock leads after")
}

// AdvanceScoreJob records n more leads recomputed up to lastLeadID; a
// finished job is done, its total the number it walked.
func (q *Queries) AdvanceScoreJob(ctx context.Context, workspaceID, id uuid.UUID, lastLeadID *uuid.UUID, n int, finished bool, at time.Time) (ScoreJob, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE score_jobs SET done = done + $3, last_lead_id = COALESCE($4, last_lead_id),
			status = CASE WHEN $5 THEN 'done' ELSE status END,
			total = CASE WHEN $5 THEN done + $3 ELSE total END,
			finished_at = CASE WHEN $5 THEN $6::timestamptz END
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+scoreJobColumns, workspaceID, id, n, lastLeadID, finished, timeOrNow(at))
	j, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[ScoreJob])
	return j, interpret(err, "advance score job")
}
