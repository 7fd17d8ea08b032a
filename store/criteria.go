package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// criteriaColumns lists Criteria's columns in struct order.
const criteriaColumns = `id, workspace_id, name, version, expression, description, agreed_by_marketing,
	agreed_by_sales, active, created_at, activated_at, deactivated_at, deactivated_reason`

// CriteriaFilter narrows a list of criteria; zero fields do not filter.
type CriteriaFilter struct {
	Name string
	Page
}

// InsertCriteriaVersion stores c as the next version of its name in the
// workspace (1 for a new name), inactive. Two versions of one name saved at
// the same moment: one of them is ErrConflict.
func (q *Queries) InsertCriteriaVersion(ctx context.Context, c Criteria) (Criteria, error) {
	if c.ID == uuid.Nil {
		c.ID = NewID()
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO criteria (id, workspace_id, name, version, expression, description,
			agreed_by_marketing, agreed_by_sales, created_at)
		SELECT $1, $2, $3, COALESCE(max(version), 0) + 1, $4, $5, $6, $7, $8
		FROM criteria WHERE workspace_id = $2 AND name = $3
		RETURNING `+criteriaColumns,
		c.ID, c.WorkspaceID, c.Name, c.Expression, c.Description, c.AgreedByMarketing,
		c.AgreedBySales, timeOrNow(c.CreatedAt))
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Criteria])
	return out, interpret(err, "insert criteria version")
}

// LockCriteriaName serialises the saving of versions of one criteria name
// until the transaction ends, so concurrent saves number their versions one
// after the other.
func (q *Queries) LockCriteriaName(ctx context.Context, workspaceID uuid.UUID, name string) error {
	_, err := q.db.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('criteria:' || $1::text || ':' || $2, 0))`,
		workspaceID, name)
	return interpret(err, "lock criteria name")
}

// GetCriteria returns one criteria version of the workspace.
func (q *Queries) GetCriteria(ctx context.Context, workspaceID, id uuid.UUID) (Criteria, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+criteriaColumns+` FROM criteria WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id)
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Criteria])
	return c, interpret(err, "get criteria")
}

// ListCriteria pages through the workspace's criteria versions, newest
// first.
func (q *Queries) ListCriteria(ctx context.Context, workspaceID uuid.UUID, f CriteriaFilter) ([]Criteria, error) {
	w := newListQuery(workspaceID)
	if f.Name != "" {
		w.add("name = ?", f.Name)
	}
	rows, _ := q.db.Query(ctx, `SELECT `+criteriaColumns+` FROM criteria`+w.page(f.Page), w.args...)
	cs, err := pgx.CollectRows(rows, pgx.RowToStructByName[Criteria])
	return cs, interpret(err, "list criteria")
}

// ActiveCriteria returns the workspace's active criteria version;
// ErrNotFound when none is active.
func (q *Queries) ActiveCriteria(ctx context.Context, workspaceID uuid.UUID) (Criteria, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+criteriaColumns+` FROM criteria WHERE workspace_id = $1 AND active`,
		workspaceID)
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Criteria])
	return c, interpret(err, "active criteria")
}

// HasCriteria reports whether the workspace has any criteria at all.
func (q *Queries) HasCriteria(ctx context.Context, workspaceID uuid.UUID) (bool, error) {
	var ok bool
	err := q.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM criteria WHERE workspace_id = $1)`,
		workspaceID).Scan(&ok)
	return ok, interpret(err, "has criteria")
}

// ActivateCriteria makes one version the workspace's active criteria and
// deactivates the others. Run it inside a transaction: the workspace's
// criteria are locked first, in one order, so concurrent activations follow
// one another instead of tripping the one-active index.
func (q *Queries) ActivateCriteria(ctx context.Context, workspaceID, id uuid.UUID, at time.Time) (Criteria, error) {
	if _, err := q.db.Exec(ctx, `SELECT id FROM criteria WHERE workspace_id = $1 ORDER BY id FOR UPDATE`,
		workspaceID); err != nil {
		return Criteria{}, interpret(err, "lock criteria")
	}
	if _, err := q.db.Exec(ctx, `UPDATE criteria SET active = false WHERE workspace_id = $1 AND active AND id <> $2`,
		workspaceID, id); err != nil {
		return Criteria{}, interpret(err, "deactivate criteria")
	}
	rows, _ := q.db.Query(ctx, `
		UPDATE criteria SET active = true, activated_at = CASE WHEN active THEN activated_at ELSE $3 END,
			deactivated_at = NULL, deactivated_reason = ''
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+criteriaColumns, workspaceID, id, timeOrNow(at))
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Criteria])
	return c, interpret(err, "activate criteria")
}

// DeactivateFailedCriteria takes a version that failed at run time out of
// service, with the reason, and records it in the criteria's trail. It
// reports false (and changes nothing) when the version is no longer active:
// someone activated another, or another process got there first.
func (q *Queries) DeactivateFailedCriteria(ctx context.Context, workspaceID, id uuid.UUID, actor, reason string, at time.Time) (bool, error) {
	tag, err := q.db.Exec(ctx, `
		UPDATE criteria SET active = false, deactivated_at = $3, deactivated_reason = $4
		WHERE workspace_id = $1 AND id = $2 AND active`, workspaceID, id, timeOrNow(at), reason)
	if err != nil || tag.RowsAffected() == 0 {
		return false, interpret(err, "deactivate failed criteria")
	}
	_, err = q.db.Exec(ctx, `
		INSERT INTO criteria_events (workspace_id, criteria_id, action, actor, reason, at)
		VALUES ($1, $2, 'deactivated', $3, $4, $5)`, workspaceID, id, actor, reason, timeOrNow(at))
	return err == nil, interpret(err, "record criteria deactivation")
}

// CriteriaEvent is one entry of a criteria version's trail.
type CriteriaEvent struct {
	Action string    `db:"action"`
	Actor  string    `db:"actor"`
	Reason string    `db:"reason"`
	At     time.Time `db:"at"`
}

// CriteriaEvents returns a version's trail, oldest first.
func (q *Queries) CriteriaEvents(ctx context.Context, workspaceID, id uuid.UUID) ([]CriteriaEvent, error) {
	rows, _ := q.db.Query(ctx, `SELECT action, actor, reason, at FROM criteria_events
		WHERE workspace_id = $1 AND criteria_id = $2 ORDER BY id`, workspaceID, id)
	evs, err := pgx.CollectRows(rows, pgx.RowToStructByName[CriteriaEvent])
	return evs, interpret(err, "criteria events")
}
