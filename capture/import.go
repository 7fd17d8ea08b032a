package capture

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"leadflow/store"
)

// importBatch is how many rows are staged with one COPY, and resolved per
// transaction pair while processing.
const importBatch = 1000

// importProcessBatch is how many staged rows processing claims at a time.
const importProcessBatch = 200

// ImportActor signs the audit trail of what processing an import does
// beyond resolving its responses (event attendance).
const ImportActor = "worker:" + TypeProcessImport

// ResponseResolver resolves one committed response to a lead; *Processor
// satisfies it.
type ResponseResolver interface {
	Process(ctx context.Context, responseID uuid.UUID) (Outcome, error)
}

// ImporterConfig configures an Importer.
type ImporterConfig struct {
	Store    *store.Store
	Resolver ResponseResolver
	Limits   ImportLimits
	Logger   *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Importer reads CSV lists into imports and resolves their rows.
type Importer struct {
	store    *store.Store
	resolver ResponseResolver
	limits   ImportLimits
	log      *slog.Logger
	now      func() time.Time
}

// NewImporter checks cfg and builds an Importer.
func NewImporter(cfg ImporterConfig) (*Importer, error) {
	if cfg.Store == nil || cfg.Resolver == nil {
		return nil, errors.New("importer: store and resolver are required")
	}
	if cfg.Limits.MaxBytes < 0 || cfg.Limits.MaxRows < 0 || cfg.Limits.MaxField < 0 {
		return nil, errors.New("importer: limits cannot be negative")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Importer{
		store:    cfg.Store,
		resolver: cfg.Resolver,
		limits:   cfg.Limits.withDefaults(),
		log:      cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
		now:      now,
	}, nil
}

// ImportRequest is what a list is imported as.
type ImportRequest struct {
	WorkspaceID uuid.UUID
	Name        string
	// Kind is store.ImportKindLeads (the default) or ImportKindContacts.
	Kind     string
	Campaign string
	// EventID, when set, registers every person of the list for the event
	// as having attended it (a booth's scans, an attendee list).
	EventID *uuid.UUID
	// Mapping overrides the suggested mapping, header -> field.
	Mapping   map[string]string
	CreatedBy string
}

func (r *ImportRequest) check() error {
	bad := map[string]string{}
	r.Name = NormalizeLine(r.Name)
	if r.Name == "" {
		bad["name"] = "is required"
	} else if len(r.Name) > 200 {
		bad["name"] = "must be at most 200 characters"
	}
	r.Kind = cmp.Or(strings.TrimSpace(r.Kind), store.ImportKindLeads)
	if r.Kind != store.ImportKindLeads && r.Kind != store.ImportKindContacts {
		bad["kind"] = "must be leads or contacts"
	}
	if r.Kind == store.ImportKindContacts && r.EventID != nil {
		bad["event"] = "a contacts import registers nobody for an event: import leads"
	}
	r.Campaign = NormalizeLine(r.Campaign)
	if len(r.Campaign) > 200 {
		bad["campaign"] = "must be at most 200 characters"
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	return nil
}

// Create imports a CSV file: the header is checked and the mapping resolved
// before anything is written; then, in one transaction, the import is
// created and every row is staged (valid) or kept with its reason (invalid).
// A file refused as a whole (ErrImportFile, *ValidationError) leaves nothing
// behind. A file the workspace has already imported is not read again: its
// import is returned with created false.
//
// Create does not resolve the rows; Run does, and the caller starts it.
func (im *Importer) Create(ctx context.Context, req ImportRequest, file io.ReadSeeker) (store.Import, bool, error) {
	if err := req.check(); err != nil {
		return store.Import{}, false, err
	}
	if req.EventID != nil {
		if _, err := im.store.GetEvent(ctx, req.WorkspaceID, *req.EventID); errors.Is(err, store.ErrNotFound) {
			return store.Import{}, false, &ValidationError{Fields: map[string]string{"event": "no such event"}}
		} else if err != nil {
			return store.Import{}, false, err
		}
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(file, im.limits.MaxBytes+1))
	if err != nil {
		return store.Import{}, false, fmt.Errorf("read import file: %w", err)
	}
	if n > im.limits.MaxBytes {
		return store.Import{}, false, fileError("the file is larger than %d bytes", im.limits.MaxBytes)
	}
	sum := h.Sum(nil)
	if existing, err := im.store.ImportBySHA256(ctx, req.WorkspaceID, sum); err == nil {
		return existing, false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Import{}, false, err
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return store.Import{}, false, fmt.Errorf("rewind import file: %w", err)
	}
	rd, err := NewImportReader(file, im.limits, req.Mapping)
	if err != nil {
		return store.Import{}, false, err
	}
	mapping, err := json.Marshal(rd.Mapping().List())
	if err != nil {
		return store.Import{}, false, fmt.Errorf("encode import mapping: %w", err)
	}
	var out store.Import
	err = im.store.InTx(ctx, func(q *store.Queries) error {
		var err error
		out, err = q.InsertImport(ctx, store.Import{
			WorkspaceID: req.WorkspaceID,
			Name:        req.Name,
			Kind:        req.Kind,
			Campaign:    req.Campaign,
			EventID:     req.EventID,
			Mapping:     mapping,
			SHA256:      sum,
			CreatedBy:   req.CreatedBy,
		})
		if err != nil {
			return err
		}
		read, invalid, err := stageRows(ctx, q, out.ID, rd)
		if err != nil {
			return err
		}
		out.RowsRead, out.RowsInvalid = read, invalid
		return q.SetImportRead(ctx, out.ID, read, invalid)
	})
	if errors.Is(err, store.ErrConflict) {
		// The same file uploaded twice at once: the other upload won.
		existing, gerr := im.store.ImportBySHA256(ctx, req.WorkspaceID, sum)
		if gerr == nil {
			return existing, false, nil
		}
	}
	if err != nil {
		return store.Import{}, false, err
	}
	return out, true, nil
}

// stageRows reads every row of rd into import id's staged and invalid rows.
func stageRows(ctx context.Context, q *store.Queries, id uuid.UUID, rd *ImportReader) (read, invalid int, err error) {
	valid := make([]store.ImportRow, 0, importBatch)
	bad := make([]store.ImportInvalidRow, 0, 64)
	flush := func(force bool) error {
		if force || len(valid) >= importBatch {
			if err := q.CopyImportRows(ctx, valid); err != nil {
				return err
			}
			valid = valid[:0]
		}
		if force || len(bad) >= importBatch {
			if err := q.CopyImportInvalidRows(ctx, id, bad); err != nil {
				return err
			}
			bad = bad[:0]
		}
		return nil
	}
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, 0, err
		}
		read++
		raw, err := json.Marshal(row.Raw)
		if err != nil {
			return 0, 0, fmt.Errorf("encode import row: %w", err)
		}
		reason := row.Invalid
		var f Fields
		if reason == "" {
			f, reason = importFields(row.Values)
		}
		if reason != "" {
			invalid++
			bad = append(bad, store.ImportInvalidRow{Line: row.Line, Reason: reason, Raw: raw})
		} else {
			fields, err := json.Marshal(f)
			if err != nil {
				return 0, 0, fmt.Errorf("encode import fields: %w", err)
			}
			valid = append(valid, store.ImportRow{ImportID: id, Line: row.Line, Fields: fields, Raw: raw})
		}
		if err := flush(false); err != nil {
			return 0, 0, err
		}
	}
	return read, invalid, flush(true)
}

// Run resolves an import's staged rows, a batch at a time, until none is
// left, then marks it done. Each row becomes a response (channel import,
// no form) resolved by the same matching as a form's; for a contacts import
// each row becomes a contact instead, unless one with its email exists.
// Run may stop anywhere (a crash, a deploy) and run again: a row's response
// is inserted once, in the transaction that records it, resolving a
// response twice changes nothing, and a row is counted once.
func (im *Importer) Run(ctx context.Context, workspaceID, id uuid.UUID) (store.Import, error) {
	imp, err := im.store.GetImport(ctx, workspaceID, id)
	if err != nil {
		return store.Import{}, err
	}
	if imp.State != store.ImportProcessing {
		return imp, nil
	}
	var ev *store.Event
	if imp.EventID != nil {
		e, err := im.store.GetEvent(ctx, workspaceID, *imp.EventID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.Import{}, err
		}
		if err == nil {
			ev = &e
		}
	}
	for {
		n, err := im.runBatch(ctx, imp, ev)
		if err != nil {
			return store.Import{}, fmt.Errorf("run import %s: %w", id, err)
		}
		if n == 0 {
			break
		}
	}
	if err := im.store.FinishImport(ctx, id, store.ImportDone, ""); err != nil {
		return store.Import{}, err
	}
	im.log.InfoContext(ctx, "import done", "import_id", id, "workspace_id", workspaceID)
	return im.store.GetImport(ctx, workspaceID, id)
}

// runBatch resolves the next staged rows and says how many it took.
func (im *Importer) runBatch(ctx context.Context, imp store.Import, ev *store.Event) (int, error) {
	var rows []store.ImportRow
	err := im.store.InTx(ctx, func(q *store.Queries) error {
		var err error
		if rows, err = q.ClaimImportRows(ctx, imp.ID, importProcessBatch); err != nil {
			return err
		}
		if imp.Kind == store.ImportKindContacts {
			return nil
		}
		return im.insertResponses(ctx, q, imp, rows)
	})
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	if imp.Kind == store.ImportKindContacts {
		for _, r := range rows {
			if err := im.importContact(ctx, imp, r); err != nil {
				return 0, fmt.Errorf("line %d: %w", r.Line, err)
			}
		}
		return len(rows), nil
	}
	lines := make([]int32, len(rows))
	outcomes := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = int32(r.Line)
		// A response resolved before a crash resolves again to the outcome
		// it had, unchanged, so the count below stays exact.
		if outcomes[i], err = im.resolve(ctx, ev, *r.ResponseID); err != nil {
			return 0, fmt.Errorf("line %d: %w", r.Line, err)
		}
	}
	return len(rows), im.store.RecordImportOutcomes(ctx, imp.ID, lines, outcomes)
}

// resolve resolves one row's response and, for an event's list, records
// that its lead attended.
func (im *Importer) resolve(ctx context.Context, ev *store.Event, responseID uuid.UUID) (string, error) {
	out, err := im.resolver.Process(ctx, responseID)
	if err != nil {
		return "", err
	}
	if ev != nil && out.LeadID != uuid.Nil {
		if err := im.attend(ctx, *ev, out.LeadID, responseID); err != nil {
			return "", err
		}
	}
	return cmp.Or(out.Result, out.Status), nil
}

// attend registers a lead for the event as having attended it; a lead
// already registered is marked attended, one who cancelled is left so.
func (im *Importer) attend(ctx context.Context, ev store.Event, leadID, responseID uuid.UUID) error {
	return im.store.InTx(ctx, func(q *store.Queries) error {
		ev, err := q.LockEvent(ctx, ev.WorkspaceID, ev.ID)
		if err != nil {
			return err
		}
		reg, err := q.LeadRegistration(ctx, ev.WorkspaceID, ev.ID, leadID)
		if errors.Is(err, store.ErrNotFound) {
			reg, err = q.InsertRegistration(ctx, store.EventRegistration{
				WorkspaceID: ev.WorkspaceID, EventID: ev.ID, LeadID: leadID, ResponseID: responseID,
				Status: store.RegistrationRegistered, CreatedAt: im.now(),
			})
		}
		if err != nil {
			return err
		}
		if reg.Status == store.RegistrationCancelled {
			return nil
		}
		_, err = RecordAttendance(ctx, q, ev, reg, ImportActor, im.now())
		return err
	})
}

// importContact makes a contacts import's row a contact, unless one with
// the same email (or phone) exists, and records which in the same
// transaction: a row is a contact made or found exactly once.
func (im *Importer) importContact(ctx context.Context, imp store.Import, r store.ImportRow) error {
	var f Fields
	if err := json.Unmarshal(r.Fields, &f); err != nil {
		return fmt.Errorf("%w: %v", errUnreadableFields, err)
	}
	lines := []int32{int32(r.Line)}
	err := im.store.InTx(ctx, func(q *store.Queries) error {
		if _, err := q.InsertContact(ctx, store.Contact{
			WorkspaceID: imp.WorkspaceID, FirstName: f.FirstName, LastName: f.LastName,
			Email: f.Email, EmailCanonical: f.EmailCanonical, Phone: f.Phone,
			Company: f.Company, Title: f.Title, Country: f.Country,
		}); err != nil {
			return err
		}
		return q.RecordImportOutcomes(ctx, imp.ID, lines, []string{OutcomeCreated})
	})
	if errors.Is(err, store.ErrConflict) {
		return im.store.RecordImportOutcomes(ctx, imp.ID, lines, []string{OutcomeMerged})
	}
	return err
}

// insertResponses inserts the response (channel import, no form) of each
// claimed row that has none yet and records it on the row, in the caller's
// transaction: a row becomes one response, however often it is claimed.
func (im *Importer) insertResponses(ctx context.Context, q *store.Queries, imp store.Import, rows []store.ImportRow) error {
	var (
		rs    []store.Response
		lines []int32
		ids   []uuid.UUID
	)
	now := im.now()
	for i := range rows {
		r := &rows[i]
		if r.ResponseID != nil {
			continue
		}
		var raw map[string]string
		if err := json.Unmarshal(r.Raw, &raw); err != nil {
			return fmt.Errorf("import row %d: %w", r.Line, err)
		}
		var f Fields
		if err := json.Unmarshal(r.Fields, &f); err != nil {
			return fmt.Errorf("import row %d: %w", r.Line, err)
		}
		rawValues := make(map[string][]string, len(raw))
		for k, v := range raw {
			rawValues[k] = []string{v}
		}
		id := store.NewID()
		rs = append(rs, store.Response{
			ID: id, WorkspaceID: imp.WorkspaceID, ReceivedAt: now, Raw: rawValues, Fields: r.Fields,
			LeadSource: cmp.Or(f.LeadSource, "import"), Campaign: imp.Campaign,
			Channel: store.ChannelImport, RecordedBy: imp.CreatedBy,
		})
		lines, ids = append(lines, int32(r.Line)), append(ids, id)
		r.ResponseID = &id
	}
	if len(rs) == 0 {
		return nil
	}
	if err := q.InsertResponses(ctx, rs, nil); err != nil {
		return err
	}
	return q.SetImportRowResponses(ctx, imp.ID, lines, ids)
}
