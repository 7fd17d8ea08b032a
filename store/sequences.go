package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// sequenceColumns lists Sequence's columns in struct order.
const sequenceColumns = `id, workspace_id, name, status, timezone, send_window, exit_criteria,
	trigger_form_ids, steps, version, created_at, updated_at`

// InsertSequence stores a new sequence as a draft; a zero ID is filled in.
func (q *Queries) InsertSequence(ctx context.Context, s Sequence) (Sequence, error) {
	if s.ID == uuid.Nil {
		s.ID = NewID()
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO sequences (id, workspace_id, name, timezone, send_window, exit_criteria,
			trigger_form_ids, steps)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING `+sequenceColumns,
		s.ID, s.WorkspaceID, s.Name, s.Timezone, orEmptyJSON(s.SendWindow, "{}"), orEmptyStrings(s.ExitCriteria),
		orEmptyIDs(s.TriggerFormIDs), orEmptyJSON(s.Steps, "[]"))
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Sequence])
	return out, interpret(err, "insert sequence")
}

// GetSequence returns a sequence of the workspace.
func (q *Queries) GetSequence(ctx context.Context, workspaceID, id uuid.UUID) (Sequence, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+sequenceColumns+` FROM sequences WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id)
	s, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Sequence])
	return s, interpret(err, "get sequence")
}

// LockSequence returns a sequence of the workspace and locks it until the
// transaction ends, so that two edits, or an edit and a status change,
// happen one after the other.
func (q *Queries) LockSequence(ctx context.Context, workspaceID, id uuid.UUID) (Sequence, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+sequenceColumns+` FROM sequences WHERE workspace_id = $1 AND id = $2 FOR UPDATE`,
		workspaceID, id)
	s, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Sequence])
	return s, interpret(err, "lock sequence")
}

// ListSequences pages through the workspace's sequences, newest first.
func (q *Queries) ListSequences(ctx context.Context, workspaceID uuid.UUID, p Page) ([]Sequence, error) {
	w := newListQuery(workspaceID)
	rows, _ := q.db.Query(ctx, `SELECT `+sequenceColumns+` FROM sequences`+w.page(p), w.args...)
	ss, err := pgx.CollectRows(rows, pgx.RowToStructByName[Sequence])
	return ss, interpret(err, "list sequences")
}

// UpdateSequence overwrites a sequence's configuration and version; its
// status changes only through SetSequenceStatus.
func (q *Queries) UpdateSequence(ctx context.Context, s Sequence) (Sequence, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE sequences SET name = $3, timezone = $4, send_window = $5, exit_criteria = $6,
			trigger_form_ids = $7, steps = $8, version = $9, updated_at = now()
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+sequenceColumns,
		s.WorkspaceID, s.ID, s.Name, s.Timezone, orEmptyJSON(s.SendWindow, "{}"), orEmptyStrings(s.ExitCriteria),
		orEmptyIDs(s.TriggerFormIDs), orEmptyJSON(s.Steps, "[]"), s.Version)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Sequence])
	return out, interpret(err, "update sequence")
}

// SetSequenceStatus makes a sequence draft, active or paused.
func (q *Queries) SetSequenceStatus(ctx context.Context, workspaceID, id uuid.UUID, status string) (Sequence, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE sequences SET status = $3, updated_at = now()
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+sequenceColumns, workspaceID, id, status)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Sequence])
	return out, interpret(err, "set sequence status")
}

// ActiveSequencesForForm returns the workspace's active sequences that a
// response on the form enrolls its lead in (through the sequences_triggers
// GIN index).
func (q *Queries) ActiveSequencesForForm(ctx context.Context, workspaceID, formID uuid.UUID) ([]Sequence, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT `+sequenceColumns+` FROM sequences
		WHERE workspace_id = $1 AND status = 'active' AND trigger_form_ids @> ARRAY[$2::uuid]
		ORDER BY id`, workspaceID, formID)
	ss, err := pgx.CollectRows(rows, pgx.RowToStructByName[Sequence])
	return ss, interpret(err, "active sequences for form")
}

// CountActiveSequences counts the workspace's active sequences, which need
// the settings every marketing email carries.
func (q *Queries) CountActiveSequences(ctx context.Context, workspaceID uuid.UUID) (int, error) {
	var n int
	err := q.db.QueryRow(ctx, `SELECT count(*) FROM sequences WHERE workspace_id = $1 AND status = 'active'`,
		workspaceID).Scan(&n)
	return n, interpret(err, "count active sequences")
}

// ActiveEnrollmentsAtSteps counts, for each of keys, the sequence's active
// enrollments waiting at that step: a step cannot be removed while leads
// wait at it.
func (q *Queries) ActiveEnrollmentsAtSteps(ctx context.Context, workspaceID, sequenceID uuid.UUID, keys []string) (map[string]int, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT step_key, count(*) FROM enrollments
		WHERE workspace_id = $1 AND sequence_id = $2 AND state = 'active' AND step_key = ANY($3)
		GROUP BY step_key`, workspaceID, sequenceID, keys)
	type count struct {
		Key string `db:"step_key"`
		N   int    `db:"count"`
	}
	cs, err := pgx.CollectRows(rows, pgx.RowToStructByName[count])
	if err != nil {
		return nil, interpret(err, "active enrollments at steps")
	}
	out := make(map[string]int, len(cs))
	for _, c := range cs {
		out[c.Key] = c.N
	}
	return out, nil
}

// UsedStepKeys returns every step key the sequence's enrollments have been
// at, recorded history of or sent a message for: a new step must not take
// one of them, or a lead's old message would pass for the new step's.
func (q *Queries) UsedStepKeys(ctx context.Context, workspaceID, sequenceID uuid.UUID) ([]string, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT e.step_key FROM enrollments e
		WHERE e.workspace_id = $1 AND e.sequence_id = $2 AND e.step_key <> ''
		UNION
		SELECT s.step_key FROM enrollment_steps s
		JOIN enrollments e ON e.id = s.enrollment_id
		WHERE e.workspace_id = $1 AND e.sequence_id = $2
		UNION
		SELECT m.step_key FROM messages m
		JOIN enrollments e ON e.workspace_id = m.workspace_id AND e.id = m.enrollment_id
		WHERE e.workspace_id = $1 AND e.sequence_id = $2 AND m.step_key <> ''`,
		workspaceID, sequenceID)
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return keys, interpret(err, "used step keys")
}

// FormIDsByKeys maps those of keys that are forms of the workspace to
// their IDs, for sequences triggered by form keys.
func (q *Queries) FormIDsByKeys(ctx context.Context, workspaceID uuid.UUID, keys []string) (map[string]uuid.UUID, error) {
	rows, _ := q.db.Query(ctx, `SELECT key, id FROM forms WHERE workspace_id = $1 AND key = ANY($2)`,
		workspaceID, keys)
	type form struct {
		Key string    `db:"key"`
		ID  uuid.UUID `db:"id"`
	}
	fs, err := pgx.CollectRows(rows, pgx.RowToStructByName[form])
	if err != nil {
		return nil, interpret(err, "form ids by keys")
	}
	out := make(map[string]uuid.UUID, len(fs))
	for _, f := range fs {
		out[f.Key] = f.ID
	}
	return out, nil
}

// FormKeysByIDs maps those of ids that are forms of the workspace to their
// keys, to show a sequence's triggers by key.
func (q *Queries) FormKeysByIDs(ctx context.Context, workspaceID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	rows, _ := q.db.Query(ctx, `SELECT key, id FROM forms WHERE workspace_id = $1 AND id = ANY($2)`,
		workspaceID, ids)
	type form struct {
		Key string    `db:"key"`
		ID  uuid.UUID `db:"id"`
	}
	fs, err := pgx.CollectRows(rows, pgx.RowToStructByName[form])
	if err != nil {
		return nil, interpret(err, "form keys by ids")
	}
	out := make(map[uuid.UUID]string, len(fs))
	for _, f := range fs {
		out[f.ID] = f.Key
	}
	return out, nil
}

// LeadEnrollment is one of a lead's enrollments with what the listing shows
// of its sequence.
type LeadEnrollment struct {
	Enrollment
	SequenceName  string          `db:"sequence_name"`
	SequenceSteps json.RawMessage `db:"sequence_steps"`
}

// LeadEnrollments returns a lead's enrollments, newest first, each with its
// sequence's name and current steps.
func (q *Queries) LeadEnrollments(ctx context.Context, workspaceID, leadID uuid.UUID) ([]LeadEnrollment, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT e.id, e.workspace_id, e.sequence_id, e.lead_id, e.state, e.step_key, e.next_run_at,
			e.enqueued_at, e.exit_reason, e.enrolled_by, e.created_at, e.updated_at,
			s.name AS sequence_name, s.steps AS sequence_steps
		FROM enrollments e
		JOIN sequences s ON s.workspace_id = e.workspace_id AND s.id = e.sequence_id
		WHERE e.workspace_id = $1 AND e.lead_id = $2
		ORDER BY e.id DESC`, workspaceID, leadID)
	es, err := pgx.CollectRows(rows, pgx.RowToStructByName[LeadEnrollment])
	return es, interpret(err, "lead enrollments")
}

// EnrollmentStepHistory returns what happened at the steps of all a lead's
// enrollments, oldest first.
func (q *Queries) EnrollmentStepHistory(ctx context.Context, workspaceID, leadID uuid.UUID) ([]EnrollmentStep, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT s.id, s.enrollment_id, s.step_key, s.outcome, s.detail, s.at
		FROM enrollment_steps s
		JOIN enrollments e ON e.id = s.enrollment_id
		WHERE e.workspace_id = $1 AND e.lead_id = $2
		ORDER BY s.id`, workspaceID, leadID)
	ss, err := pgx.CollectRows(rows, pgx.RowToStructByName[EnrollmentStep])
	return ss, interpret(err, "enrollment step history")
}

// EnrollmentMessage is what a lead's enrollment listing shows of one
// message sent at a step.
type EnrollmentMessage struct {
	ID           uuid.UUID  `db:"id"`
	EnrollmentID uuid.UUID  `db:"enrollment_id"`
	StepKey      string     `db:"step_key"`
	Status       string     `db:"status"`
	SentAt       *time.Time `db:"sent_at"`
	OpenedAt     *time.Time `db:"opened_at"`
	ClickedAt    *time.Time `db:"clicked_at"`
}

// EnrollmentMessages returns the messages the lead's enrollments sent (or
// will send), oldest first.
func (q *Queries) EnrollmentMessages(ctx context.Context, workspaceID, leadID uuid.UUID) ([]EnrollmentMessage, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT id, enrollment_id, step_key, status, sent_at, opened_at, clicked_at
		FROM messages
		WHERE workspace_id = $1 AND lead_id = $2 AND enrollment_id IS NOT NULL
		ORDER BY created_at, id`, workspaceID, leadID)
	ms, err := pgx.CollectRows(rows, pgx.RowToStructByName[EnrollmentMessage])
	return ms, interpret(err, "enrollment messages")
}

// orEmptyJSON keeps a nil JSON value from being stored as NULL.
func orEmptyJSON(v json.RawMessage, empty string) json.RawMessage {
	if len(v) == 0 {
		return json.RawMessage(empty)
	}
	return v
}

// orEmptyIDs keeps a nil slice from being stored as NULL in a NOT NULL array.
func orEmptyIDs(ids []uuid.UUID) []uuid.UUID {
	if ids == nil {
		return []uuid.UUID{}
	}
	return ids
}
