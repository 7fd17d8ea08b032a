package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ResponseFilter narrows a list of responses. Zero fields do not filter.
type ResponseFilter struct {
	LeadID  uuid.UUID
	FormID  uuid.UUID
	Channel string
	Verdict string
	Status  string
	Page
}

// GetResponse returns a response of the workspace.
func (q *Queries) GetResponse(ctx context.Context, workspaceID, id uuid.UUID) (Response, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+responseColumns+` FROM responses WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Response])
	return r, interpret(err, "get response")
}

// ListResponses pages through the workspace's responses, newest first.
func (q *Queries) ListResponses(ctx context.Context, workspaceID uuid.UUID, f ResponseFilter) ([]Response, error) {
	w := newListQuery(workspaceID)
	if f.LeadID != uuid.Nil {
		w.add("lead_id = ?", f.LeadID)
	}
	if f.FormID != uuid.Nil {
		w.add("form_id = ?", f.FormID)
	}
	if f.Channel != "" {
		w.add("channel = ?", f.Channel)
	}
	if f.Verdict != "" {
		w.add("verdict = ?", f.Verdict)
	}
	if f.Status != "" {
		w.add("status = ?", f.Status)
	}
	rows, _ := q.db.Query(ctx, `SELECT `+responseColumns+` FROM responses`+w.page(f.Page), w.args...)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[Response])
	return rs, interpret(err, "list responses")
}

// ResponseFileInfos lists the files uploaded with a response, without their
// content.
func (q *Queries) ResponseFileInfos(ctx context.Context, workspaceID, responseID uuid.UUID) ([]ResponseFile, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT id, response_id, field, filename, content_type, size, NULL::bytea AS data
		FROM response_files WHERE workspace_id = $1 AND response_id = $2 ORDER BY id`,
		workspaceID, responseID)
	fs, err := pgx.CollectRows(rows, pgx.RowToStructByName[ResponseFile])
	return fs, interpret(err, "response file infos")
}
