package capture_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"leadflow/capture"
	"leadflow/store"
	"leadflow/store/storetest"
)

type importBundle struct {
	ctx      context.Context
	st       *store.Store
	ws       store.Workspace
	proc     *capture.Processor
	importer *capture.Importer
}

func setupImport(t *testing.T) *importBundle {
	t.Helper()
	ctx := context.Background()
	st := storetest.NewStore(t)
	ws, err := st.EnsureWorkspace(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	proc, err := capture.NewProcessor(capture.ProcessorConfig{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	im, err := capture.NewImporter(capture.ImporterConfig{Store: st, Resolver: proc})
	if err != nil {
		t.Fatal(err)
	}
	return &importBundle{ctx: ctx, st: st, ws: ws, proc: proc, importer: im}
}

func (b *importBundle) create(t *testing.T, req capture.ImportRequest, data string) store.Import {
	t.Helper()
	req.WorkspaceID = b.ws.ID
	req.CreatedBy = "test"
	im, created, err := b.importer.Create(b.ctx, req, strings.NewReader(data))
	if err != nil || !created {
		t.Fatalf("create import: %v (created %v)", err, created)
	}
	return im
}

func (b *importBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := b.st.Pool.QueryRow(b.ctx, sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestImportContactsListCountsOnceAndResumes imports a contacts list in
// which one person is already a contact, runs it twice, and stops one
// part-way: each row is counted once, and nobody is made twice.
func TestImportContactsListCountsOnceAndResumes(t *testing.T) {
	t.Parallel()
	b := setupImport(t)
	if _, err := b.st.InsertContact(b.ctx, store.Contact{WorkspaceID: b.ws.ID, FirstName: "Old", LastName: "Friend",
		Email: "old@example.com", EmailCanonical: "old@example.com"}); err != nil {
		t.Fatal(err)
	}
	data := "Email,First Name,Last Name,Company\n" +
		"old@example.com,Old,Friend,Acme\n" +
		"new@example.com,New,Person,Globex\n" +
		"bad,Bad,Row,Initech\n"
	im := b.create(t, capture.ImportRequest{Name: "customers", Kind: store.ImportKindContacts}, data)
	got, err := b.importer.Run(b.ctx, b.ws.ID, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	type counts struct{ Read, Created, Merged, Linked, Invalid int }
	want := counts{Read: 3, Created: 1, Merged: 1, Invalid: 1}
	if diff := cmp.Diff(want, counts{got.RowsRead, got.RowsCreated, got.RowsMerged, got.RowsLinked, got.RowsInvalid}); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if got.State != store.ImportDone || got.FinishedAt == nil {
		t.Errorf("state = %s, finished %v", got.State, got.FinishedAt)
	}
	// As if the process had died before marking the import done: the run
	// resumes, makes nobody again and counts nothing twice.
	if _, err := b.st.Pool.Exec(b.ctx, `UPDATE imports SET state = 'processing' WHERE id = $1`, im.ID); err != nil {
		t.Fatal(err)
	}
	again, err := b.importer.Run(b.ctx, b.ws.ID, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, counts{again.RowsRead, again.RowsCreated, again.RowsMerged, again.RowsLinked, again.RowsInvalid}); diff != "" {
		t.Errorf("counts after the resumed run (-want +got):\n%s", diff)
	}
	if n := b.count(t, `SELECT count(*) FROM contacts WHERE workspace_id = $1`, b.ws.ID); n != 2 {
		t.Errorf("contacts = %d, want 2", n)
	}
}

// TestImportEventMustBeTheWorkspaces refuses an event of another workspace
// and creates nothing.
func TestImportEventMustBeTheWorkspaces(t *testing.T) {
	t.Parallel()
	b := setupImport(t)
	other, err := b.st.EnsureWorkspace(b.ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := b.st.InsertEvent(b.ctx, store.Event{WorkspaceID: other.ID, Name: "Expo"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = b.importer.Create(b.ctx, capture.ImportRequest{WorkspaceID: b.ws.ID, Name: "booth", EventID: &ev.ID, CreatedBy: "test"},
		strings.NewReader("Email\na@example.com\n"))
	var ve *capture.ValidationError
	if !errors.As(err, &ve) || ve.Fields["event"] == "" {
		t.Fatalf("err = %v, want the event refused", err)
	}
	if n := b.count(t, `SELECT count(*) FROM imports`); n != 0 {
		t.Errorf("imports = %d, want none", n)
	}
}

// TestImportLeadsListResolvesLikeAForm imports a booth list for an event:
// a known contact's row makes a lead linked to the contact, a new person a
// new lead, a second row of the same person merges, everyone attended, and
// a second run changes nothing.
func TestImportLeadsListResolvesLikeAForm(t *testing.T) {
	t.Parallel()
	b := setupImport(t)
	ct, err := b.st.InsertContact(b.ctx, store.Contact{WorkspaceID: b.ws.ID, FirstName: "Old", LastName: "Friend",
		Email: "old@example.com", EmailCanonical: "old@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := b.st.InsertEvent(b.ctx, store.Event{WorkspaceID: b.ws.ID, Name: "Expo"})
	if err != nil {
		t.Fatal(err)
	}
	data := "Email,First Name,Last Name,Company\n" +
		"old@example.com,Old,Friend,Acme\n" +
		"new@example.com,New,Person,Globex\n" +
		"NEW@example.com,New,Person,Globex\n"
	im := b.create(t, capture.ImportRequest{Name: "booth", EventID: &ev.ID}, data)
	got, err := b.importer.Run(b.ctx, b.ws.ID, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	type counts struct{ Read, Created, Merged, Linked, Invalid int }
	want := counts{Read: 3, Created: 1, Merged: 1, Linked: 1}
	if diff := cmp.Diff(want, counts{got.RowsRead, got.RowsCreated, got.RowsMerged, got.RowsLinked, got.RowsInvalid}); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if n := b.count(t, `SELECT count(*) FROM leads WHERE workspace_id = $1 AND contact_id = $2`, b.ws.ID, ct.ID); n != 1 {
		t.Errorf("leads linked to the contact = %d, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM responses WHERE workspace_id = $1 AND channel = 'import' AND form_id IS NULL`, b.ws.ID); n != 3 {
		t.Errorf("import responses = %d, want 3", n)
	}
	if n := b.count(t, `SELECT count(*) FROM event_registrations WHERE event_id = $1 AND status = 'attended'`, ev.ID); n != 2 {
		t.Errorf("attended = %d, want 2", n)
	}
	if _, err := b.st.Pool.Exec(b.ctx, `UPDATE imports SET state = 'processing' WHERE id = $1`, im.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.importer.Run(b.ctx, b.ws.ID, im.ID); err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, `SELECT count(*) FROM responses WHERE workspace_id = $1`, b.ws.ID); n != 3 {
		t.Errorf("responses after a second run = %d, want 3", n)
	}
}

// TestSweeperQueuesAnImportWhoseTaskWasLost: an import's task lives in Redis
// only; when it is lost (Redis flushed, the task deleted) the sweeper queues
// the import again from PostgreSQL, once however often it sweeps, and the
// task finishes it.
func TestSweeperQueuesAnImportWhoseTaskWasLost(t *testing.T) {
	t.Parallel()
	b := setupImport(t)
	im := b.create(t, capture.ImportRequest{Name: "booth"}, "Email,First Name\nlost@example.com,Lou\n")
	queue := &recordingQueue{Enqueuer: newQueueClient(t, storetest.RedisURL(t))}
	sweeper, err := capture.NewSweeper(capture.SweeperConfig{Store: b.st, Enqueuer: queue})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := sweeper.SweepOnce(b.ctx); err != nil {
			t.Fatalf("SweepOnce: %v", err)
		}
	}
	want := []string{capture.TypeProcessImport + ":" + im.ID.String()}
	if diff := cmp.Diff(want, queue.ids); diff != "" {
		t.Fatalf("enqueued (-want +got):\n%s", diff)
	}
	task := capture.NewImportTask(b.ws.ID, im.ID)
	if err := b.importer.ProcessTask(b.ctx, task); err != nil {
		t.Fatalf("import task: %v", err)
	}
	if n := b.count(t, `SELECT count(*) FROM imports WHERE id = $1 AND state = 'done'`, im.ID); n != 1 {
		t.Errorf("import not done after its task ran")
	}
	if n := b.count(t, `SELECT count(*) FROM leads WHERE workspace_id = $1 AND email = 'lost@example.com'`, b.ws.ID); n != 1 {
		t.Errorf("leads of the import's row = %d, want 1", n)
	}
	queue.ids = nil
	if _, err := sweeper.SweepOnce(b.ctx); err != nil || len(queue.ids) != 0 {
		t.Errorf("a finished import was enqueued again: %v, %v", queue.ids, err)
	}
}
