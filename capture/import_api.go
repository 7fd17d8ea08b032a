package capture

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Import is how the API shows an import and its progress.
type Import struct {
	ID       uuid.UUID      `json:"id"`
	Name     string         `json:"name"`
	Kind     string         `json:"kind"`
	Campaign string         `json:"campaign"`
	EventID  *uuid.UUID     `json:"event_id"`
	Mapping  []ImportColumn `json:"mapping"`
	SHA256   string         `json:"sha256"`
	// State is processing until every valid row is resolved, then done.
	State string `json:"state"`
	// Rows counts the file's rows and what became of them; the valid rows
	// not yet resolved are read - invalid - created - merged - linked.
	Rows       ImportRows `json:"rows"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// ImportRows are an import's counts.
type ImportRows struct {
	Read    int `json:"read"`
	Created int `json:"created"`
	Merged  int `json:"merged"`
	// Linked rows came from known contacts: a lead linked to the contact
	// was made.
	Linked  int `json:"linked_contact"`
	Invalid int `json:"invalid"`
}

func newImport(im store.Import) Import {
	out := Import{
		ID: im.ID, Name: im.Name, Kind: im.Kind, Campaign: im.Campaign, EventID: im.EventID,
		SHA256: fmt.Sprintf("%x", im.SHA256), State: im.State,
		Rows: ImportRows{Read: im.RowsRead, Created: im.RowsCreated, Merged: im.RowsMerged,
			Linked: im.RowsLinked, Invalid: im.RowsInvalid},
		CreatedBy: im.CreatedBy, CreatedAt: im.CreatedAt, FinishedAt: im.FinishedAt,
	}
	_ = json.Unmarshal(im.Mapping, &out.Mapping)
	if out.Mapping == nil {
		out.Mapping = []ImportColumn{}
	}
	return out
}

// importMemory is how much of an upload is held in memory; the rest of the
// file waits in a temporary file, so a big list costs disk, not memory.
const importMemory = 1 << 20

// createImport takes a multipart upload: the CSV as "file", and optional
// "name" (the file's name by default), "kind", "campaign", "event" and
// "mapping" (a JSON object, column header -> field). A new import answers
// 202 and is processed in the background by the import:process task; a file
// already imported answers 200 with its import (and, if it is still
// processing, enqueues its task again). A file refused as a whole answers 400 and leaves
// nothing behind.
func (a *API) createImport(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	req := c.Request()
	req.Body = http.MaxBytesReader(c.Response(), req.Body, a.importer.limits.MaxBytes+importMemory)
	if err := req.ParseMultipartForm(importMemory); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
				fmt.Sprintf("the file is larger than %d bytes", a.importer.limits.MaxBytes))
		}
		return echo.NewHTTPError(http.StatusBadRequest, "the body must be multipart/form-data with the CSV as \"file\"")
	}
	defer func() { _ = req.MultipartForm.RemoveAll() }()
	file, header, err := req.FormFile("file")
	if err != nil {
		return &ValidationError{Fields: map[string]string{"file": "is required: the CSV file"}}
	}
	defer file.Close()
	ir := ImportRequest{
		WorkspaceID: p.WorkspaceID,
		Name:        req.FormValue("name"),
		Kind:        req.FormValue("kind"),
		Campaign:    req.FormValue("campaign"),
		CreatedBy:   p.Actor(),
	}
	if ir.Name == "" {
		ir.Name = strings.TrimSuffix(filepath.Base(header.Filename), filepath.Ext(header.Filename))
	}
	if ev := strings.TrimSpace(req.FormValue("event")); ev != "" {
		id, err := store.ParseID(ev)
		if err != nil {
			return &ValidationError{Fields: map[string]string{"event": "is not a valid id"}}
		}
		ir.EventID = &id
	}
	if m := strings.TrimSpace(req.FormValue("mapping")); m != "" {
		if err := json.Unmarshal([]byte(m), &ir.Mapping); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "mapping must be a JSON object of column header to field")
		}
	}
	ctx := req.Context()
	im, created, err := a.importer.Create(ctx, ir, file)
	if errors.Is(err, ErrImportFile) {
		return echo.NewHTTPError(http.StatusBadRequest, importFileMessage(err))
	}
	if err != nil {
		return err
	}
	if im.State == store.ImportProcessing {
		// Committed either way. An import whose task was lost (Redis
		// flushed or down at upload) is enqueued again when its file is
		// uploaded again; the task ID makes that harmless otherwise.
		if err := EnqueueImport(ctx, a.enqueuer, im.WorkspaceID, im.ID); err != nil {
			a.log.WarnContext(ctx, "import_enqueue_failed", "import_id", im.ID, "error", err)
		}
	}
	if !created {
		return c.JSON(http.StatusOK, newImport(im))
	}
	return c.JSON(http.StatusAccepted, newImport(im))
}

// importFileMessage says why a file was refused, its field errors spelled
// out.
func importFileMessage(err error) string {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ve.Fields)) {
		parts = append(parts, k+": "+ve.Fields[k])
	}
	return ErrImportFile.Error() + ": " + strings.Join(parts, "; ")
}

func (a *API) getImport(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	im, err := a.store.GetImport(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newImport(im))
}

// importInvalidCSV streams an import's invalid rows as CSV: the line, the
// reason, then the row's columns as the file had them, so the list can be
// fixed and imported again.
func (a *API) importInvalidCSV(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	im, err := a.store.GetImport(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	var cols []ImportColumn
	_ = json.Unmarshal(im.Mapping, &cols)
	resp := c.Response()
	resp.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	resp.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="import-%s-invalid.csv"`, im.ID))
	resp.WriteHeader(http.StatusOK)
	w := csv.NewWriter(resp)
	rec := []string{"line", "reason"}
	for _, col := range cols {
		rec = append(rec, col.Column)
	}
	if err := w.Write(rec); err != nil {
		return nil // the client went away
	}
	after := 0
	for {
		rows, err := a.store.ImportInvalidRows(ctx, im.ID, after, importBatch)
		if err != nil {
			// The answer has begun: all that can be done is stop and log.
			a.log.ErrorContext(ctx, "import_invalid_rows_failed", "import_id", im.ID, "error", err)
			w.Flush()
			return nil
		}
		for _, r := range rows {
			var raw map[string]string
			_ = json.Unmarshal(r.Raw, &raw)
			rec = append(rec[:0], fmt.Sprint(r.Line), r.Reason)
			for _, col := range cols {
				rec = append(rec, raw[col.Column])
			}
			if err := w.Write(rec); err != nil {
				return nil
			}
			after = r.Line
		}
		w.Flush()
		if len(rows) < importBatch {
			return w.Error()
		}
	}
}
