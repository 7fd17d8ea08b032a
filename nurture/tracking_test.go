package nurture_test

import (
	"context"
	"errors"
	"image"
	"image/gif"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"leadflow/capture"
	"leadflow/deploy/local"
	"leadflow/embed/httpapi"
	"leadflow/nurture"
	"leadflow/store"
	"leadflow/store/storetest"
)

// trackBaseURL is the public URL the engine writes into links; requests go
// to the test server with the same paths.
const trackBaseURL = "https://leads.example.com"

// testClock is the engine's clock, moved by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// trackBundle is the public tracking routes and the bounce API served as
// cmd serves them, on a fresh database and Redis, with an SMTP server to
// send to.
type trackBundle struct {
	ctx    context.Context
	st     *store.Store
	eng    *nurture.Engine
	signer *nurture.Signer
	clock  *testClock
	srv    *httptest.Server
	smtp   *local.SMTPSink
	queue  *asynq.Client
	inspec *asynq.Inspector
	proc   *capture.Processor
	// processed lists the responses the confirmation routes asked to have
	// processed; processFails makes that fail, as when Redis is down.
	mu           sync.Mutex
	processed    []uuid.UUID
	processFails bool

	ws, other store.Workspace
}

// failProcessing makes putting confirmed responses on the queue fail.
func (b *trackBundle) failProcessing() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.processFails = true
}

// processedResponses lists the responses put on the queue so far.
func (b *trackBundle) processedResponses() []uuid.UUID {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.processed)
}

func setupTracking(t *testing.T) *trackBundle {
	t.Helper()
	ctx := context.Background()
	st := storetest.NewStore(t)
	rdb := redis.NewClient(storetest.RedisOptions(t))
	t.Cleanup(func() { rdb.Close() })
	queue := asynq.NewClientFromRedisClient(rdb)
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	sink, err := local.StartSMTPSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	_, port, _ := net.SplitHostPort(sink.Addr())
	smtpPort, _ := strconv.Atoi(port)
	clock := &testClock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	signer, err := nurture.NewSignerFrom(nurture.SignerConfig{Secret: strings.Repeat("tracking-secret-", 3), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := nurture.New(nurture.Config{
		Store: st, Queue: queue, Redis: rdb, Signer: signer, BaseURL: trackBaseURL,
		SMTP: nurture.SMTPConfig{Host: "127.0.0.1", Port: smtpPort, TLS: "none"},
		Now:  clock.Now,
		CanonicalEmail: func(s string) (string, error) {
			_, canonical, err := capture.NormalizeEmail(s)
			return canonical, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	proc, err := capture.NewProcessor(capture.ProcessorConfig{Store: st, Enroller: eng, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	b := &trackBundle{ctx: ctx, st: st, eng: eng, signer: signer, clock: clock, smtp: sink,
		queue: queue, inspec: inspector, proc: proc}

	e := echo.New()
	e.HTTPErrorHandler = testErrorHandler
	nurture.TrackingRoutes(e, eng, nurture.TrackingConfig{
		ProcessResponse: func(ctx context.Context, id uuid.UUID) error {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.processFails {
				return errors.New("dial tcp: connection refused")
			}
			b.processed = append(b.processed, id)
			return capture.EnqueueProcess(ctx, queue, id)
		},
	})
	api := e.Group("/api/v1", testAuth(st))
	nurture.BounceRoutes(api, eng, testRequireRole)
	b.srv = httptest.NewServer(e)
	t.Cleanup(b.srv.Close)

	b.ws = b.workspace(t, "acme")
	b.other = b.workspace(t, "globex")
	return b
}

// testErrorHandler answers errors as the application's handler does: store
// sentinels and validation errors by their status, with the fields.
func testErrorHandler(err error, c echo.Context) {
	var (
		he     *echo.HTTPError
		fields map[string]string
	)
	if fe, ok := errors.AsType[interface {
		error
		FieldErrors() map[string]string
	}](err); ok {
		fields = fe.FieldErrors()
	}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
	case fields != nil:
		status = http.StatusUnprocessableEntity
	case errors.As(err, &he):
		status = he.Code
	}
	_ = c.JSON(status, map[string]any{"code": http.StatusText(status), "message": err.Error(), "fields": fields})
}

// testAuth takes the principal from the request's test headers.
func testAuth(st *store.Store) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ws, err := uuid.Parse(c.Request().Header.Get("X-Test-Workspace"))
			if err != nil {
				return echo.ErrUnauthorized
			}
			p := httpapi.Principal{KeyID: uuid.New(), WorkspaceID: ws, Role: store.Role(c.Request().Header.Get("X-Test-Role"))}
			c.SetRequest(c.Request().WithContext(httpapi.WithPrincipal(c.Request().Context(), p)))
			return next(c)
		}
	}
}

func testRequireRole(roles ...store.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, _ := httpapi.PrincipalFrom(c.Request().Context())
			if p.Role != store.RoleAdmin && !slices.Contains(roles, p.Role) {
				return echo.ErrForbidden
			}
			return next(c)
		}
	}
}

func (b *trackBundle) workspace(t *testing.T, name string) store.Workspace {
	t.Helper()
	ws, err := b.st.EnsureWorkspace(b.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.Pool.Exec(b.ctx, `
		UPDATE workspaces SET sender_name = $2, sender_email = $3, postal_address = '1 Main St, Springfield',
			send_rate_per_second = 1000
		WHERE id = $1`, ws.ID, "<b>"+name+"</b> & Co", "news@"+name+".example"); err != nil {
		t.Fatal(err)
	}
	ws, err = b.st.GetWorkspace(b.ctx, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func (b *trackBundle) lead(t *testing.T, ws store.Workspace, email string) store.Lead {
	t.Helper()
	email, canonical, err := capture.NormalizeEmail(email)
	if err != nil {
		t.Fatal(err)
	}
	l, err := b.st.InsertLead(b.ctx, store.Lead{WorkspaceID: ws.ID, FirstName: "Ada", LastName: "Lovelace",
		Email: email, EmailCanonical: canonical, Status: store.LeadNurturing, Consent: true})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// message stores a sent marketing message to the lead with two tracked
// links.
func (b *trackBundle) message(t *testing.T, l store.Lead, links ...string) store.Message {
	t.Helper()
	if links == nil {
		links = []string{"https://www.example.com/pricing", "https://www.example.com/docs?a=1&b=2"}
	}
	id := store.NewID()
	m, _, err := b.st.InsertMessage(b.ctx, store.Message{
		ID: id, WorkspaceID: l.WorkspaceID, LeadID: &l.ID, DedupeKey: "test:" + id.String(),
		Kind: store.MessageMarketing, ToEmail: l.Email, Subject: "Hello", HTMLBody: "<p>Hello</p>",
		TextBody: "Hello", Links: links, MessageID: id.String() + "@leads.example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.Pool.Exec(b.ctx, `UPDATE messages SET status = 'sent', sent_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	return m
}

func (b *trackBundle) getMessage(t *testing.T, m store.Message) store.Message {
	t.Helper()
	got, err := b.st.GetMessage(b.ctx, m.WorkspaceID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// engagement lists the lead's engagement events as "kind source".
func (b *trackBundle) engagement(t *testing.T, leadID uuid.UUID) []string {
	t.Helper()
	rows, err := b.st.Pool.Query(b.ctx, `SELECT kind || ' ' || source_id FROM engagement_events
		WHERE lead_id = $1 ORDER BY kind, source_id`, leadID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type answer struct {
	status int
	header http.Header
	body   string
}

// do makes a request to the test server; it never follows redirects.
func (b *trackBundle) do(t *testing.T, method, rawURL, contentType, body string, header ...string) answer {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, b.srv.URL+u.RequestURI(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := *b.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(data)}
}

func (b *trackBundle) links(m store.Message) nurture.Links {
	return nurture.Links{BaseURL: trackBaseURL, Signer: b.signer, MessageID: m.ID}
}

// tamper changes one character of a link's token.
func tamper(link string) string {
	i := strings.LastIndexByte(link, '/') + 5
	c := byte('A')
	if link[i] == 'A' {
		c = 'B'
	}
	return link[:i] + string(c) + link[i+1:]
}

func TestOpenPixelRecordsTheFirstOpenOnce(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	l := b.lead(t, b.ws, "ada@example.com")
	m := b.message(t, l)
	openedAt := b.clock.Now()

	for i := range 2 {
		a := b.do(t, http.MethodGet, b.links(m).Open(), "", "")
		if a.status != http.StatusOK || a.header.Get("Content-Type") != "image/gif" || !strings.HasPrefix(a.body, "GIF89a") {
			t.Fatalf("open %d = %d %q %q", i, a.status, a.header.Get("Content-Type"), a.body)
		}
		if cc := a.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("open %d Cache-Control = %q", i, cc)
		}
		img, err := gif.Decode(strings.NewReader(a.body))
		if err != nil || img.Bounds() != image.Rect(0, 0, 1, 1) {
			t.Errorf("the pixel is not a 1x1 GIF: %v", err)
		} else if _, _, _, alpha := img.At(0, 0).RGBA(); alpha != 0 {
			t.Errorf("the pixel is not transparent")
		}
		b.clock.Set(openedAt.Add(time.Hour))
	}
	got := b.getMessage(t, m)
	if got.OpenedAt == nil || !got.OpenedAt.Equal(openedAt) || got.ClickedAt != nil {
		t.Errorf("opened_at = %v, clicked_at = %v; want the first open's time %v and no click", got.OpenedAt, got.ClickedAt, openedAt)
	}
	if diff := cmp.Diff([]string{"email_opened " + m.ID.String()}, b.engagement(t, l.ID)); diff != "" {
		t.Errorf("engagement (-want +got):\n%s", diff)
	}
}

func TestOpenPixelWithABadTokenRecordsNothing(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	l := b.lead(t, b.ws, "ada@example.com")
	m := b.message(t, l)
	links := b.links(m)
	for _, bad := range []string{
		tamper(links.Open()),
		trackBaseURL + "/t/o/" + b.signer.Sign(nurture.TokenClick, m.ID, 0), // a click token
		trackBaseURL + "/t/o/not-a-token",
	} {
		a := b.do(t, http.MethodGet, bad, "", "")
		// The pixel still shows, so a mail client shows no broken image.
		if a.status != http.StatusOK || a.header.Get("Content-Type") != "image/gif" {
			t.Errorf("GET %s = %d %q, want the pixel", bad, a.status, a.header.Get("Content-Type"))
		}
	}
	if got := b.getMessage(t, m); got.OpenedAt != nil {
		t.Errorf("a bad token opened the message at %v", got.OpenedAt)
	}
	if got := b.engagement(t, l.ID); len(got) != 0 {
		t.Errorf("a bad token recorded %v", got)
	}
}

func TestClickRedirectsToTheStoredLinkAndRecordsIt(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	l := b.lead(t, b.ws, "ada@example.com")
	m := b.message(t, l)
	links := b.links(m)
	clickedAt := b.clock.Now()

	for i := range 2 {
		a := b.do(t, http.MethodGet, links.Click(1, m.Links[1]), "", "")
		if a.status != http.StatusFound || a.header.Get("Location") != m.Links[1] {
			t.Fatalf("click %d = %d to %q, want 302 to %q", i, a.status, a.header.Get("Location"), m.Links[1])
		}
		if cc := a.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("click Cache-Control = %q", cc)
		}
		b.clock.Set(clickedAt.Add(time.Minute))
	}
	if a := b.do(t, http.MethodGet, links.Click(0, m.Links[0]), "", ""); a.status != http.StatusFound || a.header.Get("Location") != m.Links[0] {
		t.Fatalf("click on link 0 = %d to %q", a.status, a.header.Get("Location"))
	}
	got := b.getMessage(t, m)
	// A click implies an open, though the pixel never loaded.
	if got.ClickedAt == nil || !got.ClickedAt.Equal(clickedAt) || got.OpenedAt == nil || !got.OpenedAt.Equal(clickedAt) {
		t.Errorf("clicked_at = %v, opened_at = %v; want both %v", got.ClickedAt, got.OpenedAt, clickedAt)
	}
	want := []string{
		"email_clicked " + uuid.NewSHA1(m.ID, []byte("link:0")).String(),
		"email_clicked " + uuid.NewSHA1(m.ID, []byte("link:1")).String(),
		"email_opened " + m.ID.String(),
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, b.engagement(t, l.ID)); diff != "" {
		t.Errorf("engagement (-want +got):\n%s", diff)
	}
}

func TestClickRefusesTamperedTokensAndLinksNotStored(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	l := b.lead(t, b.ws, "ada@example.com")
	m := b.message(t, l)
	// A stored link that is not a web URL is never redirected to.
	odd := b.message(t, l, "javascript:alert(1)")
	links := b.links(m)
	for name, bad := range map[string]string{
		"tampered":          tamper(links.Click(1, m.Links[1])),
		"past the links":    links.Click(2, m.Links[1]),
		"far past":          trackBaseURL + "/t/c/" + b.signer.ClickToken(m.ID, 1<<32-1, m.Links[1]),
		"an open token":     trackBaseURL + "/t/c/" + b.signer.Sign(nurture.TokenOpen, m.ID, 0),
		"no such message":   b.links(store.Message{ID: uuid.New()}).Click(0, m.Links[0]),
		"not a web link":    b.links(odd).Click(0, "javascript:alert(1)"),
		"another key":       trackBaseURL + "/t/c/" + mustSigner(t, strings.Repeat("x", 40)).ClickToken(m.ID, 0, m.Links[0]),
		"a url in the path": trackBaseURL + "/t/c/" + url.PathEscape("https://evil.example"),
	} {
		a := b.do(t, http.MethodGet, bad, "", "", "Accept", "text/html")
		if a.status != http.StatusNotFound || a.header.Get("Location") != "" {
			t.Errorf("%s: GET = %d to %q, want 404 without a redirect", name, a.status, a.header.Get("Location"))
		}
		if !strings.Contains(a.body, "This link is not valid") {
			t.Errorf("%s: the 404 is not the link page: %s", name, a.body)
		}
	}
	for _, msg := range []store.Message{m, odd} {
		if got := b.getMessage(t, msg); got.ClickedAt != nil || got.OpenedAt != nil {
			t.Errorf("a refused click marked message %s: clicked %v opened %v", msg.ID, got.ClickedAt, got.OpenedAt)
		}
	}
	if got := b.engagement(t, l.ID); len(got) != 0 {
		t.Errorf("refused clicks recorded %v", got)
	}
}

func mustSigner(t *testing.T, secret string) *nurture.Signer {
	t.Helper()
	s, err := nurture.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEngagementWithAMergedLeadsEmailLandsOnTheSurvivor(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	gone := b.lead(t, b.ws, "ada@example.com")
	survivor := b.lead(t, b.ws, "ada@analytical.example")
	m := b.message(t, gone)
	if _, err := b.st.MarkLeadMerged(b.ctx, b.ws.ID, gone.ID, survivor.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	b.do(t, http.MethodGet, b.links(m).Click(0, m.Links[0]), "", "")
	if got := b.engagement(t, gone.ID); len(got) != 0 {
		t.Errorf("the merged lead got %v", got)
	}
	if got := b.engagement(t, survivor.ID); len(got) != 2 {
		t.Errorf("the survivor got %v, want an open and a click", got)
	}
}

// sequenceWithEnrollments makes an active sequence and enrolls each lead.
func (b *trackBundle) sequenceWithEnrollments(t *testing.T, ws store.Workspace, leads ...store.Lead) []uuid.UUID {
	t.Helper()
	seq := store.NewID()
	if _, err := b.st.Pool.Exec(b.ctx, `
		INSERT INTO sequences (id, workspace_id, name, status, steps)
		VALUES ($1, $2, 'Welcome', 'active', '[{"key": "s1", "type": "wait", "duration": "1h"}]')`, seq, ws.ID); err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for _, l := range leads {
		id := store.NewID()
		if _, err := b.st.Pool.Exec(b.ctx, `
			INSERT INTO enrollments (id, workspace_id, sequence_id, lead_id, step_key, next_run_at)
			VALUES ($1, $2, $3, $4, 's1', now() + interval '1 hour')`, id, ws.ID, seq, l.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// enrollmentStates gives each enrollment's "state reason".
func (b *trackBundle) enrollmentStates(t *testing.T, ids ...uuid.UUID) []string {
	t.Helper()
	var out []string
	for _, id := range ids {
		var state, reason string
		if err := b.st.Pool.QueryRow(b.ctx, `SELECT state, exit_reason FROM enrollments WHERE id = $1`, id).Scan(&state, &reason); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSpace(state+" "+reason))
	}
	return out
}

func (b *trackBundle) suppressions(t *testing.T, ws store.Workspace) []string {
	t.Helper()
	rows, err := b.st.Pool.Query(b.ctx, `SELECT email_canonical || ' ' || reason FROM suppressions
		WHERE workspace_id = $1 ORDER BY 1`, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestUnsubscribePageChangesNothing(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	l := b.lead(t, b.ws, "ada@example.com")
	enr := b.sequenceWithEnrollments(t, b.ws, l)
	m := b.message(t, l)

	a := b.do(t, http.MethodGet, b.links(m).Unsubscribe(), "", "")
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET unsubscribe = %d %q", a.status, a.header.Get("Content-Type"))
	}
	for _, want := range []string{
		`<form method="post">`,
		`name="List-Unsubscribe" value="One-Click"`,
		"ada@example.com",
		// The sender's name is the workspace's data: escaped.
		"&lt;b&gt;acme&lt;/b&gt; &amp; Co",
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("unsubscribe page lacks %q:\n%s", want, a.body)
		}
	}
	if strings.Contains(a.body, "<b>acme</b>") {
		t.Errorf("unsubscribe page holds the sender's markup unescaped")
	}
	if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("unsubscribe page CSP = %q", csp)
	}
	if cc := a.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("unsubscribe page Cache-Control = %q", cc)
	}
	if got := b.suppressions(t, b.ws); len(got) != 0 {
		t.Errorf("a GET suppressed %v", got)
	}
	if diff := cmp.Diff([]string{"active"}, b.enrollmentStates(t, enr...)); diff != "" {
		t.Errorf("a GET changed enrollments (-want +got):\n%s", diff)
	}
	if got := b.engagement(t, l.ID); len(got) != 0 {
		t.Errorf("a GET recorded %v", got)
	}
}

func TestOneClickUnsubscribeExitsEverySequenceAndStopsMail(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	// The lead signed up with a +tag: suppression is by the canonical
	// address, which every spelling of it shares.
	l := b.lead(t, b.ws, "Ada+news@Example.com")
	bystander := b.lead(t, b.ws, "grace@example.com")
	enr := append(b.sequenceWithEnrollments(t, b.ws, l, bystander), b.sequenceWithEnrollments(t, b.ws, l)...)
	m := b.message(t, l)

	for _, tampered := range []string{tamper(b.links(m).Unsubscribe()), b.links(m).Click(0, m.Links[0])} {
		a := b.do(t, http.MethodPost, strings.Replace(tampered, "/t/c/", "/u/", 1),
			"application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
		if a.status != http.StatusNotFound {
			t.Errorf("POST with a bad token = %d, want 404", a.status)
		}
	}
	if got := b.suppressions(t, b.ws); len(got) != 0 {
		t.Fatalf("a bad token suppressed %v", got)
	}

	// RFC 8058: the mail client posts this body to the List-Unsubscribe URL.
	for i := range 2 {
		a := b.do(t, http.MethodPost, b.links(m).Unsubscribe(), "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
		if a.status != http.StatusOK || !strings.Contains(a.body, "You are unsubscribed") {
			t.Fatalf("one-click POST %d = %d:\n%s", i, a.status, a.body)
		}
	}
	if diff := cmp.Diff([]string{"ada@example.com unsubscribed"}, b.suppressions(t, b.ws)); diff != "" {
		t.Errorf("suppressions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"exited unsubscribed", "active", "exited unsubscribed"}, b.enrollmentStates(t, enr...)); diff != "" {
		t.Errorf("enrollments of the lead and a bystander (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"unsubscribed " + m.ID.String()}, b.engagement(t, l.ID)); diff != "" {
		t.Errorf("engagement (-want +got):\n%s", diff)
	}
	// The page now says so.
	if a := b.do(t, http.MethodGet, b.links(m).Unsubscribe(), "", ""); !strings.Contains(a.body, "You are unsubscribed") {
		t.Errorf("the page after unsubscribing:\n%s", a.body)
	}

	// Further marketing email to the address is suppressed, while the
	// bystander's goes out: through the real send path and SMTP server.
	next := b.queuedMessage(t, l)
	other := b.queuedMessage(t, bystander)
	for _, q := range []store.Message{next, other} {
		if err := b.eng.Send(b.ctx, nurture.SendPayload{WorkspaceID: q.WorkspaceID, MessageID: q.ID}); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	if got := b.getMessage(t, next); got.Status != store.MessageSuppressed {
		t.Errorf("the unsubscribed lead's next message is %s, want suppressed", got.Status)
	}
	if got := b.getMessage(t, other); got.Status != store.MessageSent {
		t.Errorf("the bystander's message is %s (%s), want sent", got.Status, got.LastError)
	}
	var to []string
	for _, sm := range b.smtp.Messages() {
		to = append(to, sm.To...)
	}
	if diff := cmp.Diff([]string{"grace@example.com"}, to); diff != "" {
		t.Errorf("SMTP recipients (-want +got):\n%s", diff)
	}
}

// queuedMessage stores a queued marketing message to the lead.
func (b *trackBundle) queuedMessage(t *testing.T, l store.Lead) store.Message {
	t.Helper()
	id := store.NewID()
	m, _, err := b.st.InsertMessage(b.ctx, store.Message{
		ID: id, WorkspaceID: l.WorkspaceID, LeadID: &l.ID, DedupeKey: "test:" + id.String(),
		Kind: store.MessageMarketing, ToEmail: l.Email, Subject: "Next", HTMLBody: "<p>Next</p>",
		TextBody: "Next", MessageID: id.String() + "@leads.example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestUnsubscribePageWithABadTokenIsNotFound(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	l := b.lead(t, b.ws, "ada@example.com")
	m := b.message(t, l)
	for _, bad := range []string{
		tamper(b.links(m).Unsubscribe()),
		trackBaseURL + "/u/" + b.signer.Sign(nurture.TokenOpen, m.ID, 0),
		b.links(store.Message{ID: uuid.New()}).Unsubscribe(),
	} {
		a := b.do(t, http.MethodGet, bad, "", "")
		if a.status != http.StatusNotFound || !strings.Contains(a.body, "This link is not valid") {
			t.Errorf("GET %s = %d:\n%s", bad, a.status, a.body)
		}
	}
}

// changeEmail gives the lead a new address, as a later form response can.
func (b *trackBundle) changeEmail(t *testing.T, l store.Lead, email string) {
	t.Helper()
	if _, err := b.st.Pool.Exec(b.ctx, `UPDATE leads SET email = $2, email_canonical = $2 WHERE id = $1`, l.ID, email); err != nil {
		t.Fatal(err)
	}
}

func TestUnsubscribeAfterTheLeadChangedAddressSuppressesBoth(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	l := b.lead(t, b.ws, "ada@old.example")
	enr := b.sequenceWithEnrollments(t, b.ws, l)
	m := b.message(t, l)
	b.changeEmail(t, l, "ada@new.example")

	a := b.do(t, http.MethodPost, b.links(m).Unsubscribe(), "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
	if a.status != http.StatusOK {
		t.Fatalf("POST unsubscribe = %d:\n%s", a.status, a.body)
	}
	if diff := cmp.Diff([]string{"ada@new.example unsubscribed", "ada@old.example unsubscribed"}, b.suppressions(t, b.ws)); diff != "" {
		t.Errorf("suppressions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"exited unsubscribed"}, b.enrollmentStates(t, enr...)); diff != "" {
		t.Errorf("enrollments (-want +got):\n%s", diff)
	}
}

// The click endpoint redirects only to the link a click token was signed
// for: a stored link that is not that one (a lead's URL in a message
// rendered before links were signed) is never redirected to.
func TestClickLeadsOnlyToTheLinkItWasSignedFor(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	l := b.lead(t, b.ws, "ada@example.com")
	m := b.message(t, l, "https://evil.example/phish")
	a := b.do(t, http.MethodGet, b.links(m).Click(0, "https://www.example.com/pricing"), "", "")
	if a.status != http.StatusNotFound || a.header.Get("Location") != "" {
		t.Errorf("a click signed for another link = %d to %q, want 404 without a redirect", a.status, a.header.Get("Location"))
	}
	if got := b.getMessage(t, m); got.ClickedAt != nil {
		t.Errorf("the refused click was recorded at %v", got.ClickedAt)
	}
	if got := b.engagement(t, l.ID); len(got) != 0 {
		t.Errorf("the refused click recorded %v", got)
	}
}

// A lead-supplied URL, end to end: a lead whose company and custom field
// are URLs gets a message whose stored links are the template's only, so
// no click token of that message can lead to the lead's URL.
func TestLeadSuppliedURLIsNotRedirectable(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	l := b.lead(t, b.ws, "ada@example.com")
	l.Company = "https://evil.example/company"
	l.Custom = map[string]string{"site": "https://evil.example/site"}
	r, err := nurture.Render(store.Template{
		Subject:  "Hi",
		HTMLBody: `<p>{{company}} <a href="{{custom.site}}">you</a> <a href="https://www.example.com/pricing">pricing</a></p>`,
	}, nurture.MergeData{Lead: l, Workspace: b.ws}, nurture.Links{BaseURL: trackBaseURL, Signer: b.signer, MessageID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"https://www.example.com/pricing"}, r.Links); diff != "" {
		t.Fatalf("tracked links (-want +got):\n%s", diff)
	}
	m := b.message(t, l, r.Links...)
	for i, target := range []string{"https://evil.example/company", "https://evil.example/site"} {
		for n := range 2 {
			a := b.do(t, http.MethodGet, b.links(m).Click(n, target), "", "")
			if a.status != http.StatusNotFound || a.header.Get("Location") != "" {
				t.Errorf("link %d, index %d: %d to %q, want 404", i, n, a.status, a.header.Get("Location"))
			}
		}
	}
	if a := b.do(t, http.MethodGet, b.links(m).Click(0, r.Links[0]), "", ""); a.status != http.StatusFound || a.header.Get("Location") != r.Links[0] {
		t.Errorf("the template's link = %d to %q, want 302 to %s", a.status, a.header.Get("Location"), r.Links[0])
	}
}

// After the link lifetime (180 days by default) a click records nothing and
// redirects nowhere, and an open records nothing; unsubscribing still works
// for two years.
func TestExpiredTrackingLinks(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	l := b.lead(t, b.ws, "ada@example.com")
	m := b.message(t, l)
	links := b.links(m)
	click, open, unsubscribe := links.Click(0, m.Links[0]), links.Open(), links.Unsubscribe()
	sentAt := b.clock.Now()

	b.clock.Set(sentAt.Add(180 * 24 * time.Hour))
	a := b.do(t, http.MethodGet, click, "", "")
	if a.status != http.StatusGone || a.header.Get("Location") != "" || !strings.Contains(a.body, "This link has expired") {
		t.Errorf("an expired click = %d to %q:\n%s", a.status, a.header.Get("Location"), a.body)
	}
	if a := b.do(t, http.MethodGet, open, "", ""); a.status != http.StatusOK || a.header.Get("Content-Type") != "image/gif" {
		t.Errorf("an expired open = %d %s, want the pixel", a.status, a.header.Get("Content-Type"))
	}
	if got := b.getMessage(t, m); got.ClickedAt != nil || got.OpenedAt != nil {
		t.Errorf("expired links recorded: clicked %v opened %v", got.ClickedAt, got.OpenedAt)
	}
	if got := b.engagement(t, l.ID); len(got) != 0 {
		t.Errorf("expired links recorded %v", got)
	}

	b.clock.Set(sentAt.Add(729 * 24 * time.Hour))
	if a := b.do(t, http.MethodGet, unsubscribe, "", ""); a.status != http.StatusOK || !strings.Contains(a.body, "<form") {
		t.Errorf("unsubscribe page after 729 days = %d:\n%s", a.status, a.body)
	}
	b.clock.Set(sentAt.Add(730 * 24 * time.Hour))
	if a := b.do(t, http.MethodPost, unsubscribe, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click"); a.status != http.StatusGone {
		t.Errorf("unsubscribe after 730 days = %d, want 410", a.status)
	}
	if got := b.suppressions(t, b.ws); len(got) != 0 {
		t.Errorf("an expired unsubscribe link suppressed %v", got)
	}
}

// Links signed before links expired: unsubscribing works for good, a click
// leads only to a link on this server (an old confirmation email's button,
// never a lead's URL), an open records nothing.
func TestLegacyLinks(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	l := b.lead(t, b.ws, "ada@example.com")
	own := trackBaseURL + "/c/" + nurture.LegacyToken(b.signer, nurture.TokenConfirm, uuid.New(), 0)
	m := b.message(t, l, "https://evil.example/phish", own)
	legacy := func(kind byte, n uint32) string { return nurture.LegacyToken(b.signer, kind, m.ID, n) }

	if a := b.do(t, http.MethodGet, trackBaseURL+"/t/c/"+legacy(nurture.TokenClick, 0), "", ""); a.status != http.StatusGone || a.header.Get("Location") != "" {
		t.Errorf("an old click to another site = %d to %q, want 410 without a redirect", a.status, a.header.Get("Location"))
	}
	if a := b.do(t, http.MethodGet, trackBaseURL+"/t/c/"+legacy(nurture.TokenClick, 1), "", ""); a.status != http.StatusFound || a.header.Get("Location") != own {
		t.Errorf("an old click to this server = %d to %q, want 302 to %s", a.status, a.header.Get("Location"), own)
	}
	b.do(t, http.MethodGet, trackBaseURL+"/t/o/"+legacy(nurture.TokenOpen, 0), "", "")
	if got := b.getMessage(t, m); got.OpenedAt != nil || got.ClickedAt != nil {
		t.Errorf("old links recorded: opened %v clicked %v", got.OpenedAt, got.ClickedAt)
	}
	b.clock.Set(b.clock.Now().Add(10 * 365 * 24 * time.Hour))
	a := b.do(t, http.MethodPost, trackBaseURL+"/u/"+legacy(nurture.TokenUnsubscribe, 0), "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
	if a.status != http.StatusOK || !strings.Contains(a.body, "You are unsubscribed") {
		t.Errorf("an old unsubscribe link = %d:\n%s", a.status, a.body)
	}
	if diff := cmp.Diff([]string{"ada@example.com " + store.SuppressUnsubscribed}, b.suppressions(t, b.ws)); diff != "" {
		t.Errorf("suppressions (-want +got):\n%s", diff)
	}
}
