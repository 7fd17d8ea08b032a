package capture_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"leadflow/capture"
	"leadflow/store"
	"leadflow/store/storetest"
)

// intakeBundle is a running capture endpoint on a fresh database and a Redis
// database of its own.
type intakeBundle struct {
	dbURL     string
	store     *store.Store
	intake    *capture.Intake
	echo      *echo.Echo
	enqueuer  *flakyEnqueuer
	inspector *asynq.Inspector
	workspace store.Workspace
	logs      *intakeLogs
	redis     *redis.Client
}

type intakeOptions struct {
	// limiterRedis replaces the rate limiter's Redis client.
	limiterRedis redis.UniversalClient
	maxBatch     int
	// dbVia, when set, makes the intake reach the bundle's database
	// through a different address (a proxy that can cut it).
	dbVia func(t testing.TB, dbURL string) string
	// now is the intake's clock.
	now          func() time.Time
	formCacheTTL time.Duration
}

func setupIntake(t testing.TB, opts intakeOptions) *intakeBundle {
	t.Helper()
	ctx := context.Background()
	dbURL := storetest.DatabaseURL(t)
	s, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	intakeStore := s
	if opts.dbVia != nil {
		if intakeStore, err = store.Open(ctx, opts.dbVia(t, dbURL)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(intakeStore.Close)
	}
	rdb := redis.NewClient(storetest.RedisOptions(t))
	t.Cleanup(func() { rdb.Close() })
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { client.Close() })
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	t.Cleanup(func() { inspector.Close() })
	ws, err := s.EnsureWorkspace(ctx, "intake-test")
	if err != nil {
		t.Fatal(err)
	}
	b := &intakeBundle{
		dbURL:     dbURL,
		store:     s,
		enqueuer:  &flakyEnqueuer{next: client},
		inspector: inspector,
		workspace: ws,
		logs:      &intakeLogs{},
		redis:     rdb,
	}
	limiter := redis.UniversalClient(rdb)
	if opts.limiterRedis != nil {
		limiter = opts.limiterRedis
	}
	b.intake, err = capture.NewIntake(capture.IntakeConfig{
		Store:        intakeStore,
		Enqueuer:     b.enqueuer,
		Redis:        limiter,
		Logger:       slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MaxBatch:     opts.maxBatch,
		Now:          opts.now,
		FormCacheTTL: opts.formCacheTTL,
	})
	if err != nil {
		t.Fatal(err)
	}
	b.intake.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.intake.Close(ctx); err != nil {
			t.Errorf("close intake: %v", err)
		}
	})
	b.echo = echo.New()
	b.echo.IPExtractor = echo.ExtractIPDirect()
	capture.IntakeRoutes(b.echo, b.intake)
	return b
}

// newForm stores a form of the bundle's workspace; zero fields take the
// defaults.
func (b *intakeBundle) newForm(t testing.TB, f store.Form) store.Form {
	t.Helper()
	f.WorkspaceID = b.workspace.ID
	if f.Kind == "" {
		f.Kind = store.FormContactUs
	}
	form, err := b.store.InsertForm(context.Background(), f)
	if err != nil {
		t.Fatalf("insert form: %v", err)
	}
	return form
}

// intakeRequest is one post to the capture endpoint.
type intakeRequest struct {
	method      string // POST unless set
	key         string
	contentType string
	body        io.Reader
	header      map[string]string
	ip          string // client address, 192.0.2.1 unless set
}

func (b *intakeBundle) do(t testing.TB, r intakeRequest) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(orDefault(r.method, http.MethodPost), "/f/"+r.key, r.body)
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	req.RemoteAddr = orDefault(r.ip, "192.0.2.1") + ":40000"
	rec := httptest.NewRecorder()
	b.echo.ServeHTTP(rec, req)
	return rec
}

// postForm posts values as a browser's plain HTML form does.
func (b *intakeBundle) postForm(t testing.TB, key string, values url.Values) *httptest.ResponseRecorder {
	t.Helper()
	return b.do(t, intakeRequest{
		key:         key,
		contentType: "application/x-www-form-urlencoded",
		body:        strings.NewReader(values.Encode()),
		header:      map[string]string{"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
	})
}

// postJSON posts a JSON object as a script or server does.
func (b *intakeBundle) postJSON(t testing.TB, key string, body any) *httptest.ResponseRecorder {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return b.do(t, intakeRequest{key: key, contentType: "application/json", body: bytes.NewReader(data)})
}

// accepted decodes a 202 and returns the response ID.
func acceptedID(t testing.TB, rec *httptest.ResponseRecorder) uuid.UUID {
	t.Helper()
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status = %d, want 202; body: %s", rec.Code, rec.Body)
	}
	var body struct {
		ResponseID uuid.UUID `json:"response_id"`
		Status     string    `json:"status"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("decode 202 body %q: %v", rec.Body, err)
	}
	if body.Status != "accepted" || body.ResponseID == uuid.Nil {
		t.Fatalf("202 body = %s", rec.Body)
	}
	return body.ResponseID
}

func (b *intakeBundle) responses(t testing.TB, formID uuid.UUID) []store.Response {
	t.Helper()
	rs, err := b.store.ListResponses(context.Background(), b.workspace.ID, store.ResponseFilter{FormID: formID, Page: store.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func (b *intakeBundle) onlyResponse(t testing.TB, formID uuid.UUID) store.Response {
	t.Helper()
	rs := b.responses(t, formID)
	if len(rs) != 1 {
		t.Fatalf("form has %d responses, want 1", len(rs))
	}
	return rs[0]
}

func responseFields(t testing.TB, r store.Response) capture.Fields {
	t.Helper()
	var f capture.Fields
	if err := json.Unmarshal(r.Fields, &f); err != nil {
		t.Fatalf("decode fields %s: %v", r.Fields, err)
	}
	return f
}

// waitEnqueued waits until the response's processing task is in the queue.
func (b *intakeBundle) waitEnqueued(t testing.TB, id uuid.UUID) {
	t.Helper()
	var err error
	intakeWait(t, "response:process task of "+id.String(), func() bool {
		_, err = b.inspector.GetTaskInfo(capture.Queue, capture.TypeProcessResponse+":"+id.String())
		return err == nil
	})
}

// closeIntake drains the intake, so everything committed has had its
// enqueue attempted.
func (b *intakeBundle) closeIntake(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.intake.Close(ctx); err != nil {
		t.Fatalf("close intake: %v", err)
	}
}

func (b *intakeBundle) notEnqueued(t testing.TB, id uuid.UUID) {
	t.Helper()
	_, err := b.inspector.GetTaskInfo(capture.Queue, capture.TypeProcessResponse+":"+id.String())
	if !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		t.Errorf("task of response %s: err = %v, want not found", id, err)
	}
}

func intakeWait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// flakyEnqueuer is the real enqueuer, failing on demand as it does when
// Redis is down.
type flakyEnqueuer struct {
	next  capture.Enqueuer
	fail  atomic.Bool
	calls atomic.Int64
}

func (f *flakyEnqueuer) EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	f.calls.Add(1)
	if f.fail.Load() {
		return nil, errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	}
	return f.next.EnqueueContext(ctx, task, opts...)
}

type intakeLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *intakeLogs) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *intakeLogs) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestIntakeSalesforceWebToLead(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{})
	form := b.newForm(t, store.Form{
		AllowedReturnURLs: []string{"https://www.example.com/thanks"},
		ThankYouURL:       "https://www.example.com/fallback",
		Campaign:          "form-campaign",
		ConsentText:       "You may email me.",
	})
	// A form written for Salesforce, only its action changed.
	values := url.Values{
		"oid":                {"00D5e000000abcd"},
		"retURL":             {"https://www.example.com/thanks/contact?from=form"},
		"first_name":         {"ada"},
		"last_name":          {"LOVELACE"},
		"email":              {" Ada.Lovelace+web@Example.COM "},
		"company":            {"  Analytical   Engines "},
		"phone":              {"(415) 555-2671"},
		"title":              {"Mathematician"},
		"city":               {"London"},
		"state":              {"Greater London"},
		"country":            {"GB"},
		"lead_source":        {"Web"},
		"description":        {"Interested in\r\nthe engine."},
		"Campaign_ID":        {"7015e000000XyZ"},
		"00N5e00000Abc12":    {"Blue", "Green"},
		"product_interest":   {"Difference Engine"},
		"utm_source":         {"newsletter"},
		"utm_medium":         {"email"},
		"utm_campaign":       {"spring"},
		"consent":            {"on"},
		"how_did_you_hear":   {"a friend"},
		"submit":             {"Send"},
		"debugEmail":         {"admin@example.com"},
		"unknown_but_kept[]": {"x"},
	}
	req := intakeRequest{
		key:         form.Key + "?encoding=UTF-8",
		contentType: "application/x-www-form-urlencoded",
		body:        strings.NewReader(values.Encode()),
		header: map[string]string{
			"Accept":     "text/html",
			"User-Agent": "Mozilla/5.0 (test)",
			"Referer":    "https://www.example.com/contact",
		},
		ip: "203.0.113.9",
	}
	rec := b.do(t, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("status = %d, want 303; body: %s", rec.Code, rec.Body)
	}
	if got, want := rec.Header().Get("Location"), "https://www.example.com/thanks/contact?from=form"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}

	r := b.onlyResponse(t, form.ID)
	wantFields := capture.Fields{
		FirstName:       "Ada",
		LastName:        "Lovelace",
		Email:           "ada.lovelace+web@example.com",
		EmailCanonical:  "ada.lovelace@example.com",
		Phone:           "+14155552671",
		Company:         "Analytical Engines",
		Title:           "Mathematician",
		City:            "London",
		State:           "Greater London",
		Country:         "GB",
		LeadSource:      "Web",
		Description:     "Interested in\nthe engine.",
		CampaignID:      "7015e000000XyZ",
		ProductInterest: "Difference Engine",
		Consent:         true,
		ConsentText:     "You may email me.",
	}
	if diff := cmp.Diff(wantFields, responseFields(t, r)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	wantCustom := map[string]string{
		"00N5e00000Abc12":    "Blue;Green",
		"how_did_you_hear":   "a friend",
		"unknown_but_kept[]": "x",
	}
	if diff := cmp.Diff(wantCustom, r.Custom); diff != "" {
		t.Errorf("custom (-want +got):\n%s", diff)
	}
	wantUTM := map[string]string{"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring"}
	if diff := cmp.Diff(wantUTM, r.UTM); diff != "" {
		t.Errorf("utm (-want +got):\n%s", diff)
	}
	// The raw payload is every field as posted, the ignored and unknown ones
	// and the action URL's query included.
	wantRaw := map[string][]string{"encoding": {"UTF-8"}}
	for k, v := range values {
		wantRaw[k] = v
	}
	if diff := cmp.Diff(wantRaw, r.Raw); diff != "" {
		t.Errorf("raw (-want +got):\n%s", diff)
	}
	ip := netip.MustParseAddr("203.0.113.9")
	want := store.Response{
		ID: r.ID, WorkspaceID: b.workspace.ID, FormID: form.ID, ReceivedAt: r.ReceivedAt, IP: &ip,
		UserAgent: "Mozilla/5.0 (test)", Referrer: "https://www.example.com/contact",
		LeadSource: "Web", Campaign: "7015e000000XyZ",
		Verdict: store.VerdictOK, Status: store.ResponsePending,
		Channel: store.ChannelWeb, Answers: []store.Answer{},
	}
	r.Raw, r.Fields, r.Custom, r.UTM = nil, nil, nil, nil
	if diff := cmp.Diff(want, r, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	if age := time.Since(r.ReceivedAt); age < 0 || age > time.Minute {
		t.Errorf("received_at = %v, not the time of the post", r.ReceivedAt)
	}
	b.waitEnqueued(t, r.ID)
}

func TestIntakeReturnURLFallbacks(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{})
	withThanks := b.newForm(t, store.Form{
		AllowedReturnURLs: []string{"https://www.example.com/thanks"},
		ThankYouURL:       "https://www.example.com/fallback",
	})
	bare := b.newForm(t, store.Form{})
	values := url.Values{"email": {"ada@example.com"}, "retURL": {"https://elsewhere.example/thanks"}}

	rec := b.postForm(t, withThanks.Key, values)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "https://www.example.com/fallback" {
		t.Errorf("retURL not allowed: status %d, Location %q; want 303 to the thank-you URL", rec.Code, rec.Header().Get("Location"))
	}
	rec = b.postForm(t, bare.Key, values)
	if rec.Code != http.StatusOK || rec.Header().Get("Location") != "" {
		t.Fatalf("no thank-you URL: status %d, Location %q; want 200 page", rec.Code, rec.Header().Get("Location"))
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want text/html", ct)
	}
	if !strings.Contains(rec.Body.String(), "Thank you") {
		t.Errorf("page does not thank: %s", rec.Body)
	}
	if n := len(b.responses(t, withThanks.ID)) + len(b.responses(t, bare.ID)); n != 2 {
		t.Errorf("%d responses committed, want 2", n)
	}
}

func TestIntakeJSONAccepted(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{})
	form := b.newForm(t, store.Form{Campaign: "spring-webinar", DefaultRegion: "GB"})
	id := acceptedID(t, b.postJSON(t, form.Key, map[string]any{
		"email":            "grace@example.com",
		"phone":            "020 7946 0958",
		"first_name":       "Grace",
		"consent":          true,
		"employees":        250,
		"product_interest": []string{"Compilers", "Cobol"},
		"nothing":          nil,
	}))
	r, err := b.store.GetResponse(context.Background(), b.workspace.ID, id)
	if err != nil {
		t.Fatalf("response %s not committed: %v", id, err)
	}
	want := capture.Fields{
		FirstName: "Grace", Email: "grace@example.com", EmailCanonical: "grace@example.com",
		Phone: "+442079460958", ProductInterest: "Compilers", Consent: true,
	}
	if diff := cmp.Diff(want, responseFields(t, r)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"employees": "250"}, r.Custom); diff != "" {
		t.Errorf("custom (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Compilers", "Cobol"}, r.Raw["product_interest"]); diff != "" {
		t.Errorf("raw product_interest (-want +got):\n%s", diff)
	}
	if r.Campaign != "spring-webinar" {
		t.Errorf("campaign = %q, want the form's", r.Campaign)
	}
	b.waitEnqueued(t, id)

	// Accept: application/json asks for JSON whatever the body.
	rec := b.do(t, intakeRequest{
		key: form.Key, contentType: "application/x-www-form-urlencoded",
		body:   strings.NewReader("email=alan%40example.com&retURL=https%3A%2F%2Fx.example%2F"),
		header: map[string]string{"Accept": "application/json"},
	})
	acceptedID(t, rec)

	// Another workspace does not see the response.
	other, err := b.store.EnsureWorkspace(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.GetResponse(context.Background(), other.ID, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetResponse from another workspace: err = %v, want ErrNotFound", err)
	}
}

func TestIntakeMultipartFile(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{})
	form := b.newForm(t, store.Form{MaxFileBytes: 1024})
	noFiles := b.newForm(t, store.Form{})

	post := func(key string, file []byte) *httptest.ResponseRecorder {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		_ = w.WriteField("email", "ada@example.com")
		_ = w.WriteField("last_name", "lovelace")
		fw, _ := w.CreateFormFile("resume", "../../etc/ada's notes.txt")
		_, _ = fw.Write(file)
		_ = w.Close()
		return b.do(t, intakeRequest{key: key, contentType: w.FormDataContentType(), body: &body,
			header: map[string]string{"Accept": "application/json"}})
	}

	content := bytes.Repeat([]byte("note "), 200) // 1000 bytes
	id := acceptedID(t, post(form.Key, content))
	r, err := b.store.GetResponse(context.Background(), b.workspace.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := responseFields(t, r).LastName; got != "Lovelace" {
		t.Errorf("last name = %q", got)
	}
	var f store.ResponseFile
	err = b.store.Pool.QueryRow(context.Background(), `
		SELECT field, filename, content_type, size, data FROM response_files
		WHERE workspace_id = $1 AND response_id = $2`, b.workspace.ID, id).
		Scan(&f.Field, &f.Filename, &f.ContentType, &f.Size, &f.Data)
	if err != nil {
		t.Fatalf("response file: %v", err)
	}
	want := store.ResponseFile{Field: "resume", Filename: "ada's notes.txt", ContentType: "application/octet-stream", Size: 1000, Data: content}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}

	rec := post(form.Key, bytes.Repeat([]byte("x"), 1025))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("file over the limit: status %d, want 413", rec.Code)
	}
	rec = post(noFiles.Key, []byte("hello"))
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "does not accept files") {
		t.Errorf("file to a form without files: status %d body %s, want 422 naming it", rec.Code, rec.Body)
	}
	if n := len(b.responses(t, form.ID)) + len(b.responses(t, noFiles.ID)); n != 1 {
		t.Errorf("%d responses committed, want 1", n)
	}
}

func TestIntakeValidation(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{})
	hostile := `<img src=x onerror=alert(1)>`
	form := b.newForm(t, store.Form{FieldMapping: map[string]string{hostile: "email"}})

	tests := []struct {
		name string
		body any
		want map[string]string
	}{
		{"no email nor phone", map[string]any{"first_name": "Ada"},
			map[string]string{"email": "an email address or a phone number is required"}},
		{"bad email", map[string]any{"email": "ada@"},
			map[string]string{"email": "not a valid email address: invalid domain"}},
		{"bad phone", map[string]any{"phone": "12"},
			map[string]string{"phone": "not a valid phone number"}},
		{"too long", map[string]any{"email": "ada@example.com", "company": strings.Repeat("é", 256), "description": strings.Repeat("d", 5001)},
			map[string]string{"company": "must be at most 255 characters", "description": "must be at most 5000 characters"}},
		{"nested object", map[string]any{"email": "ada@example.com", "address": map[string]any{"city": "x"}},
			map[string]string{"address": "must be a string, number, boolean or a list of them"}},
	}
	for _, tt := range tests {
		rec := b.postJSON(t, form.Key, tt.body)
		if rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422; body %s", tt.name, rec.Code, rec.Body)
			continue
		}
		var body struct {
			Code    string            `json:"code"`
			Message string            `json:"message"`
			Fields  map[string]string `json:"fields"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: decode: %v", tt.name, err)
		}
		if body.Code != "validation_failed" || body.Message == "" {
			t.Errorf("%s: code %q message %q", tt.name, body.Code, body.Message)
		}
		if diff := cmp.Diff(tt.want, body.Fields); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s", tt.name, diff)
		}
	}

	// A plain HTML post gets a page naming the field, escaped: here the
	// field's name itself is hostile markup.
	rec := b.postForm(t, form.Key, url.Values{hostile: {"<script>alert(2)</script>"}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("HTML post: status %d, want 422", rec.Code)
	}
	page := rec.Body.String()
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("HTML post: Content-Type %q", rec.Header().Get("Content-Type"))
	}
	if strings.Contains(page, "<img") || strings.Contains(page, "<script") {
		t.Errorf("page carries unescaped markup:\n%s", page)
	}
	if !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt;") || !strings.Contains(page, "not a valid email address") {
		t.Errorf("page does not name the field and its fault:\n%s", page)
	}
	if n := len(b.responses(t, form.ID)); n != 0 {
		t.Errorf("%d invalid responses committed, want 0", n)
	}
}

func TestIntakeRefusals(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{})
	form := b.newForm(t, store.Form{MaxBodyBytes: 1024})

	// An oversized body is refused without being read whole.
	huge := &countingReader{r: io.MultiReader(strings.NewReader("email=ada%40example.com&description="), neverEnding('a')), limit: 64 << 20}
	rec := b.do(t, intakeRequest{key: form.Key, contentType: "application/x-www-form-urlencoded", body: huge})
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d, want 413", rec.Code)
	}
	if n := huge.n.Load(); n > 64<<10 {
		t.Errorf("read %d bytes of an oversized body; it should stop near the 1 KiB limit", n)
	}
	rec = b.postJSON(t, form.Key, map[string]string{"email": "ada@example.com", "description": strings.Repeat("x", 2000)})
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), `"too_large"`) {
		t.Errorf("oversized JSON: status %d body %s, want 413 too_large", rec.Code, rec.Body)
	}

	for _, key := range []string{"no-such-form", "x", "bad key!", strings.Repeat("k", 65)} {
		rec := b.postJSON(t, url.PathEscape(key), map[string]string{"email": "ada@example.com"})
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"not_found"`) {
			t.Errorf("form %q: status %d body %s, want 404 not_found", key, rec.Code, rec.Body)
		}
	}
	rec = b.postForm(t, "no-such-form", url.Values{"email": {"ada@example.com"}})
	if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("unknown form, HTML post: status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}

	rec = b.do(t, intakeRequest{key: form.Key, contentType: "text/plain", body: strings.NewReader("email=ada@example.com")})
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: status %d, want 415", rec.Code)
	}
	for _, body := range []string{`{"email": "ada@example.com"`, `["ada@example.com"]`, `{"email":"a@example.com"} {}`} {
		rec = b.do(t, intakeRequest{key: form.Key, contentType: "application/json", body: strings.NewReader(body)})
		if rec.Code != http.StatusBadRequest {
			t.Errorf("malformed JSON %q: status %d, want 400", body, rec.Code)
		}
	}
	if n := len(b.responses(t, form.ID)); n != 0 {
		t.Errorf("%d refused responses committed, want 0", n)
	}
}

// neverEnding is an endless body.
type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// countingReader counts what the handler read of a body; past limit it
// ends, so a handler that reads everything fails the test instead of
// hanging.
type countingReader struct {
	r     io.Reader
	n     atomic.Int64
	limit int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n.Load() >= c.limit {
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestIntakeRateLimit(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{})
	limited := b.newForm(t, store.Form{RateLimitPerMinute: 3})
	unlimited := b.newForm(t, store.Form{RateLimitPerMinute: 0})
	post := func(key, ip string) *httptest.ResponseRecorder {
		return b.do(t, intakeRequest{key: key, contentType: "application/json", ip: ip,
			body: strings.NewReader(`{"email":"ada@example.com"}`)})
	}
	for range 3 {
		acceptedID(t, post(limited.Key, "198.51.100.1"))
	}
	rec := post(limited.Key, "198.51.100.1")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("4th post in a minute: status %d, want 429", rec.Code)
	}
	if ra := rec.Header().Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After = %q, want seconds to the next window", ra)
	}
	// Another client is counted apart.
	acceptedID(t, post(limited.Key, "198.51.100.2"))
	if n := len(b.responses(t, limited.ID)); n != 4 {
		t.Errorf("%d responses committed, want 4: a rate-limited post is not stored", n)
	}
	for range 10 {
		acceptedID(t, post(unlimited.Key, "198.51.100.1"))
	}
}

func TestIntakeHoneypot(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{})
	form := b.newForm(t, store.Form{HoneypotField: "website", AllowedReturnURLs: []string{"https://www.example.com/"}})

	spam := b.postForm(t, form.Key, url.Values{
		"email": {"bot@example.com"}, "website": {"http://spam.example"}, "retURL": {"https://www.example.com/thanks"},
	})
	human := b.postForm(t, form.Key, url.Values{
		"email": {"ada@example.com"}, "website": {""}, "retURL": {"https://www.example.com/thanks"},
	})
	// The bot is answered like a person.
	for _, rec := range []*httptest.ResponseRecorder{spam, human} {
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "https://www.example.com/thanks" {
			t.Errorf("status %d Location %q, want 303 to the return URL", rec.Code, rec.Header().Get("Location"))
		}
	}
	b.closeIntake(t)
	byEmail := map[string]store.Response{}
	for _, r := range b.responses(t, form.ID) {
		byEmail[responseFields(t, r).Email] = r
	}
	got := byEmail["bot@example.com"]
	if got.Verdict != store.VerdictSpam || got.VerdictReason != capture.SpamHoneypot || got.Status != store.ResponseHeld {
		t.Errorf("honeypot response: verdict %q reason %q status %q; want spam, honeypot, held", got.Verdict, got.VerdictReason, got.Status)
	}
	if _, ok := got.Custom["website"]; ok {
		t.Errorf("honeypot kept as custom data: %v", got.Custom)
	}
	b.notEnqueued(t, got.ID)
	ok := byEmail["ada@example.com"]
	if ok.Verdict != store.VerdictOK || ok.Status != store.ResponsePending {
		t.Errorf("empty honeypot: verdict %q status %q; want ok, pending", ok.Verdict, ok.Status)
	}
	b.waitEnqueued(t, ok.ID)
}

func TestIntakeLinkInName(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{})
	form := b.newForm(t, store.Form{})
	names := map[string]string{
		"https://cheap.example/pills":  "",
		"Visit www.example.org":        "",
		"Ada <a href=x>":               "",
		"Win at casino.ru":             "",
		"ht\u200btps://hidden.example": "",
		"Ada":                          "Lovelace",
		"Jean-Luc":                     "O'Neil",
	}
	ids := map[string]uuid.UUID{}
	for first, last := range names {
		ids[first] = acceptedID(t, b.postJSON(t, form.Key, map[string]string{"email": "x@example.com", "first_name": first, "last_name": last}))
	}
	for first, id := range ids {
		r, err := b.store.GetResponse(context.Background(), b.workspace.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		wantSpam := names[first] == ""
		if gotSpam := r.Verdict == store.VerdictSpam && r.VerdictReason == capture.SpamLinkInName && r.Status == store.ResponseHeld; gotSpam != wantSpam {
			t.Errorf("name %q: verdict %q reason %q status %q, want spam %v", first, r.Verdict, r.VerdictReason, r.Status, wantSpam)
		}
	}
}

func TestIntakeRedisDown(t *testing.T) {
	t.Parallel()
	// A Redis that is not there: a port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	down := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { down.Close() })

	b := setupIntake(t, intakeOptions{limiterRedis: down})
	b.enqueuer.fail.Store(true)
	form := b.newForm(t, store.Form{RateLimitPerMinute: 1})
	var ids []uuid.UUID
	for i := range 5 {
		ids = append(ids, acceptedID(t, b.postJSON(t, form.Key, map[string]string{"email": fmt.Sprintf("p%d@example.com", i)})))
	}
	for _, id := range ids {
		if _, err := b.store.GetResponse(context.Background(), b.workspace.ID, id); err != nil {
			t.Errorf("response %s answered 202 but not committed: %v", id, err)
		}
	}
	b.closeIntake(t)
	if got := b.enqueuer.calls.Load(); got != int64(len(ids)) {
		t.Errorf("%d enqueue attempts, want %d", got, len(ids))
	}
	logs := b.logs.String()
	for _, msg := range []string{"msg=enqueue_failed", "msg=rate_limit_unavailable"} {
		if !strings.Contains(logs, msg) {
			t.Errorf("logs lack %s:\n%s", msg, logs)
		}
	}
	for _, r := range b.responses(t, form.ID) {
		if r.Status != store.ResponsePending {
			t.Errorf("response %s status %q, want pending (for the sweeper)", r.ID, r.Status)
		}
	}
}

func TestIntakeConcurrentPosts(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{maxBatch: 64})
	form := b.newForm(t, store.Form{})
	const posts = 200
	var wg sync.WaitGroup
	codes := make([]int, posts)
	for i := range posts {
		wg.Go(func() {
			rec := b.postJSON(t, form.Key, map[string]string{"email": fmt.Sprintf("person%d@example.com", i)})
			codes[i] = rec.Code
		})
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusAccepted {
			t.Errorf("post %d: status %d, want 202", i, code)
		}
	}
	var committed int
	if err := b.store.Pool.QueryRow(context.Background(),
		`SELECT count(DISTINCT fields->>'email') FROM responses WHERE form_id = $1`, form.ID).Scan(&committed); err != nil {
		t.Fatal(err)
	}
	if committed != posts {
		t.Errorf("%d distinct responses committed, want %d", committed, posts)
	}
	b.closeIntake(t)
	info, err := b.inspector.GetQueueInfo(capture.Queue)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending != posts {
		t.Errorf("%d tasks pending, want %d", info.Pending, posts)
	}
}

func TestIntakeOpenRedirect(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{})
	form := b.newForm(t, store.Form{
		AllowedReturnURLs: []string{"https://www.example.com/thanks"},
		ThankYouURL:       "https://www.example.com/default",
	})
	tests := []struct{ retURL, want string }{
		{"https://www.example.com/thanks", "https://www.example.com/thanks"},
		{"https://WWW.EXAMPLE.COM/thanks/sub?x=1#top", "https://WWW.EXAMPLE.COM/thanks/sub?x=1#top"},
		{"javascript:alert(1)", ""},
		{"JaVaScRiPt:alert(1)//https://www.example.com/thanks", ""},
		{"data:text/html,<script>alert(1)</script>", ""},
		{"//evil.example/thanks", ""},
		{"/thanks", ""},
		{"https:evil.example/thanks", ""},
		{"https:/\\evil.example/thanks", ""},
		{"https://www.example.com\\@evil.example/thanks", ""},
		{"https://www.example.com@evil.example/thanks", ""},
		{"https://user:pw@www.example.com/thanks", ""},
		{"https://www.example.com.evil.example/thanks", ""},
		{"https://www.example.com/thanksgiving", ""},
		{"https://www.example.com/thanks/../admin", ""},
		{"https://www.example.com/thanks/%2e%2e/admin", ""},
		{"https://www.example.com/thanks%2f..%2fadmin", ""},
		{"https://www.example.com//evil.example/thanks", ""},
		{"http://www.example.com/thanks", ""},
		{"https://www.example.com:8443/thanks", ""},
		{"https://www.example.com/thanks\r\nSet-Cookie: a=b", ""},
		{" https://www.example.com/thanks\t", "https://www.example.com/thanks"},
		{"https://www.example.com/thanks\u202e", ""},
	}
	for _, tt := range tests {
		rec := b.postForm(t, form.Key, url.Values{"email": {"ada@example.com"}, "retURL": {tt.retURL}})
		want := orDefault(tt.want, "https://www.example.com/default")
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
			t.Errorf("retURL %q: status %d Location %q, want 303 to %q", tt.retURL, rec.Code, rec.Header().Get("Location"), want)
		}
	}
}

func TestIntakeFieldMapping(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{})
	form := b.newForm(t, store.Form{FieldMapping: map[string]string{
		"your-email": "email", "fname": "first_name", "Interest": "product_interest", "src": "utm_source",
	}})
	id := acceptedID(t, b.postJSON(t, form.Key, map[string]string{
		"your-email": "ADA@example.com", "fname": "ada", "Interest": "Engines", "src": "ad", "mobile": "+1 415 555 2671",
	}))
	r, err := b.store.GetResponse(context.Background(), b.workspace.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	want := capture.Fields{FirstName: "Ada", Email: "ada@example.com", EmailCanonical: "ada@example.com", Phone: "+14155552671", ProductInterest: "Engines"}
	if diff := cmp.Diff(want, responseFields(t, r)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"utm_source": "ad"}, r.UTM); diff != "" {
		t.Errorf("utm (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{}, r.Custom); diff != "" {
		t.Errorf("custom (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ADA@example.com"}, r.Raw["your-email"]); diff != "" {
		t.Errorf("raw keeps the posted name (-want +got):\n%s", diff)
	}
	// Errors name the field as the form posted it.
	rec := b.postJSON(t, form.Key, map[string]string{"your-email": "nope"})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"your-email"`) {
		t.Errorf("status %d body %s, want 422 naming your-email", rec.Code, rec.Body)
	}
}

func TestIntakeCORS(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{})
	form := b.newForm(t, store.Form{AllowedOrigins: []string{"https://www.example.com"}})
	preflight := func(origin string) *httptest.ResponseRecorder {
		return b.do(t, intakeRequest{method: http.MethodOptions, key: form.Key, header: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type",
		}})
	}
	rec := preflight("https://www.example.com")
	if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "https://www.example.com" ||
		!strings.Contains(rec.Header().Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(strings.ToLower(rec.Header().Get("Access-Control-Allow-Headers")), "content-type") {
		t.Errorf("allowed preflight: status %d headers %v", rec.Code, rec.Header())
	}
	rec = preflight("https://evil.example")
	if rec.Code == http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: status %d headers %v", rec.Code, rec.Header())
	}
	post := func(origin string) *httptest.ResponseRecorder {
		return b.do(t, intakeRequest{key: form.Key, contentType: "application/json", body: strings.NewReader(`{"email":"ada@example.com"}`),
			header: map[string]string{"Origin": origin}})
	}
	if rec := post("https://www.example.com"); rec.Code != http.StatusAccepted || rec.Header().Get("Access-Control-Allow-Origin") != "https://www.example.com" {
		t.Errorf("post from allowed origin: status %d ACAO %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
	}
	if rec := post("https://evil.example"); rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("post from another origin got ACAO %q", rec.Header().Get("Access-Control-Allow-Origin"))
	}
	if rec := b.do(t, intakeRequest{method: http.MethodOptions, key: "no-such-form", header: map[string]string{"Origin": "https://www.example.com"}}); rec.Code != http.StatusNotFound {
		t.Errorf("preflight of unknown form: status %d, want 404", rec.Code)
	}
}

func TestIntakeLifecycle(t *testing.T) {
	t.Parallel()
	s := storetest.NewStore(t)
	rdb := redis.NewClient(storetest.RedisOptions(t))
	t.Cleanup(func() { rdb.Close() })
	enq := &flakyEnqueuer{}
	for _, cfg := range []capture.IntakeConfig{
		{Enqueuer: enq, Redis: rdb},
		{Store: s, Redis: rdb},
		{Store: s, Enqueuer: enq},
		{Store: s, Enqueuer: enq, Redis: rdb, MaxBatch: -1},
	} {
		if _, err := capture.NewIntake(cfg); err == nil {
			t.Errorf("NewIntake(%+v) = nil error", cfg)
		}
	}
	in, err := capture.NewIntake(capture.IntakeConfig{Store: s, Enqueuer: enq, Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	// Closing an intake never started is fine.
	if err := in.Close(context.Background()); err != nil {
		t.Errorf("Close before Start: %v", err)
	}

	b := setupIntake(t, intakeOptions{})
	form := b.newForm(t, store.Form{})
	acceptedID(t, b.postJSON(t, form.Key, map[string]string{"email": "ada@example.com"}))
	b.closeIntake(t)
	rec := b.postJSON(t, form.Key, map[string]string{"email": "late@example.com"})
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("post after Close: status %d, want 503", rec.Code)
	}
	if n := len(b.responses(t, form.ID)); n != 1 {
		t.Errorf("%d responses committed, want 1", n)
	}
}

// BenchmarkIntakeCommit posts in parallel through the real handler into
// PostgreSQL and reports committed responses per second.
func BenchmarkIntakeCommit(b *testing.B) {
	bb := setupIntake(b, intakeOptions{})
	form := bb.newForm(b, store.Form{})
	var n atomic.Int64
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := fmt.Sprintf(`{"email":"bench%d@example.com","first_name":"ada","company":"Engines","utm_source":"bench"}`, i)
			req := httptest.NewRequest(http.MethodPost, "/f/"+form.Key, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			bb.echo.ServeHTTP(rec, req)
			if rec.Code != http.StatusAccepted {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "responses/s")
}
