package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// StatsEnrollments bounds the enrollments SequenceStepStats reads: the
// sequence's newest ones.
const StatsEnrollments = 100_000

// StepStats is what became of a sequence's step: the leads waiting at it
// and the emails it sent, opened and clicked.
type StepStats struct {
	StepKey string `db:"step_key"`
	Waiting int64  `db:"waiting"`
	Sent    int64  `db:"sent"`
	Opened  int64  `db:"opened"`
	Clicked int64  `db:"clicked"`
}

// SequenceStats are a sequence's step counts, by step key, over its newest
// Enrollments enrollments; Capped says the sequence has more than that,
// so the counts are of the newest ones only.
type SequenceStats struct {
	Steps       map[string]StepStats
	Enrollments int64
	Capped      bool
}

// SequenceStepStats counts, for each step of a sequence, the leads waiting
// at it and its emails sent, opened and clicked, over the sequence's newest
// limit enrollments (StatsEnrollments when limit is 0), so a page showing
// them reads a bounded number of index entries however big the sequence
// grows (enrollments_sequence_recent, then messages_enrollment).
func (q *Queries) SequenceStepStats(ctx context.Context, workspaceID, sequenceID uuid.UUID, limit int) (SequenceStats, error) {
	if limit <= 0 {
		limit = StatsEnrollments
	}
	// Per step: waiting leads and email outcomes over the newest enrollments;
	// the row with step_key NULL carries how many enrollments were read.
	rows, _ := q.db.Query(ctx, `
		WITH recent AS (
			SELECT id, state, step_key FROM enrollments
			WHERE workspace_id = $1 AND sequence_id = $2
			ORDER BY id DESC LIMIT $3
		), waiting AS (
			SELECT step_key, count(*) AS n FROM recent WHERE state = 'active' GROUP BY step_key
		), emails AS (
			SELECT m.step_key, count(m.sent_at) AS sent, count(m.opened_at) AS opened, count(m.clicked_at) AS clicked
			FROM recent r JOIN messages m ON m.enrollment_id = r.id
			GROUP BY m.step_key
		)
		SELECT step_key, coalesce(w.n, 0) AS waiting, coalesce(e.sent, 0) AS sent,
		       coalesce(e.opened, 0) AS opened, coalesce(e.clicked, 0) AS clicked
		FROM waiting w FULL JOIN emails e USING (step_key)
		UNION ALL
		SELECT NULL, count(*), 0, 0, 0 FROM recent`, workspaceID, sequenceID, limit)
	type row struct {
		StepKey *string `db:"step_key"`
		Waiting int64   `db:"waiting"`
		Sent    int64   `db:"sent"`
		Opened  int64   `db:"opened"`
		Clicked int64   `db:"clicked"`
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[row])
	if err != nil {
		return SequenceStats{}, interpret(err, "sequence step stats")
	}
	out := SequenceStats{Steps: map[string]StepStats{}}
	for _, r := range rs {
		if r.StepKey == nil {
			out.Enrollments = r.Waiting
			out.Capped = r.Waiting >= int64(limit)
			continue
		}
		out.Steps[*r.StepKey] = StepStats{StepKey: *r.StepKey, Waiting: r.Waiting, Sent: r.Sent, Opened: r.Opened, Clicked: r.Clicked}
	}
	return out, nil
}
