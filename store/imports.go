package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Import kinds and states.
const (
	ImportKindLeads    = "leads"
	ImportKindContacts = "contacts"

	ImportProcessing = "processing"
	ImportDone       = "done"
	ImportFailed     = "failed"
)

// Import is one CSV list imported into a workspace.
type Import struct {
	ID          uuid.UUID       `db:"id"`
	WorkspaceID uuid.UUID       `db:"workspace_id"`
	Name        string          `db:"name"`
	Kind        string          `db:"kind"`
	Campaign    string          `db:"campaign"`
	EventID     *uuid.UUID      `db:"event_id"`
	Mapping     json.RawMessage `db:"mapping"`
	SHA256      []byte          `db:"sha256"`
	RowsRead    int             `db:"rows_read"`
	RowsCreated int             `db:"rows_created"`
	RowsMerged  int             `db:"rows_merged"`
	RowsLinked  int             `db:"rows_linked"`
	RowsInvalid int             `db:"rows_invalid"`
	State       string          `db:"state"`
	LastError   string          `db:"last_error"`
	CreatedBy   string          `db:"created_by"`
	CreatedAt   time.Time       `db:"created_at"`
	FinishedAt  *time.Time      `db:"finished_at"`
}

const importColumns = `id, workspace_id, name, kind, campaign, event_id, mapping, sha256,
	rows_read, rows_created, rows_merged, rows_linked, rows_invalid, state, last_error,
	created_by, created_at, finished_at`

// ImportRow is a staged valid row of an import: its normalised fields and
// the row as read, and once inserted, its response.
type ImportRow struct {
	ImportID   uuid.UUID       `db:"import_id"`
	Line       int             `db:"line"`
	Fields     json.RawMessage `db:"fields"`
	Raw        json.RawMessage `db:"raw"`
	ResponseID *uuid.UUID      `db:"response_id"`
}

// ImportInvalidRow is a row that could not be imported, and why.
type ImportInvalidRow struct {
	Line   int             `db:"line"`
	Reason string          `db:"reason"`
	Raw    json.RawMessage `db:"raw"`
}

// InsertImport creates an import; a zero ID is filled in. A file already
// imported into the workspace (same SHA-256) is ErrConflict.
func (q *Queries) InsertImport(ctx context.Context, im Import) (Import, error) {
	if im.ID == uuid.Nil {
		im.ID = NewID()
	}
	if len(im.Mapping) == 0 {
		im.Mapping = json.RawMessage(`{}`)
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO imports (id, workspace_id, name, kind, campaign, event_id, mapping, sha256, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		RETURNING `+importColumns,
		im.ID, im.WorkspaceID, im.Name, im.Kind, im.Campaign, im.EventID, im.Mapping, im.SHA256, im.CreatedBy)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Import])
	return out, interpret(err, "insert import")
}

// GetImport returns an import of the workspace.
func (q *Queries) GetImport(ctx context.Context, workspaceID, id uuid.UUID) (Import, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+importColumns+` FROM imports WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Import])
	return out, interpret(err, "get import")
}

// ImportBySHA256 returns the workspace's import of the file with this hash.
func (q *Queries) ImportBySHA256(ctx context.Context, workspaceID uuid.UUID, sum []byte) (Import, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+importColumns+` FROM imports WHERE workspace_id = $1 AND sha256 = $2`,
		workspaceID, sum)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Import])
	return out, interpret(err, "import by sha256")
}

// CopyImportRows stages valid rows with COPY.
func (q *Queries) CopyImportRows(ctx context.Context, rows []ImportRow) error {
	if len(rows) == 0 {
		return nil
	}
	_, err := q.db.CopyFrom(ctx, pgx.Identifier{"import_rows"}, []string{"import_id", "line", "fields", "raw"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			return []any{rows[i].ImportID, rows[i].Line, rows[i].Fields, rows[i].Raw}, nil
		}))
	return interpret(err, "copy import rows")
}

// CopyImportInvalidRows keeps an import's invalid rows with COPY.
func (q *Queries) CopyImportInvalidRows(ctx context.Context, importID uuid.UUID, rows []ImportInvalidRow) error {
	if len(rows) == 0 {
		return nil
	}
	_, err := q.db.CopyFrom(ctx, pgx.Identifier{"import_invalid_rows"}, []string{"import_id", "line", "reason", "raw"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			return []any{importID, rows[i].Line, rows[i].Reason, rows[i].Raw}, nil
		}))
	return interpret(err, "copy import invalid rows")
}

// SetImportRead records how many rows the file had and how many were
// invalid, once it has been read to its end.
func (q *Queries) SetImportRead(ctx context.Context, id uuid.UUID, read, invalid int) error {
	_, err := q.db.Exec(ctx, `UPDATE imports SET rows_read = $2, rows_invalid = $3 WHERE id = $1`, id, read, invalid)
	return interpret(err, "set import read")
}

// ImportInvalidRows pages through an import's invalid rows in line order,
// after the line given.
func (q *Queries) ImportInvalidRows(ctx context.Context, importID uuid.UUID, afterLine, limit int) ([]ImportInvalidRow, error) {
	rows, _ := q.db.Query(ctx, `SELECT line, reason, raw FROM import_invalid_rows
		WHERE import_id = $1 AND line > $2 ORDER BY line LIMIT $3`, importID, afterLine, limit)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[ImportInvalidRow])
	return out, interpret(err, "import invalid rows")
}

// ClaimImportRows locks the next staged rows not yet resolved, in line
// order; rows another transaction holds are skipped.
func (q *Queries) ClaimImportRows(ctx context.Context, importID uuid.UUID, limit int) ([]ImportRow, error) {
	rows, _ := q.db.Query(ctx, `SELECT import_id, line, fields, raw, response_id FROM import_rows
		WHERE import_id = $1 AND outcome IS NULL ORDER BY line LIMIT $2 FOR UPDATE SKIP LOCKED`, importID, limit)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[ImportRow])
	return out, interpret(err, "claim import rows")
}

// SetImportRowResponses records the response each staged row became.
func (q *Queries) SetImportRowResponses(ctx context.Context, importID uuid.UUID, lines []int32, responseIDs []uuid.UUID) error {
	_, err := q.db.Exec(ctx, `UPDATE import_rows r SET response_id = u.response_id
		FROM unnest($2::int4[], $3::uuid[]) AS u (line, response_id)
		WHERE r.import_id = $1 AND r.line = u.line`, importID, lines, responseIDs)
	return interpret(err, "set import row responses")
}

// RecordImportOutcomes records what processing did with rows, and adds the
// rows recorded for the first time to the import's counts: a row recorded
// again (an import resumed) is not counted twice.
func (q *Queries) RecordImportOutcomes(ctx context.Context, importID uuid.UUID, lines []int32, outcomes []string) error {
	_, err := q.db.Exec(ctx, `
		WITH done AS (
			UPDATE import_rows r SET outcome = u.outcome
			FROM unnest($2::int4[], $3::text[]) AS u (line, outcome)
			WHERE r.import_id = $1 AND r.line = u.line AND r.outcome IS NULL
			RETURNING r.outcome)
		UPDATE imports SET
			rows_created = rows_created + (SELECT count(*) FROM done WHERE outcome = 'created'),
			rows_merged  = rows_merged  + (SELECT count(*) FROM done WHERE outcome = 'merged'),
			rows_linked  = rows_linked  + (SELECT count(*) FROM done WHERE outcome = 'linked_contact')
		WHERE id = $1`, importID, lines, outcomes)
	return interpret(err, "record import outcomes")
}

// FinishImport ends an import: done, or failed with the error.
func (q *Queries) FinishImport(ctx context.Context, id uuid.UUID, state, lastError string) error {
	_, err := q.db.Exec(ctx, `UPDATE imports SET state = $2, last_error = $3, finished_at = now() WHERE id = $1`,
		id, state, lastError)
	return interpret(err, "finish import")
}

// ProcessingImports lists the imports not finished, oldest first, for the
// sweeper to enqueue again.
func (q *Queries) ProcessingImports(ctx context.Context, limit int) ([]Import, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+importColumns+` FROM imports WHERE state = 'processing' ORDER BY id LIMIT $1`, limit)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[Import])
	return out, interpret(err, "processing imports")
}
