package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/capture"
	"leadflow/embed/httpapi"
	"leadflow/nurture"
	"leadflow/store"
	"leadflow/store/storetest"
)

// apiWorkspace is a workspace with a key of each role.
type apiWorkspace struct {
	ws                      store.Workspace
	admin, marketing, sales string
}

type apiBundle struct {
	st        *store.Store
	processor *capture.Processor
	inspector *asynq.Inspector
	rdb       *redis.Client
	srv       *httptest.Server
	logs      *logBuffer
	// enqueueFails makes the API's enqueuer fail, as when Redis is down.
	enqueueFails *atomic.Bool
	a, b         apiWorkspace
	secrets      []string
}

// failingEnqueuer wraps the real queue client and fails on demand.
type failingEnqueuer struct {
	next capture.Enqueuer
	fail *atomic.Bool
}

func (f failingEnqueuer) EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	if f.fail.Load() {
		return nil, errors.New("dial tcp: connection refused")
	}
	return f.next.EnqueueContext(ctx, task, opts...)
}

// noMailer queues no email: the API tests built on setupAPI send none.
type noMailer struct{}

func (noMailer) QueuePromotion(context.Context, *store.Queries, store.EventRegistration) error {
	return nil
}

// setupAPI serves the admin API exactly as `serve` wires it, on a fresh
// database and Redis, with two workspaces holding a key of every role.
func setupAPI(t *testing.T) *apiBundle {
	t.Helper()
	st := storetest.NewStore(t)
	rdb := redis.NewClient(storetest.RedisOptions(t))
	t.Cleanup(func() { rdb.Close() })
	logger, logs := newTestLogger()
	processor, err := capture.NewProcessor(capture.ProcessorConfig{Store: st, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := nurture.NewSigner(strings.Repeat("capture-api-test-secret-", 2))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := nurture.New(nurture.Config{
		Store: st, Queue: asynq.NewClientFromRedisClient(rdb), Redis: rdb, Signer: signer,
		BaseURL: "https://lf.example", Logger: logger,
		CanonicalEmail: func(email string) (string, error) {
			_, canonical, err := capture.NormalizeEmail(email)
			return canonical, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	fails := &atomic.Bool{}
	api, err := capture.NewAPI(capture.APIConfig{
		Store:        st,
		Enqueuer:     failingEnqueuer{next: asynq.NewClientFromRedisClient(rdb), fail: fails},
		Merger:       processor,
		Releaser:     processor,
		Retrier:      processor,
		Tasks:        asynq.NewInspectorFromRedisClient(rdb),
		Mailer:       noMailer{},
		Referrer:     processor,
		Unsuppressor: eng,
		Logger:       logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := newEcho(logger, nil)
	capture.APIRoutes(e.Group("/api/v1", httpapi.Authenticate(st)), api, httpapi.RequireRole)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	b := &apiBundle{
		st: st, processor: processor, inspector: asynq.NewInspectorFromRedisClient(rdb), rdb: rdb,
		srv: srv, logs: logs, enqueueFails: fails,
	}
	b.a = b.workspace(t, "acme")
	b.b = b.workspace(t, "globex")
	return b
}

func (b *apiBundle) workspace(t *testing.T, name string) apiWorkspace {
	t.Helper()
	ws, err := b.st.EnsureWorkspace(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return apiWorkspace{
		ws:        ws,
		admin:     b.key(t, ws.ID, store.RoleAdmin),
		marketing: b.key(t, ws.ID, store.RoleMarketing),
		sales:     b.key(t, ws.ID, store.RoleSales),
	}
}

// key creates an API key with a random secret and returns the secret.
func (b *apiBundle) key(t *testing.T, ws uuid.UUID, role store.Role) string {
	t.Helper()
	raw := make([]byte, 32)
	rand.Read(raw)
	secret := "lf_" + hex.EncodeToString(raw)
	_, err := b.st.InsertAPIKey(context.Background(), store.APIKey{
		WorkspaceID: ws, Role: role, Name: string(role), Prefix: secret[:8],
	}, secret)
	if err != nil {
		t.Fatal(err)
	}
	b.secrets = append(b.secrets, secret)
	return secret
}

// call makes a request; body is sent as is when a string, else as JSON.
func (b *apiBundle) call(t *testing.T, key, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, ok := body.(string)
		if !ok {
			raw, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			data = string(raw)
		}
		rd = strings.NewReader(data)
	}
	req, err := http.NewRequest(method, b.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
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

// ok makes a request that must answer want, and decodes the answer.
func expectJSON[T any](t *testing.T, b *apiBundle, want int, key, method, path string, body any) T {
	t.Helper()
	status, data := b.call(t, key, method, path, body)
	if status != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, status, want, data)
	}
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
	}
	return v
}

// failure makes a request that must fail with status and code, and returns
// the fields named at fault.
func expectError(t *testing.T, b *apiBundle, status int, code, key, method, path string, body any) map[string]string {
	t.Helper()
	got, data := b.call(t, key, method, path, body)
	var e httpapi.ErrorBody
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("%s %s: error body %q: %v", method, path, data, err)
	}
	if got != status || e.Code != code {
		t.Fatalf("%s %s = %d %q, want %d %q: %s", method, path, got, e.Code, status, code, data)
	}
	return e.Fields
}

// fieldNames lists the fields at fault, sorted.
func fieldNames(fields map[string]string) []string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

type listBody[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

type leadBody struct {
	capture.Lead
	Responses          []capture.Response          `json:"responses"`
	Audit              []capture.AuditEntry        `json:"audit"`
	PossibleDuplicates []capture.PossibleDuplicate `json:"possible_duplicates"`
}

type eventBody struct {
	capture.Event
	Registered int `json:"registered"`
	Waitlisted int `json:"waitlisted"`
}

func idsOf[T any](items []T, id func(T) uuid.UUID) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(items))
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

func formID(f capture.Form) uuid.UUID         { return f.ID }
func leadID(l capture.Lead) uuid.UUID         { return l.ID }
func responseID(r capture.Response) uuid.UUID { return r.ID }
func contactID(c capture.Contact) uuid.UUID   { return c.ID }
func eventID(e capture.Event) uuid.UUID       { return e.ID }

// form makes a contact-us form (or event registration when eventID is set)
// directly in the store.
func (b *apiBundle) form(t *testing.T, ws uuid.UUID, event *uuid.UUID) store.Form {
	t.Helper()
	f := store.Form{WorkspaceID: ws, Kind: store.FormContactUs, EventID: event}
	if event != nil {
		f.Kind = store.FormEventRegistration
	}
	f, err := b.st.InsertForm(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// person is a submission's normalised fields for an email, name and company.
func personFields(t *testing.T, email, first, last, company string) capture.Fields {
	t.Helper()
	e, canonical, err := capture.NormalizeEmail(email)
	if err != nil {
		t.Fatal(err)
	}
	return capture.Fields{Email: e, EmailCanonical: canonical, FirstName: first, LastName: last, Company: company}
}

// submit commits a response as capture would; a spam one is held, anything
// else is processed at once by the real worker code.
func (b *apiBundle) submit(t *testing.T, f store.Form, fields capture.Fields, spam bool) store.Response {
	t.Helper()
	ctx := context.Background()
	raw, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	r := store.Response{
		ID: store.NewID(), WorkspaceID: f.WorkspaceID, FormID: f.ID, ReceivedAt: time.Now(),
		Raw: map[string][]string{"email": {fields.Email}}, Fields: raw,
	}
	if spam {
		r.Verdict, r.VerdictReason, r.Status = store.VerdictSpam, "honeypot", store.ResponseHeld
	}
	if err := b.st.InsertResponses(ctx, []store.Response{r}, nil); err != nil {
		t.Fatal(err)
	}
	if !spam {
		if _, err := b.processor.Process(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.st.GetResponse(ctx, f.WorkspaceID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestAPIRequiresAValidKey(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	revoked := b.key(t, b.a.ws.ID, store.RoleAdmin)
	if _, err := b.st.Pool.Exec(context.Background(), `UPDATE api_keys SET revoked_at = now() WHERE prefix = $1`, revoked[:8]); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, header, path string
		wantChallenge      string
	}{
		{"no key", "", "/api/v1/forms", `Bearer realm="leadflow"`},
		{"unknown key", "Bearer lf_not-a-real-key", "/api/v1/forms", `Bearer realm="leadflow", error="invalid_token"`},
		{"revoked key", "Bearer " + revoked, "/api/v1/forms", `Bearer realm="leadflow", error="invalid_token"`},
		{"wrong scheme", "Basic " + b.a.admin, "/api/v1/forms", `Bearer realm="leadflow"`},
		{"empty bearer", "Bearer ", "/api/v1/forms", `Bearer realm="leadflow"`},
		{"unknown route hides behind auth", "", "/api/v1/no-such-thing", `Bearer realm="leadflow"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, b.srv.URL+tt.path, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := b.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body httpapi.ErrorBody
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 401 || body.Code != "unauthorized" {
				t.Errorf("got %d %q, want 401 unauthorized", resp.StatusCode, body.Code)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantChallenge)
			}
		})
	}
	// The scheme is case-insensitive (RFC 9110).
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+"/api/v1/forms", nil)
	req.Header.Set("Authorization", "bearer "+b.a.admin)
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("lower-case scheme: status %d, want 200", resp.StatusCode)
	}
}

func TestAPIRolesLimitWhatKeysMayDo(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	lead := b.submit(t, b.form(t, b.a.ws.ID, nil), personFields(t, "pat@example.com", "Pat", "Doe", "Acme"), false)
	other := b.submit(t, b.form(t, b.a.ws.ID, nil), personFields(t, "sam@example.com", "Sam", "Roe", "Acme"), false)
	form := map[string]any{"kind": "contact_us"}
	contact := func() map[string]any { return map[string]any{"email": store.NewID().String() + "@example.com"} }
	merge := "/api/v1/leads/" + lead.LeadID.String() + "/merge"
	tests := []struct {
		name         string
		key          string
		method, path string
		body         any
		want         int
	}{
		{"sales may not create forms", b.a.sales, "POST", "/api/v1/forms", form, 403},
		{"sales may not read forms", b.a.sales, "GET", "/api/v1/forms", nil, 403},
		{"sales may not create events", b.a.sales, "POST", "/api/v1/events", map[string]any{"name": "x"}, 403},
		{"sales may not read responses", b.a.sales, "GET", "/api/v1/responses", nil, 403},
		{"sales may not release responses", b.a.sales, "POST", "/api/v1/responses/" + lead.ID.String() + "/release", nil, 403},
		{"sales may not merge", b.a.sales, "POST", merge, map[string]any{"other_id": other.LeadID}, 403},
		{"sales reads leads", b.a.sales, "GET", "/api/v1/leads", nil, 200},
		{"sales reads a lead", b.a.sales, "GET", "/api/v1/leads/" + lead.LeadID.String(), nil, 200},
		{"sales reads contacts", b.a.sales, "GET", "/api/v1/contacts", nil, 200},
		{"sales creates contacts", b.a.sales, "POST", "/api/v1/contacts", contact(), 201},
		{"marketing creates forms", b.a.marketing, "POST", "/api/v1/forms", form, 201},
		{"marketing reads responses", b.a.marketing, "GET", "/api/v1/responses", nil, 200},
		{"marketing creates contacts", b.a.marketing, "POST", "/api/v1/contacts", contact(), 201},
		{"admin creates forms", b.a.admin, "POST", "/api/v1/forms", form, 201},
		{"admin creates events", b.a.admin, "POST", "/api/v1/events", map[string]any{"name": "x"}, 201},
		{"admin merges", b.a.admin, "POST", merge, map[string]any{"other_id": other.LeadID}, 200},
	}
	for _, tt := range tests {
		status, body := b.call(t, tt.key, tt.method, tt.path, tt.body)
		if status != tt.want {
			t.Errorf("%s: %s %s = %d, want %d: %s", tt.name, tt.method, tt.path, status, tt.want, body)
		}
		if tt.want == 403 && !bytes.Contains(body, []byte(`"code":"forbidden"`)) {
			t.Errorf("%s: body %s, want code forbidden", tt.name, body)
		}
	}
}

func TestAPIFormsCreateReadListPatch(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	key := b.a.marketing
	ev := expectJSON[eventBody](t, b, 201, key, "POST", "/api/v1/events", map[string]any{"name": "Spring summit"})

	full := expectJSON[capture.Form](t, b, 201, key, "POST", "/api/v1/forms", map[string]any{
		"key":                   "spring-summit_2030",
		"name":                  "  Spring summit  ",
		"kind":                  "event_registration",
		"event_id":              ev.ID,
		"allowed_origins":       []string{"HTTPS://WWW.Example.com/", "http://localhost:3000"},
		"allowed_return_urls":   []string{"https://www.example.com/thanks"},
		"thank_you_url":         "https://www.example.com/thanks",
		"honeypot_field":        "website",
		"rate_limit_per_minute": 30,
		"default_region":        "gb",
		"campaign":              "spring-2030",
		"max_body_bytes":        32768,
		"max_file_bytes":        1 << 20,
		"field_mapping":         map[string]string{"Email_Address": "email"},
		"consent_text":          "I agree to be contacted.",
		"required_fields":       []string{" Email", "phone"},
		"max_custom_fields":     10,
	})
	want := capture.Form{
		ID: full.ID, Key: "spring-summit_2030", Name: "Spring summit", Kind: "event_registration",
		AllowedOrigins:     []string{"https://www.example.com", "http://localhost:3000"},
		AllowedReturnURLs:  []string{"https://www.example.com/thanks"},
		ThankYouURL:        "https://www.example.com/thanks",
		HoneypotField:      "website",
		RateLimitPerMinute: 30, DefaultRegion: "GB", EventID: &ev.ID, Campaign: "spring-2030",
		MaxBodyBytes: 32768, MaxFileBytes: 1 << 20,
		FieldMapping: map[string]string{"Email_Address": "email"},
		ConsentText:  "I agree to be contacted.",
		CreatedAt:    full.CreatedAt, UpdatedAt: full.UpdatedAt,
		RequiredFields: []string{"email", "phone"}, MaxCustomFields: 10, MaxCustomValueChars: 2000,
	}
	if diff := cmp.Diff(want, full); diff != "" {
		t.Errorf("created form (-want +got):\n%s", diff)
	}
	if got := expectJSON[capture.Form](t, b, 200, key, "GET", "/api/v1/forms/"+full.ID.String(), nil); !cmp.Equal(full, got) {
		t.Errorf("GET differs from POST:\n%s", cmp.Diff(full, got))
	}

	minimal := expectJSON[capture.Form](t, b, 201, key, "POST", "/api/v1/forms", map[string]any{"kind": "contact_us"})
	anywhere := expectJSON[capture.Form](t, b, 201, key, "POST", "/api/v1/forms",
		map[string]any{"kind": "contact_us", "allowed_origins": []string{"*"}})
	if diff := cmp.Diff([]string{"*"}, anywhere.AllowedOrigins); diff != "" {
		t.Errorf("any origin (-want +got):\n%s", diff)
	}
	if len(minimal.Key) != 22 || strings.Trim(minimal.Key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("generated key %q, want 22 URL-safe characters", minimal.Key)
	}
	wantDefaults := capture.Form{
		ID: minimal.ID, Key: minimal.Key, Kind: "contact_us", AllowedOrigins: []string{},
		AllowedReturnURLs: []string{}, DefaultRegion: "US", MaxBodyBytes: 64 << 10,
		RateLimitPerMinute: capture.DefaultFormRateLimitPerMinute,
		FieldMapping:       map[string]string{}, CreatedAt: minimal.CreatedAt, UpdatedAt: minimal.UpdatedAt,
		RequiredFields: []string{}, MaxCustomFields: 50, MaxCustomValueChars: 2000,
	}
	if diff := cmp.Diff(wantDefaults, minimal); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}

	forms := expectJSON[listBody[capture.Form]](t, b, 200, key, "GET", "/api/v1/forms", nil)
	if diff := cmp.Diff([]uuid.UUID{anywhere.ID, minimal.ID, full.ID}, idsOf(forms.Items, formID)); diff != "" {
		t.Errorf("listed forms, newest first (-want +got):\n%s", diff)
	}

	// A PATCH changes what it names and nothing else.
	renamed := expectJSON[capture.Form](t, b, 200, key, "PATCH", "/api/v1/forms/"+full.ID.String(), map[string]any{"name": "Summit"})
	want.Name = "Summit"
	want.UpdatedAt = renamed.UpdatedAt
	if diff := cmp.Diff(want, renamed); diff != "" {
		t.Errorf("after PATCH name (-want +got):\n%s", diff)
	}
	if renamed.UpdatedAt.Before(full.UpdatedAt) {
		t.Errorf("updated_at went back: %v -> %v", full.UpdatedAt, renamed.UpdatedAt)
	}
	// A sent mapping replaces the stored one.
	remapped := expectJSON[capture.Form](t, b, 200, key, "PATCH", "/api/v1/forms/"+full.ID.String(),
		map[string]any{"field_mapping": map[string]string{"Company_Name": "company"}})
	if diff := cmp.Diff(map[string]string{"Company_Name": "company"}, remapped.FieldMapping); diff != "" {
		t.Errorf("field_mapping after PATCH (-want +got):\n%s", diff)
	}
	// Turning it into a contact-us form may drop the event: null clears.
	plain := expectJSON[capture.Form](t, b, 200, key, "PATCH", "/api/v1/forms/"+full.ID.String(),
		map[string]any{"kind": "contact_us", "event_id": nil})
	if plain.Kind != "contact_us" || plain.EventID != nil || plain.Name != "Summit" {
		t.Errorf("after PATCH kind: kind %q event %v name %q", plain.Kind, plain.EventID, plain.Name)
	}
	fields := expectError(t, b, 422, "validation_failed", key, "PATCH", "/api/v1/forms/"+full.ID.String(),
		map[string]any{"kind": "event_registration"})
	if diff := cmp.Diff([]string{"event_id"}, fieldNames(fields)); diff != "" {
		t.Errorf("PATCH to event_registration without event (-want +got):\n%s", diff)
	}
	expectError(t, b, 404, "not_found", key, "PATCH", "/api/v1/forms/"+store.NewID().String(), map[string]any{"name": "x"})
	expectError(t, b, 404, "not_found", key, "GET", "/api/v1/forms/not-a-uuid", nil)
}

func TestAPIFormValidationNamesTheFields(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	other := expectJSON[eventBody](t, b, 201, b.b.admin, "POST", "/api/v1/events", map[string]any{"name": "Not yours"})
	tests := []struct {
		name string
		body map[string]any
		want []string
	}{
		{"kind missing", map[string]any{}, []string{"kind"}},
		{"kind unknown", map[string]any{"kind": "newsletter"}, []string{"kind"}},
		{"key with a space", map[string]any{"kind": "contact_us", "key": "a b c"}, []string{"key"}},
		{"key too short", map[string]any{"kind": "contact_us", "key": "ab"}, []string{"key"}},
		{"origin not http", map[string]any{"kind": "contact_us", "allowed_origins": []string{"ftp://example.com"}}, []string{"allowed_origins"}},
		{"origin with a path", map[string]any{"kind": "contact_us", "allowed_origins": []string{"https://example.com/form"}}, []string{"allowed_origins"}},
		{"return URL relative", map[string]any{"kind": "contact_us", "allowed_return_urls": []string{"/thanks"}}, []string{"allowed_return_urls"}},
		{"return URL with credentials", map[string]any{"kind": "contact_us", "allowed_return_urls": []string{"https://u:p@example.com/"}}, []string{"allowed_return_urls"}},
		{"thank-you URL script", map[string]any{"kind": "contact_us", "thank_you_url": "javascript:alert(1)"}, []string{"thank_you_url"}},
		{"negative rate limit", map[string]any{"kind": "contact_us", "rate_limit_per_minute": -1}, []string{"rate_limit_per_minute"}},
		{"unknown region", map[string]any{"kind": "contact_us", "default_region": "XX"}, []string{"default_region"}},
		{"three-letter region", map[string]any{"kind": "contact_us", "default_region": "USA"}, []string{"default_region"}},
		{"body limit too small", map[string]any{"kind": "contact_us", "max_body_bytes": 100}, []string{"max_body_bytes"}},
		{"body limit too big", map[string]any{"kind": "contact_us", "max_body_bytes": 2 << 20}, []string{"max_body_bytes"}},
		{"unknown required field", map[string]any{"kind": "contact_us", "required_fields": []string{"shoe_size"}}, []string{"required_fields"}},
		{"too many custom fields", map[string]any{"kind": "contact_us", "max_custom_fields": 5000}, []string{"max_custom_fields"}},
		{"custom values of no length", map[string]any{"kind": "contact_us", "max_custom_value_chars": 0}, []string{"max_custom_value_chars"}},
		{"file limit too big", map[string]any{"kind": "contact_us", "max_file_bytes": 11 << 20}, []string{"max_file_bytes"}},
		{"honeypot on a real field", map[string]any{"kind": "contact_us", "honeypot_field": "email"}, []string{"honeypot_field"}},
		{"honeypot mapped to a real field", map[string]any{"kind": "contact_us", "honeypot_field": "website", "field_mapping": map[string]string{"website": "email"}}, []string{"honeypot_field"}},
		{"mapping from a blank name", map[string]any{"kind": "contact_us", "field_mapping": map[string]string{" ": "email"}}, []string{"field_mapping"}},
		{"registration without event", map[string]any{"kind": "event_registration"}, []string{"event_id"}},
		{"event id malformed", map[string]any{"kind": "event_registration", "event_id": "nope"}, []string{"event_id"}},
		{"event of another workspace", map[string]any{"kind": "event_registration", "event_id": other.ID}, []string{"event_id"}},
		{"every fault at once", map[string]any{"kind": "x", "default_region": "ZZ", "rate_limit_per_minute": -5}, []string{"default_region", "kind", "rate_limit_per_minute"}},
		{"unknown members, exact names", map[string]any{"kind": "contact_us", "colour": "red", "Key": "abc"}, []string{"Key", "colour"}},
		{"string for a number", map[string]any{"kind": "contact_us", "rate_limit_per_minute": "10"}, []string{"rate_limit_per_minute"}},
		{"number for a string", map[string]any{"kind": 5}, []string{"kind"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := expectError(t, b, 422, "validation_failed", b.a.admin, "POST", "/api/v1/forms", tt.body)
			if diff := cmp.Diff(tt.want, fieldNames(fields)); diff != "" {
				t.Errorf("fields at fault (-want +got):\n%s\n%v", diff, fields)
			}
		})
	}
	for _, body := range []string{`{"kind":`, `[]`, `null`, `"contact_us"`, ``} {
		expectError(t, b, 400, "bad_request", b.a.admin, "POST", "/api/v1/forms", body)
	}
	huge := `{"kind":"contact_us","consent_text":"` + strings.Repeat("x", 2<<20) + `"}`
	expectError(t, b, 413, "too_large", b.a.admin, "POST", "/api/v1/forms", huge)
	req, _ := http.NewRequest("POST", b.srv.URL+"/api/v1/forms", strings.NewReader(`kind=contact_us`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+b.a.admin)
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 415 {
		t.Errorf("form-encoded body: status %d, want 415", resp.StatusCode)
	}
	forms := expectJSON[listBody[capture.Form]](t, b, 200, b.a.admin, "GET", "/api/v1/forms", nil)
	if len(forms.Items) != 0 {
		t.Errorf("invalid requests stored %d forms", len(forms.Items))
	}
}

func TestAPIFormKeyTakenIsConflict(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	body := map[string]any{"kind": "contact_us", "key": "spring-promo"}
	expectJSON[capture.Form](t, b, 201, b.a.admin, "POST", "/api/v1/forms", body)
	// Keys are public capture URLs: unique across workspaces, not within one.
	for _, key := range []string{b.a.admin, b.b.admin} {
		fields := expectError(t, b, 409, "conflict", key, "POST", "/api/v1/forms", body)
		if diff := cmp.Diff(map[string]string{"key": "is taken"}, fields); diff != "" {
			t.Errorf("conflict fields (-want +got):\n%s", diff)
		}
	}
	second := expectJSON[capture.Form](t, b, 201, b.a.admin, "POST", "/api/v1/forms", map[string]any{"kind": "contact_us"})
	expectError(t, b, 409, "conflict", b.a.admin, "PATCH", "/api/v1/forms/"+second.ID.String(), map[string]any{"key": "spring-promo"})
}

func TestAPIEvents(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	key := b.a.marketing
	fields := expectError(t, b, 422, "validation_failed", key, "POST", "/api/v1/events",
		map[string]any{"name": " ", "starts_at": "next tuesday", "capacity": 0})
	if diff := cmp.Diff([]string{"capacity", "name", "starts_at"}, fieldNames(fields)); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}
	open := expectJSON[eventBody](t, b, 201, key, "POST", "/api/v1/events", map[string]any{"name": "Open house"})
	if open.Capacity != nil || open.StartsAt != nil || open.Name != "Open house" {
		t.Errorf("open event = %+v, want no capacity and no start", open.Event)
	}
	ev := expectJSON[eventBody](t, b, 201, key, "POST", "/api/v1/events",
		map[string]any{"name": "Launch", "starts_at": "2030-05-01T18:00:00+02:00", "capacity": 2})
	if ev.StartsAt == nil || !ev.StartsAt.Equal(time.Date(2030, 5, 1, 16, 0, 0, 0, time.UTC)) || ev.Capacity == nil || *ev.Capacity != 2 {
		t.Errorf("event = %+v", ev.Event)
	}
	events := expectJSON[listBody[capture.Event]](t, b, 200, key, "GET", "/api/v1/events", nil)
	if diff := cmp.Diff([]uuid.UUID{ev.ID, open.ID}, idsOf(events.Items, eventID)); diff != "" {
		t.Errorf("listed events (-want +got):\n%s", diff)
	}

	// Three people register for two places; one resubmits.
	form := b.form(t, b.a.ws.ID, &ev.ID)
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com", "A@Example.com"} {
		b.submit(t, form, personFields(t, email, "", "", ""), false)
	}
	got := expectJSON[eventBody](t, b, 200, key, "GET", "/api/v1/events/"+ev.ID.String(), nil)
	if got.Registered != 2 || got.Waitlisted != 1 {
		t.Errorf("registered %d waitlisted %d, want 2 and 1", got.Registered, got.Waitlisted)
	}
	expectError(t, b, 404, "not_found", key, "GET", "/api/v1/events/"+store.NewID().String(), nil)
}

func TestAPIResponsesFilterAndRelease(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	key := b.a.marketing
	formA, formB := b.form(t, b.a.ws.ID, nil), b.form(t, b.a.ws.ID, nil)
	alice := b.submit(t, formA, personFields(t, "alice@example.com", "Alice", "Smith", "Acme"), false)
	bob := b.submit(t, formB, personFields(t, "bob@example.com", "Bob", "Jones", "Globex"), false)
	spam := b.submit(t, formA, personFields(t, "bot@spam.example", "Buy", "Now", ""), true)

	tests := []struct {
		query string
		want  []uuid.UUID
	}{
		{"", []uuid.UUID{spam.ID, bob.ID, alice.ID}},
		{"?verdict=spam", []uuid.UUID{spam.ID}},
		{"?verdict=ok", []uuid.UUID{bob.ID, alice.ID}},
		{"?status=held", []uuid.UUID{spam.ID}},
		{"?status=processed", []uuid.UUID{bob.ID, alice.ID}},
		{"?lead_id=" + alice.LeadID.String(), []uuid.UUID{alice.ID}},
		{"?form_id=" + formB.ID.String(), []uuid.UUID{bob.ID}},
		{"?form_id=" + formA.ID.String() + "&verdict=ok", []uuid.UUID{alice.ID}},
	}
	for _, tt := range tests {
		got := expectJSON[listBody[capture.Response]](t, b, 200, key, "GET", "/api/v1/responses"+tt.query, nil)
		if diff := cmp.Diff(tt.want, idsOf(got.Items, responseID)); diff != "" {
			t.Errorf("responses%s (-want +got):\n%s", tt.query, diff)
		}
	}
	for _, q := range []string{"?verdict=maybe", "?status=done", "?lead_id=42", "?form_id=x"} {
		expectError(t, b, 400, "bad_request", key, "GET", "/api/v1/responses"+q, nil)
	}

	one := expectJSON[struct {
		capture.Response
		Files []capture.ResponseFile `json:"files"`
	}](t, b, 200, key, "GET", "/api/v1/responses/"+alice.ID.String(), nil)
	if one.ID != alice.ID || one.Status != store.ResponseProcessed || one.LeadID == nil || one.Files == nil {
		t.Errorf("response = %+v, want alice's processed response with a files list", one)
	}

	// A response that was never held cannot be released.
	expectError(t, b, 409, "conflict", key, "POST", "/api/v1/responses/"+alice.ID.String()+"/release", nil)

	released := expectJSON[capture.Response](t, b, 200, key, "POST", "/api/v1/responses/"+spam.ID.String()+"/release", nil)
	if released.Verdict != store.VerdictReleased || released.Status != store.ResponsePending {
		t.Errorf("released = %s/%s, want released/pending", released.Verdict, released.Status)
	}
	info, err := b.inspector.GetTaskInfo(capture.Queue, capture.TypeProcessResponse+":"+spam.ID.String())
	if err != nil {
		t.Fatalf("processing of the released response was not queued: %v", err)
	}
	if info.Type != capture.TypeProcessResponse {
		t.Errorf("queued task type %q", info.Type)
	}
	// Releasing twice is harmless.
	expectJSON[capture.Response](t, b, 200, key, "POST", "/api/v1/responses/"+spam.ID.String()+"/release", nil)
	if _, err := b.processor.Process(context.Background(), spam.ID); err != nil {
		t.Fatal(err)
	}
	processed := expectJSON[capture.Response](t, b, 200, key, "GET", "/api/v1/responses/"+spam.ID.String(), nil)
	if processed.Status != store.ResponseProcessed || processed.LeadID == nil {
		t.Errorf("after processing: status %s lead %v, want processed with a lead", processed.Status, processed.LeadID)
	}
}

func TestAPIReleaseAnswersWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	spam := b.submit(t, b.form(t, b.a.ws.ID, nil), personFields(t, "held@example.com", "", "", ""), true)
	b.enqueueFails.Store(true)
	released := expectJSON[capture.Response](t, b, 200, b.a.admin, "POST", "/api/v1/responses/"+spam.ID.String()+"/release", nil)
	if released.Verdict != store.VerdictReleased || released.Status != store.ResponsePending {
		t.Errorf("released = %s/%s, want released/pending (committed for the sweeper)", released.Verdict, released.Status)
	}
	if n := b.logs.count(t, "release_enqueue_failed"); n != 1 {
		t.Errorf("release_enqueue_failed logged %d times, want 1", n)
	}
	if _, err := b.inspector.GetTaskInfo(capture.Queue, capture.TypeProcessResponse+":"+spam.ID.String()); err == nil {
		t.Errorf("a task was queued although the enqueuer failed")
	}
}

func TestAPILeadsSearchAndDetail(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	key := b.a.sales
	form := b.form(t, b.a.ws.ID, nil)
	alice := b.submit(t, form, personFields(t, "Alice.Smith+promo@Gmail.com", "Alice", "Smith", "Acme Robotics"), false)
	bob := b.submit(t, form, personFields(t, "bob@globex.example", "Bob", "Jones", "Globex"), false)

	tests := []struct {
		query string
		want  []uuid.UUID
	}{
		{"", []uuid.UUID{*bob.LeadID, *alice.LeadID}},
		{"?email=ALICESMITH@gmail.com", []uuid.UUID{*alice.LeadID}},
		{"?email=alice.smith%2Bother@googlemail.com", []uuid.UUID{*alice.LeadID}},
		{"?email=nobody@example.com", []uuid.UUID{}},
		{"?q=robot", []uuid.UUID{*alice.LeadID}},
		{"?q=GLOBEX", []uuid.UUID{*bob.LeadID}},
		{"?q=bob@glo", []uuid.UUID{*bob.LeadID}},
		{"?q=alice+smit", []uuid.UUID{*alice.LeadID}},
		{"?q=%25", []uuid.UUID{}},
		{"?q=_", []uuid.UUID{}},
		{"?status=new", []uuid.UUID{*bob.LeadID, *alice.LeadID}},
		{"?status=converted", []uuid.UUID{}},
	}
	for _, tt := range tests {
		got := expectJSON[listBody[capture.Lead]](t, b, 200, key, "GET", "/api/v1/leads"+tt.query, nil)
		if diff := cmp.Diff(tt.want, idsOf(got.Items, leadID)); diff != "" {
			t.Errorf("leads%s (-want +got):\n%s", tt.query, diff)
		}
	}
	expectError(t, b, 400, "bad_request", key, "GET", "/api/v1/leads?status=hot", nil)

	detail := expectJSON[leadBody](t, b, 200, key, "GET", "/api/v1/leads/"+alice.LeadID.String(), nil)
	if detail.ID != *alice.LeadID || detail.Email != "alice.smith+promo@gmail.com" || detail.Company != "Acme Robotics" {
		t.Errorf("lead = %+v", detail.Lead)
	}
	if diff := cmp.Diff([]uuid.UUID{alice.ID}, idsOf(detail.Responses, responseID)); diff != "" {
		t.Errorf("lead responses (-want +got):\n%s", diff)
	}
	if len(detail.Audit) == 0 || detail.Audit[0].Action != store.AuditCreated {
		t.Errorf("audit = %+v, want it to start with %q", detail.Audit, store.AuditCreated)
	}
	if detail.ContactID != nil || detail.PossibleDuplicates == nil || len(detail.PossibleDuplicates) != 0 {
		t.Errorf("contact %v duplicates %v, want none (as null and [])", detail.ContactID, detail.PossibleDuplicates)
	}

	// A known contact's submission makes a lead linked to the contact.
	contact := expectJSON[capture.Contact](t, b, 201, key, "POST", "/api/v1/contacts",
		map[string]any{"first_name": "Carol", "last_name": "King", "email": "carol@initech.example"})
	carol := b.submit(t, form, personFields(t, "Carol@Initech.example", "Carol", "King", "Initech"), false)
	linked := expectJSON[leadBody](t, b, 200, key, "GET", "/api/v1/leads/"+carol.LeadID.String(), nil)
	if linked.ContactID == nil || *linked.ContactID != contact.ID {
		t.Errorf("contact_id = %v, want %s", linked.ContactID, contact.ID)
	}

	// Same name and company under another email is flagged, not merged.
	dana1 := b.submit(t, form, personFields(t, "dana@fbi.example", "Dana", "Scully", "FBI"), false)
	dana2 := b.submit(t, form, personFields(t, "scully@home.example", "Dana", "Scully", "FBI"), false)
	if *dana1.LeadID == *dana2.LeadID {
		t.Fatal("two emails were merged into one lead on a fuzzy match")
	}
	flagged := expectJSON[leadBody](t, b, 200, key, "GET", "/api/v1/leads/"+dana2.LeadID.String(), nil)
	if len(flagged.PossibleDuplicates) != 1 || flagged.PossibleDuplicates[0].MatchLeadID == nil ||
		*flagged.PossibleDuplicates[0].MatchLeadID != *dana1.LeadID {
		t.Errorf("possible duplicates = %+v, want one naming %s", flagged.PossibleDuplicates, dana1.LeadID)
	}
	expectError(t, b, 404, "not_found", key, "GET", "/api/v1/leads/"+store.NewID().String(), nil)
}

func TestAPIMergeLeads(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	key := b.a.marketing
	form := b.form(t, b.a.ws.ID, nil)
	keep := b.submit(t, form, personFields(t, "jo@example.com", "Jo", "March", ""), false)
	other := b.submit(t, form, personFields(t, "josephine@example.com", "Jo", "March", "Plumfield"), false)
	path := "/api/v1/leads/" + keep.LeadID.String() + "/merge"

	expectError(t, b, 422, "validation_failed", key, "POST", path, map[string]any{})
	expectError(t, b, 422, "validation_failed", key, "POST", path, map[string]any{"other_id": keep.LeadID})
	expectError(t, b, 422, "validation_failed", key, "POST", path, map[string]any{"other_id": other.LeadID, "force": true})
	expectError(t, b, 404, "not_found", key, "POST", path, map[string]any{"other_id": store.NewID()})

	merged := expectJSON[leadBody](t, b, 200, key, "POST", path, map[string]any{"other_id": other.LeadID})
	if merged.ID != *keep.LeadID || merged.Company != "Plumfield" || merged.MergedInto != nil {
		t.Errorf("kept lead = %+v, want %s with the blank company filled", merged.Lead, keep.LeadID)
	}
	if diff := cmp.Diff([]uuid.UUID{other.ID, keep.ID}, idsOf(merged.Responses, responseID)); diff != "" {
		t.Errorf("kept lead's responses (-want +got):\n%s", diff)
	}
	if !slices.ContainsFunc(merged.Audit, func(e capture.AuditEntry) bool { return e.Action == store.AuditMerged }) {
		t.Errorf("audit %+v has no %q entry", merged.Audit, store.AuditMerged)
	}
	gone := expectJSON[leadBody](t, b, 200, key, "GET", "/api/v1/leads/"+other.LeadID.String(), nil)
	if gone.MergedInto == nil || *gone.MergedInto != *keep.LeadID {
		t.Errorf("merged lead's merged_into = %v, want %s", gone.MergedInto, keep.LeadID)
	}
	leads := expectJSON[listBody[capture.Lead]](t, b, 200, key, "GET", "/api/v1/leads", nil)
	if diff := cmp.Diff([]uuid.UUID{*keep.LeadID}, idsOf(leads.Items, leadID)); diff != "" {
		t.Errorf("listed leads after merge (-want +got):\n%s", diff)
	}
	expectError(t, b, 422, "validation_failed", key, "POST", path, map[string]any{"other_id": other.LeadID})
}

func TestAPIContacts(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	key := b.a.sales
	ada := expectJSON[capture.Contact](t, b, 201, key, "POST", "/api/v1/contacts", map[string]any{
		"first_name": "ada", "last_name": "LOVELACE", "email": " Ada.Lovelace+work@GMAIL.com ",
		"phone": "(202) 456-1111", "company": "  Analytical   Engines ", "country": "US",
	})
	want := capture.Contact{
		ID: ada.ID, FirstName: "Ada", LastName: "Lovelace", Email: "ada.lovelace+work@gmail.com",
		Phone: "+12024561111", Company: "Analytical Engines", Country: "US",
		CreatedAt: ada.CreatedAt, UpdatedAt: ada.UpdatedAt,
	}
	if diff := cmp.Diff(want, ada); diff != "" {
		t.Errorf("created contact (-want +got):\n%s", diff)
	}
	byPhone := expectJSON[capture.Contact](t, b, 201, key, "POST", "/api/v1/contacts", map[string]any{"phone": "+44 20 7946 0958"})
	if byPhone.Phone != "+442079460958" {
		t.Errorf("phone = %q, want E.164", byPhone.Phone)
	}
	fields := expectError(t, b, 409, "conflict", key, "POST", "/api/v1/contacts", map[string]any{"email": "adalovelace@googlemail.com"})
	if _, ok := fields["email"]; !ok {
		t.Errorf("conflict names %v, want email", fields)
	}
	tests := []struct {
		body map[string]any
		want []string
	}{
		{map[string]any{"first_name": "Nobody"}, []string{"email", "phone"}},
		{map[string]any{"email": "not-an-email"}, []string{"email"}},
		{map[string]any{"phone": "12"}, []string{"phone"}},
		{map[string]any{"email": "x@example.com", "mobile": "1"}, []string{"mobile"}},
	}
	for _, tt := range tests {
		fields := expectError(t, b, 422, "validation_failed", key, "POST", "/api/v1/contacts", tt.body)
		if diff := cmp.Diff(tt.want, fieldNames(fields)); diff != "" {
			t.Errorf("%v: fields at fault (-want +got):\n%s", tt.body, diff)
		}
	}
	for _, q := range []string{"?email=ADA.LOVELACE@gmail.com", "?q=lovel", "?q=analytical"} {
		got := expectJSON[listBody[capture.Contact]](t, b, 200, key, "GET", "/api/v1/contacts"+q, nil)
		if diff := cmp.Diff([]uuid.UUID{ada.ID}, idsOf(got.Items, contactID)); diff != "" {
			t.Errorf("contacts%s (-want +got):\n%s", q, diff)
		}
	}
	got := expectJSON[capture.Contact](t, b, 200, key, "GET", "/api/v1/contacts/"+ada.ID.String(), nil)
	if diff := cmp.Diff(ada, got); diff != "" {
		t.Errorf("GET contact (-want +got):\n%s", diff)
	}
}

func TestAPIWorkspaceIsolation(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	// Workspace A's records.
	ev := expectJSON[eventBody](t, b, 201, b.a.admin, "POST", "/api/v1/events", map[string]any{"name": "A's event"})
	created := expectJSON[capture.Form](t, b, 201, b.a.admin, "POST", "/api/v1/forms", map[string]any{"kind": "event_registration", "event_id": ev.ID})
	form := store.Form{ID: created.ID, WorkspaceID: b.a.ws.ID} // the workspace is not part of the API's answer
	resp := b.submit(t, form, personFields(t, "alice@acme.example", "Alice", "Smith", "Acme"), false)
	spam := b.submit(t, form, personFields(t, "bot@acme.example", "", "", ""), true)
	contact := expectJSON[capture.Contact](t, b, 201, b.a.admin, "POST", "/api/v1/contacts", map[string]any{"email": "carol@acme.example"})
	// Workspace B's own records, so its lists are not trivially empty.
	formB := b.form(t, b.b.ws.ID, nil)
	respB := b.submit(t, formB, personFields(t, "alice@acme.example", "Alice", "Smith", "Acme"), false)
	expectJSON[capture.Contact](t, b, 201, b.b.admin, "POST", "/api/v1/contacts", map[string]any{"email": "carol@acme.example"})

	missing := store.NewID().String()
	for _, tt := range []struct{ method, path string }{
		{"GET", "/api/v1/forms/%s"},
		{"PATCH", "/api/v1/forms/%s"},
		{"GET", "/api/v1/events/%s"},
		{"GET", "/api/v1/responses/%s"},
		{"POST", "/api/v1/responses/%s/release"},
		{"GET", "/api/v1/leads/%s"},
		{"POST", "/api/v1/leads/%s/merge"},
		{"GET", "/api/v1/contacts/%s"},
	} {
		var body any
		if tt.method != "GET" {
			body = map[string]any{}
		}
		if strings.HasSuffix(tt.path, "/merge") {
			body = map[string]any{"other_id": respB.LeadID}
		}
		idOf := map[string]string{
			"forms": form.ID.String(), "events": ev.ID.String(), "responses": spam.ID.String(),
			"leads": resp.LeadID.String(), "contacts": contact.ID.String(),
		}[strings.Split(tt.path, "/")[3]]
		// A's record and a record that exists nowhere look the same to B.
		_, theirs := b.call(t, b.b.admin, tt.method, strings.Replace(tt.path, "%s", idOf, 1), body)
		_, nowhere := b.call(t, b.b.admin, tt.method, strings.Replace(tt.path, "%s", missing, 1), body)
		expectError(t, b, 404, "not_found", b.b.admin, tt.method, strings.Replace(tt.path, "%s", idOf, 1), body)
		if !bytes.Equal(theirs, nowhere) {
			t.Errorf("%s %s: another workspace's record answers %s, a missing one %s", tt.method, tt.path, theirs, nowhere)
		}
	}
	// Nor can B point at A's records, or merge its lead with A's.
	fields := expectError(t, b, 422, "validation_failed", b.b.admin, "POST", "/api/v1/forms",
		map[string]any{"kind": "event_registration", "event_id": ev.ID})
	if _, ok := fields["event_id"]; !ok {
		t.Errorf("B using A's event: fields %v, want event_id", fields)
	}
	expectError(t, b, 404, "not_found", b.b.admin, "POST", "/api/v1/leads/"+respB.LeadID.String()+"/merge",
		map[string]any{"other_id": resp.LeadID})

	aIDs := map[uuid.UUID]bool{form.ID: true, ev.ID: true, resp.ID: true, spam.ID: true, *resp.LeadID: true, contact.ID: true}
	check := func(what string, got []uuid.UUID, wantLen int) {
		t.Helper()
		if len(got) != wantLen {
			t.Errorf("B's %s: %d items, want %d", what, len(got), wantLen)
		}
		for _, id := range got {
			if aIDs[id] {
				t.Errorf("B's %s contain A's %s", what, id)
			}
		}
	}
	check("forms", idsOf(expectJSON[listBody[capture.Form]](t, b, 200, b.b.admin, "GET", "/api/v1/forms", nil).Items, formID), 1)
	check("events", idsOf(expectJSON[listBody[capture.Event]](t, b, 200, b.b.admin, "GET", "/api/v1/events", nil).Items, eventID), 0)
	check("responses", idsOf(expectJSON[listBody[capture.Response]](t, b, 200, b.b.admin, "GET", "/api/v1/responses", nil).Items, responseID), 1)
	check("responses of A's lead", idsOf(expectJSON[listBody[capture.Response]](t, b, 200, b.b.admin, "GET", "/api/v1/responses?lead_id="+resp.LeadID.String(), nil).Items, responseID), 0)
	check("leads", idsOf(expectJSON[listBody[capture.Lead]](t, b, 200, b.b.admin, "GET", "/api/v1/leads?email=alice@acme.example", nil).Items, leadID), 1)
	check("contacts", idsOf(expectJSON[listBody[capture.Contact]](t, b, 200, b.b.admin, "GET", "/api/v1/contacts?email=carol@acme.example", nil).Items, contactID), 1)

	// A's records were left alone by B's attempts.
	still := expectJSON[capture.Response](t, b, 200, b.a.admin, "GET", "/api/v1/responses/"+spam.ID.String(), nil)
	if still.Verdict != store.VerdictSpam {
		t.Errorf("A's spam response verdict = %q after B's release attempt", still.Verdict)
	}
}

func TestAPIPagination(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	key := b.a.admin
	var created []uuid.UUID
	for i := range 7 {
		c := expectJSON[capture.Contact](t, b, 201, key, "POST", "/api/v1/contacts",
			map[string]any{"email": "person" + string(rune('a'+i)) + "@example.com"})
		created = append(created, c.ID)
	}
	slices.Reverse(created) // newest first

	var seen []uuid.UUID
	var sizes []int
	path := "/api/v1/contacts?limit=3"
	for {
		page := expectJSON[listBody[capture.Contact]](t, b, 200, key, "GET", path, nil)
		sizes = append(sizes, len(page.Items))
		seen = append(seen, idsOf(page.Items, contactID)...)
		if page.NextCursor == nil {
			break
		}
		if len(sizes) > 10 {
			t.Fatal("pagination does not end")
		}
		path = "/api/v1/contacts?limit=3&cursor=" + *page.NextCursor
	}
	if diff := cmp.Diff([]int{3, 3, 1}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(created, seen); diff != "" {
		t.Errorf("every contact once, newest first (-want +got):\n%s", diff)
	}
	// An exact last page has no next cursor.
	exact := expectJSON[listBody[capture.Contact]](t, b, 200, key, "GET", "/api/v1/contacts?limit=7", nil)
	if len(exact.Items) != 7 || exact.NextCursor != nil {
		t.Errorf("limit=7: %d items, next %v; want 7 and null", len(exact.Items), exact.NextCursor)
	}
	big := expectJSON[listBody[capture.Contact]](t, b, 200, key, "GET", "/api/v1/contacts?limit=100000", nil)
	if len(big.Items) != 7 {
		t.Errorf("limit above the maximum: %d items, want all 7", len(big.Items))
	}
	empty := expectJSON[map[string]json.RawMessage](t, b, 200, b.b.admin, "GET", "/api/v1/forms", nil)
	if string(empty["items"]) != "[]" || string(empty["next_cursor"]) != "null" {
		t.Errorf("empty list = %v, want items [] and next_cursor null", empty)
	}
	for _, q := range []string{"limit=0", "limit=-1", "limit=ten", "cursor=!!!", "cursor=AAAA", "cursor=AAAAAAAAAAAAAAAAAAAAAA"} {
		expectError(t, b, 400, "bad_request", key, "GET", "/api/v1/contacts?"+q, nil)
	}
}

func TestAPISecretsNeverLogged(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	spam := b.submit(t, b.form(t, b.a.ws.ID, nil), personFields(t, "x@example.com", "", "", ""), true)
	b.call(t, b.a.admin, "POST", "/api/v1/responses/"+spam.ID.String()+"/release", nil)
	b.call(t, b.a.admin, "POST", "/api/v1/forms", map[string]any{"kind": "bad"})
	b.call(t, "lf_guessed-"+b.a.admin[3:20], "GET", "/api/v1/forms", nil)
	// The database goes away: authentication fails with a logged 500.
	b.st.Close()
	status, body := b.call(t, b.a.marketing, "GET", "/api/v1/leads", nil)
	if status != 500 || !bytes.Contains(body, []byte(`"code":"internal"`)) {
		t.Fatalf("with the database gone: %d %s, want 500 internal", status, body)
	}
	if n := b.logs.count(t, "http_server_error"); n != 1 {
		t.Errorf("server error logged %d times, want once", n)
	}
	logs := b.logs.String()
	for _, secret := range b.secrets {
		if strings.Contains(logs, secret) || strings.Contains(logs, secret[3:20]) {
			t.Errorf("an API key appears in the logs:\n%s", logs)
		}
	}
	if strings.Contains(strings.ToLower(logs), "bearer") || strings.Contains(strings.ToLower(logs), "authorization") {
		t.Errorf("the Authorization header appears in the logs:\n%s", logs)
	}
}
