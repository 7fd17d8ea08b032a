package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// templateColumns lists Template's columns in struct order.
const templateColumns = `id, workspace_id, name, subject, html_body, text_body, defaults, created_at, updated_at`

// InsertTemplate stores a new email template; a zero ID is filled in.
func (q *Queries) InsertTemplate(ctx context.Context, t Template) (Template, error) {
	if t.ID == uuid.Nil {
		t.ID = NewID()
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO templates (id, workspace_id, name, subject, html_body, text_body, defaults)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		RETURNING `+templateColumns,
		t.ID, t.WorkspaceID, t.Name, t.Subject, t.HTMLBody, t.TextBody, orEmptyMap(t.Defaults))
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Template])
	return out, interpret(err, "insert template")
}

// GetTemplate returns a template of the workspace.
func (q *Queries) GetTemplate(ctx context.Context, workspaceID, id uuid.UUID) (Template, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+templateColumns+` FROM templates WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id)
	t, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Template])
	return t, interpret(err, "get template")
}

// ListTemplates pages through the workspace's templates, newest first.
func (q *Queries) ListTemplates(ctx context.Context, workspaceID uuid.UUID, p Page) ([]Template, error) {
	w := newListQuery(workspaceID)
	rows, _ := q.db.Query(ctx, `SELECT `+templateColumns+` FROM templates`+w.page(p), w.args...)
	ts, err := pgx.CollectRows(rows, pgx.RowToStructByName[Template])
	return ts, interpret(err, "list templates")
}

// UpdateTemplate overwrites a template's name, subject, bodies and defaults.
// Messages already created keep what they were rendered with.
func (q *Queries) UpdateTemplate(ctx context.Context, t Template) (Template, error) {
	rows, _ := q.db.Query(ctx, `
		UPDATE templates SET name = $3, subject = $4, html_body = $5, text_body = $6, defaults = $7,
			updated_at = now()
		WHERE workspace_id = $1 AND id = $2
		RETURNING `+templateColumns,
		t.WorkspaceID, t.ID, t.Name, t.Subject, t.HTMLBody, t.TextBody, orEmptyMap(t.Defaults))
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Template])
	return out, interpret(err, "update template")
}

// ExistingTemplateIDs returns which of ids are templates of the workspace,
// so a sequence's email steps can be checked in one query.
func (q *Queries) ExistingTemplateIDs(ctx context.Context, workspaceID uuid.UUID, ids []uuid.UUID) ([]uuid.UUID, error) {
	rows, _ := q.db.Query(ctx, `SELECT id FROM templates WHERE workspace_id = $1 AND id = ANY($2)`,
		workspaceID, ids)
	out, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	return out, interpret(err, "existing template ids")
}
