package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// What happened at a step of an enrollment, as recorded in enrollment_steps
// by the nurture engine (StepOutcomeExited is conversion's too).
const (
	// StepOutcomeEnrolled: the lead entered the sequence (detail: by).
	StepOutcomeEnrolled = "enrolled"
	// StepOutcomeEmailQueued: the step's email was created (detail:
	// message_id); sending it is the message's own story.
	StepOutcomeEmailQueued = "email_queued"
	// StepOutcomeEmailSkipped: the step had no template to send (detail:
	// why).
	StepOutcomeEmailSkipped = "email_skipped"
	// StepOutcomeHeld: the step's email waits for the send window to open
	// (detail: until).
	StepOutcomeHeld = "held_for_window"
	// StepOutcomeWaiting: a wait step started (detail: until).
	StepOutcomeWaiting = "waiting"
	// StepOutcomeCondition: a condition was evaluated (detail: result, goto).
	StepOutcomeCondition = "condition"
	// StepOutcomeCompleted: the sequence ended for the lead (an exit step, a
	// condition going to exit, or the last step done).
	StepOutcomeCompleted = "completed"
)

// enrollmentRowColumns lists Enrollment's columns in struct order.
const enrollmentRowColumns = `id, workspace_id, sequence_id, lead_id, state, step_key, next_run_at,
	enqueued_at, exit_reason, enrolled_by, created_at, updated_at`

// InsertEnrollment enrolls a lead, active at e.StepKey and due at
// e.NextRunAt; a zero ID is filled in. A lead already active in the sequence
// is ErrConflict (the enrollments_one_active index decides, so concurrent
// enrolments make one).
func (q *Queries) InsertEnrollment(ctx context.Context, e Enrollment) (Enrollment, error) {
	if e.ID == uuid.Nil {
		e.ID = NewID()
	}
	at := timeOrNow(e.CreatedAt)
	rows, _ := q.db.Query(ctx, `
		INSERT INTO enrollments (id, workspace_id, sequence_id, lead_id, state, step_key, next_run_at,
			enrolled_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $8)
		ON CONFLICT (sequence_id, lead_id) WHERE state = 'active' DO NOTHING
		RETURNING `+enrollmentRowColumns,
		e.ID, e.WorkspaceID, e.SequenceID, e.LeadID, e.StepKey, e.NextRunAt, e.EnrolledBy, at)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Enrollment])
	if errors.Is(err, pgx.ErrNoRows) {
		return Enrollment{}, fmt.Errorf("insert enrollment: lead already active in the sequence: %w", ErrConflict)
	}
	return out, interpret(err, "insert enrollment")
}

// GetEnrollment returns an enrollment of the workspace.
func (q *Queries) GetEnrollment(ctx context.Context, workspaceID, id uuid.UUID) (Enrollment, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+enrollmentRowColumns+` FROM enrollments
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	e, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Enrollment])
	return e, interpret(err, "get enrollment")
}

// InsertEnrollmentSteps appends what happened at steps of enrollments, in
// order, in one round trip. A zero At is the database's clock.
func (q *Queries) InsertEnrollmentSteps(ctx context.Context, steps ...EnrollmentStep) error {
	if len(steps) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, s := range steps {
		var at any
		if !s.At.IsZero() {
			at = s.At
		}
		detail := s.Detail
		if detail == nil {
			detail = map[string]any{}
		}
		b.Queue(`
			INSERT INTO enrollment_steps (enrollment_id, step_key, outcome, detail, at)
			VALUES ($1, $2, $3, $4, COALESCE($5, now()))`,
			s.EnrollmentID, s.StepKey, s.Outcome, detail, at)
	}
	return interpret(q.db.SendBatch(ctx, b).Close(), "insert enrollment steps")
}

// EnrollmentStepContext is what running an enrollment's step reads: the
// enrollment, its sequence, its lead, and the suppression reason of the
// lead's address ("" when it may be emailed).
type EnrollmentStepContext struct {
	Enrollment Enrollment
	Sequence   Sequence
	Lead       Lead
	Suppressed string
}

// LockEnrollmentStepContext locks an enrollment of the workspace while its
// step runs (so two runs of one step happen one after the other) and reads
// what the run needs, in one round trip: the statements of a batch run in
// order, so the lock is held before the rest is read.
func (q *Queries) LockEnrollmentStepContext(ctx context.Context, workspaceID, id uuid.UUID) (EnrollmentStepContext, error) {
	var out EnrollmentStepContext
	b := &pgx.Batch{}
	b.Queue(`SELECT `+enrollmentRowColumns+` FROM enrollments
		WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, workspaceID, id).
		Query(func(rows pgx.Rows) (err error) {
			out.Enrollment, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Enrollment])
			return interpret(err, "lock enrollment")
		})
	b.Queue(`SELECT `+sequenceColumns+` FROM sequences
		WHERE workspace_id = $1 AND id = (SELECT sequence_id FROM enrollments WHERE workspace_id = $1 AND id = $2)`,
		workspaceID, id).
		Query(func(rows pgx.Rows) (err error) {
			out.Sequence, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Sequence])
			return interpret(err, "enrollment's sequence")
		})
	b.Queue(`SELECT `+leadColumns+` FROM leads
		WHERE workspace_id = $1 AND id = (SELECT lead_id FROM enrollments WHERE workspace_id = $1 AND id = $2)`,
		workspaceID, id).
		Query(func(rows pgx.Rows) (err error) {
			out.Lead, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Lead])
			return interpret(err, "enrollment's lead")
		})
	b.Queue(`SELECT COALESCE((SELECT '`+SuppressErased+`' FROM leads l
		JOIN enrollments e ON e.workspace_id = l.workspace_id AND e.lead_id = l.id
		WHERE e.workspace_id = $1 AND e.id = $2 AND `+erasedLeadSQL+`), (SELECT s.reason FROM suppressions s
		JOIN leads l ON l.workspace_id = s.workspace_id AND l.email_canonical = s.email_canonical
		JOIN enrollments e ON e.workspace_id = l.workspace_id AND e.lead_id = l.id
		WHERE e.workspace_id = $1 AND e.id = $2 AND l.email_canonical <> ''), '')`, workspaceID, id).
		QueryRow(func(row pgx.Row) error {
			return interpret(row.Scan(&out.Suppressed), "enrollment's suppression")
		})
	err := q.db.SendBatch(ctx, b).Close()
	return out, err
}

// EnrollmentRun is where a run of an enrollment's steps leaves it: still
// active, at StepKey due at NextRunAt; or completed or exited (with
// ExitReason). Steps are what happened on the way.
type EnrollmentRun struct {
	State      string
	StepKey    string
	NextRunAt  time.Time
	ExitReason string
	At         time.Time
	Steps      []EnrollmentStep
}

// SaveEnrollmentRun writes a run's outcome to an active enrollment, and its
// history, in one round trip. An active enrollment is released from the
// queue's lease, so the scheduler puts it there again when it is due, and
// its step's run of failures ends; an ended one leaves the schedule for
// good.
func (q *Queries) SaveEnrollmentRun(ctx context.Context, workspaceID, id uuid.UUID, r EnrollmentRun) error {
	b := &pgx.Batch{}
	if r.State == EnrollmentActive {
		b.Queue(`
			UPDATE enrollments SET step_key = $3, next_run_at = $4, enqueued_at = NULL, updated_at = $5,
				attempts = 0, last_error = ''
			WHERE workspace_id = $1 AND id = $2 AND state = 'active'`,
			workspaceID, id, r.StepKey, r.NextRunAt, r.At).
			Exec(func(tag pgconn.CommandTag) error { return oneRow(tag, "schedule enrollment") })
	} else {
		b.Queue(`
			UPDATE enrollments SET state = $3, exit_reason = $4, step_key = '', next_run_at = NULL,
				enqueued_at = NULL, updated_at = $5, attempts = 0, last_error = ''
			WHERE workspace_id = $1 AND id = $2 AND state = 'active'`,
			workspaceID, id, r.State, r.ExitReason, r.At).
			Exec(func(tag pgconn.CommandTag) error { return oneRow(tag, "end enrollment") })
	}
	for _, s := range r.Steps {
		detail := s.Detail
		if detail == nil {
			detail = map[string]any{}
		}
		b.Queue(`INSERT INTO enrollment_steps (enrollment_id, step_key, outcome, detail, at) VALUES ($1, $2, $3, $4, $5)`,
			id, s.StepKey, s.Outcome, detail, timeOrNow(s.At))
	}
	return interpret(q.db.SendBatch(ctx, b).Close(), "save enrollment run")
}

// oneRow makes an update that matched no row ErrNotFound.
func oneRow(tag pgconn.CommandTag, what string) error {
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

// DueEnrollment is an enrollment step the scheduler put on the queue.
type DueEnrollment struct {
	ID          uuid.UUID `db:"id"`
	WorkspaceID uuid.UUID `db:"workspace_id"`
	StepKey     string    `db:"step_key"`
}

// ClaimDueEnrollments takes up to limit active enrollments of active
// sequences, in every workspace, that are due by now and not on the queue
// (never put there, or put there before leaseCutoff and so presumed lost),
// and marks them put there now. SKIP LOCKED lets several schedulers share
// the work, and rows a step task holds are left to it. It walks active
// sequences and, in each, two index ranges that hold only claimable rows:
// due ones never put on the queue (enrollments_due_new) and those whose
// lease ran out (enrollments_due_lease). So the enrollments of a paused
// sequence, and those on the queue right now, are never read; a resumed
// sequence's due rows are claimed at the next round.
func (q *Queries) ClaimDueEnrollments(ctx context.Context, now, leaseCutoff time.Time, limit int) ([]DueEnrollment, error) {
	rows, _ := q.db.Query(ctx, `
		WITH candidates AS (
			SELECT c.id, c.next_run_at FROM sequences s
			CROSS JOIN LATERAL (
				(SELECT e.id, e.next_run_at FROM enrollments e
				 WHERE e.sequence_id = s.id AND e.workspace_id = s.workspace_id
				   AND e.state = 'active' AND e.enqueued_at IS NULL AND e.next_run_at <= $1
				 ORDER BY e.next_run_at
				 LIMIT $3)
				UNION ALL
				(SELECT e.id, e.next_run_at FROM enrollments e
				 WHERE e.sequence_id = s.id AND e.workspace_id = s.workspace_id
				   AND e.state = 'active' AND e.enqueued_at < $2 AND e.next_run_at <= $1
				 ORDER BY e.enqueued_at
				 LIMIT $3)
			) c
			WHERE s.status = 'active'
		), due AS (
			-- By primary key only: a condition on state here lets the planner
			-- read a due index again, past every enrollment on the queue. The
			-- update below checks the locked rows.
			SELECT e.id FROM enrollments e JOIN candidates c ON c.id = e.id
			ORDER BY c.next_run_at
			LIMIT $3
			FOR UPDATE OF e SKIP LOCKED
		)
		UPDATE enrollments e SET enqueued_at = $1
		FROM due WHERE e.id = due.id
		  AND e.state = 'active' AND e.next_run_at <= $1 AND (e.enqueued_at IS NULL OR e.enqueued_at < $2)
		RETURNING e.id, e.workspace_id, e.step_key`,
		now, leaseCutoff, limit)
	ds, err := pgx.CollectRows(rows, pgx.RowToStructByName[DueEnrollment])
	return ds, interpret(err, "claim due enrollments")
}

// ExitEnrollmentsForEmail takes every lead of the workspace with this
// canonical email (merged ones too) out of every sequence it is active in,
// recording the exit as a step of each enrollment. It returns how many it
// ended.
func (q *Queries) ExitEnrollmentsForEmail(ctx context.Context, workspaceID uuid.UUID, emailCanonical, reason string, at time.Time) (int64, error) {
	tag, err := q.db.Exec(ctx, `
		WITH active AS (
			SELECT e.id, e.step_key FROM enrollments e
			JOIN leads l ON l.workspace_id = e.workspace_id AND l.id = e.lead_id
			WHERE e.workspace_id = $1 AND l.email_canonical = $2 AND e.state = 'active'
			FOR UPDATE OF e
		), ended AS (
			UPDATE enrollments e
			SET state = 'exited', exit_reason = $3, step_key = '', next_run_at = NULL,
				enqueued_at = NULL, updated_at = $4
			FROM active WHERE e.id = active.id
			RETURNING e.id
		)
		INSERT INTO enrollment_steps (enrollment_id, step_key, outcome, detail, at)
		SELECT active.id, active.step_key, 'exited', jsonb_build_object('reason', $3::text), $4
		FROM active JOIN ended ON ended.id = active.id`,
		workspaceID, emailCanonical, reason, timeOrNow(at))
	return tag.RowsAffected(), interpret(err, "exit enrollments for email")
}

// MarkLeadNurturing moves a lead of the workspace from new to nurturing and
// reports whether it moved; a lead in any other status is left alone.
func (q *Queries) MarkLeadNurturing(ctx context.Context, workspaceID, leadID uuid.UUID, at time.Time) (bool, error) {
	tag, err := q.db.Exec(ctx, `
		UPDATE leads SET status = 'nurturing', updated_at = $3
		WHERE workspace_id = $1 AND id = $2 AND status = 'new'`,
		workspaceID, leadID, timeOrNow(at))
	return tag.RowsAffected() == 1, interpret(err, "mark lead nurturing")
}
