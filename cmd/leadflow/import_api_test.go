package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/capture"
	"leadflow/embed/httpapi"
	"leadflow/nurture"
	"leadflow/store/storetest"
)

// setupImportAPI serves the admin API as `serve` wires it, imports
// included, with the workspaces of setupAPI.
func setupImportAPI(t *testing.T) (*apiBundle, *capture.Importer) {
	t.Helper()
	st := storetest.NewStore(t)
	rdb := redis.NewClient(storetest.RedisOptions(t))
	t.Cleanup(func() { rdb.Close() })
	logger, logs := newTestLogger()
	processor, err := capture.NewProcessor(capture.ProcessorConfig{Store: st, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := nurture.NewSigner(strings.Repeat("import-api-test-secret-", 2))
	if err != nil {
		t.Fatal(err)
	}
	queue := asynq.NewClientFromRedisClient(rdb)
	eng, err := nurture.New(nurture.Config{Store: st, Queue: queue, Redis: rdb, Signer: signer,
		BaseURL: "https://lf.example", Logger: logger,
		CanonicalEmail: func(email string) (string, error) {
			_, canonical, err := capture.NormalizeEmail(email)
			return canonical, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	importer, err := capture.NewImporter(capture.ImporterConfig{Store: st, Resolver: processor, Logger: logger,
		Limits: capture.ImportLimits{MaxBytes: 64 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	api, err := capture.NewAPI(capture.APIConfig{Store: st, Enqueuer: queue, Merger: processor, Releaser: processor,
		Retrier: processor, Tasks: asynq.NewInspectorFromRedisClient(rdb), Mailer: noMailer{}, Referrer: processor,
		Unsuppressor: eng, Importer: importer, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	e := newEcho(logger, nil)
	capture.APIRoutes(e.Group("/api/v1", httpapi.Authenticate(st)), api, httpapi.RequireRole)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	b := &apiBundle{st: st, processor: processor, inspector: asynq.NewInspectorFromRedisClient(rdb), rdb: rdb, srv: srv, logs: logs}
	b.a = b.workspace(t, "acme")
	b.b = b.workspace(t, "globex")
	return b, importer
}

// upload posts a CSV file as an import with the form fields given.
func (b *apiBundle) upload(t *testing.T, key, filename string, data []byte, fields map[string]string) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+"/api/v1/imports", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// importCounts counts the rows every import table holds.
func importCounts(t *testing.T, b *apiBundle) [3]int {
	t.Helper()
	var n [3]int
	for i, table := range []string{"imports", "import_rows", "import_invalid_rows"} {
		if err := b.st.Pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n[i]); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

const boothList = "\ufeffFirst Name;Last Name;Email Address;Company Name;Phone Number\r\n" +
	"Ana;Lopez;ana@example.com;Acme;+1 415 555 0100\r\n" +
	"Bo;Li;not-an-email;Globex;\r\n" +
	"Cy;Ng;;Initech;\r\n" +
	"Di;Oh;di@example.com;\"Hooli\nEMEA\";\r\n"

func TestImportAPIUploadProgressAndInvalidRows(t *testing.T) {
	t.Parallel()
	b, _ := setupImportAPI(t)
	status, data := b.upload(t, b.a.marketing, "booth.csv", []byte(boothList), map[string]string{"campaign": "expo-2026"})
	if status != http.StatusAccepted {
		t.Fatalf("upload = %d: %s", status, data)
	}
	im := decodeImport[capture.Import](t, data)
	if diff := cmp.Diff(capture.ImportRows{Read: 4, Invalid: 2}, im.Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if im.Name != "booth" || im.Kind != "leads" || im.Campaign != "expo-2026" {
		t.Errorf("import = %+v", im)
	}
	wantMapping := []capture.ImportColumn{{Column: "First Name", Field: "first_name"}, {Column: "Last Name", Field: "last_name"},
		{Column: "Email Address", Field: "email"}, {Column: "Company Name", Field: "company"}, {Column: "Phone Number", Field: "phone"}}
	if diff := cmp.Diff(wantMapping, im.Mapping); diff != "" {
		t.Errorf("mapping (-want +got):\n%s", diff)
	}
	got := expectJSON[capture.Import](t, b, http.StatusOK, b.a.marketing, http.MethodGet, "/api/v1/imports/"+im.ID.String(), nil)
	if got.ID != im.ID || got.Rows != im.Rows {
		t.Errorf("GET = %+v, want %+v", got, im)
	}
	status, data = b.call(t, b.a.marketing, http.MethodGet, "/api/v1/imports/"+im.ID.String()+"/invalid.csv", nil)
	if status != http.StatusOK {
		t.Fatalf("invalid.csv = %d: %s", status, data)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"line", "reason", "First Name", "Last Name", "Email Address", "Company Name", "Phone Number"},
		{"3", "email: not a valid email address: missing @", "Bo", "Li", "not-an-email", "Globex", ""},
		{"4", "no email and no phone", "Cy", "Ng", "", "Initech", ""},
	}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Errorf("invalid.csv (-want +got):\n%s", diff)
	}
	// Another workspace sees none of it.
	if status, _ := b.call(t, b.b.marketing, http.MethodGet, "/api/v1/imports/"+im.ID.String(), nil); status != http.StatusNotFound {
		t.Errorf("other workspace GET = %d, want 404", status)
	}
}

func TestImportAPISameFileTwiceCreatesNothingNew(t *testing.T) {
	t.Parallel()
	b, _ := setupImportAPI(t)
	status, data := b.upload(t, b.a.marketing, "booth.csv", []byte(boothList), nil)
	if status != http.StatusAccepted {
		t.Fatalf("first upload = %d: %s", status, data)
	}
	first := decodeImport[capture.Import](t, data)
	before := importCounts(t, b)
	status, data = b.upload(t, b.a.admin, "again.csv", []byte(boothList), map[string]string{"name": "again"})
	if status != http.StatusOK {
		t.Fatalf("second upload = %d, want 200: %s", status, data)
	}
	if again := decodeImport[capture.Import](t, data); again.ID != first.ID || again.Name != "booth" {
		t.Errorf("second upload answered %+v, want the first import %s", again, first.ID)
	}
	if after := importCounts(t, b); after != before {
		t.Errorf("rows after the second upload = %v, want %v", after, before)
	}
}

func TestImportAPIRefusesBadFilesAndChangesNothing(t *testing.T) {
	t.Parallel()
	b, _ := setupImportAPI(t)
	tests := []struct {
		name   string
		data   []byte
		fields map[string]string
		status int
		say    string
	}{
		{"no email or phone column", []byte("First Name,Company\nAna,Acme\n"), nil, http.StatusBadRequest, "no column is mapped to email or phone"},
		{"binary", []byte("PK\x03\x04\x00\x00\x08\x00\xff\xfe garbage"), nil, http.StatusBadRequest, "binary"},
		{"invalid utf-8", []byte("Email,Name\na@example.com,Ana\nb@example.com,\xff\n"), nil, http.StatusBadRequest, "line 3: not valid UTF-8"},
		{"mapping not json", []byte("Email\na@example.com\n"), map[string]string{"mapping": "{"}, http.StatusBadRequest, "mapping must be a JSON object"},
		{"too large", append([]byte("Email\n"), bytes.Repeat([]byte("a@example.com\n"), 6000)...), nil, http.StatusBadRequest, "larger than 65536 bytes"},
		{"far too large", append([]byte("Email\n"), bytes.Repeat([]byte("a@example.com\n"), 100000)...), nil, http.StatusRequestEntityTooLarge, "larger than 65536 bytes"},
	}
	for _, tt := range tests {
		status, data := b.upload(t, b.a.marketing, "list.csv", tt.data, tt.fields)
		if status != tt.status || !strings.Contains(string(data), tt.say) {
			t.Errorf("%s: %d %s, want %d saying %q", tt.name, status, data, tt.status, tt.say)
		}
	}
	if n := importCounts(t, b); n != [3]int{} {
		t.Errorf("rows after refused uploads = %v, want none", n)
	}
}

func TestImportAPIRoles(t *testing.T) {
	t.Parallel()
	b, _ := setupImportAPI(t)
	if status, data := b.upload(t, b.a.sales, "booth.csv", []byte(boothList), nil); status != http.StatusForbidden {
		t.Errorf("sales upload = %d, want 403: %s", status, data)
	}
	status, data := b.upload(t, b.a.marketing, "booth.csv", []byte(boothList), nil)
	if status != http.StatusAccepted {
		t.Fatalf("marketing upload = %d: %s", status, data)
	}
	im := decodeImport[capture.Import](t, data)
	for _, path := range []string{"/api/v1/imports/" + im.ID.String(), "/api/v1/imports/" + im.ID.String() + "/invalid.csv"} {
		if status, _ := b.call(t, b.a.sales, http.MethodGet, path, nil); status != http.StatusForbidden {
			t.Errorf("sales GET %s = %d, want 403", path, status)
		}
	}
}

func decodeImport[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}
