package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"leadflow/deploy/local"
	"leadflow/store"
	"leadflow/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// cheap keeps password hashing fast in tests; production uses the defaults.
var cheap = &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

const testPassword = "correct horse battery"

type bundle struct {
	st   *store.Store
	srv  *httptest.Server
	sink *local.SMTPSink
	ws   store.Workspace
	c    *Console
}

// setup serves a console on a fresh database and Redis; tweak, when given,
// changes its Config (the server's URL is the base URL until then).
func setup(t testing.TB, tweak func(*Config)) *bundle {
	t.Helper()
	st := storetest.NewStore(t)
	rdb := redis.NewClient(storetest.RedisOptions(t))
	t.Cleanup(func() { rdb.Close() })
	sink := startSink(t)
	e := echo.New()
	srv := httptest.NewUnstartedServer(e)
	srv.Start()
	t.Cleanup(srv.Close)
	cfg := Config{Store: st, Redis: rdb, BaseURL: srv.URL, Mailer: smtpMailer(t, sink.Addr()), PasswordParams: cheap, AttemptsPerAddress: 5}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Before the servers stop: the emails accepted are sent first.
	t.Cleanup(func() {
		if err := c.Close(context.Background()); err != nil {
			t.Errorf("close the console: %v", err)
		}
	})
	g := c.Routes(e)
	// A page of another domain, mounted as those pages are.
	forms, err := Page("forms", `{{define "content"}}<h1>Forms</h1>{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	c.Nav("Forms", "/console/forms", store.UserMarketing)
	g.GET("/forms", func(ec echo.Context) error { return c.Render(ec, http.StatusOK, forms, "Forms", nil) }, c.Require(store.UserMarketing))
	ws, err := st.EnsureWorkspace(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{st: st, srv: srv, sink: sink, ws: ws, c: c}
}

// startSink starts an SMTP sink, stopped when the test ends.
func startSink(t testing.TB) *local.SMTPSink {
	t.Helper()
	sink, err := local.StartSMTPSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	return sink
}

// smtpMailer sends to the SMTP server at addr (127.0.0.1:PORT), plain.
func smtpMailer(t testing.TB, addr string) *SMTPMailer {
	t.Helper()
	_, port, _ := strings.Cut(addr, ":")
	m, err := NewSMTPMailer(SMTP{Host: "127.0.0.1", Port: atoi(t, port), TLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func (b *bundle) person(t testing.TB, ws store.Workspace, email, role, password string) store.Person {
	t.Helper()
	hash := ""
	if password != "" {
		var err error
		if hash, err = argon2id.CreateHash(password, cheap); err != nil {
			t.Fatal(err)
		}
	}
	p, err := b.st.InsertPerson(context.Background(), store.Person{WorkspaceID: ws.ID, Name: strings.Split(email, "@")[0], Email: email, Role: role, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, sending what a browser sends on a same-origin form post.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func (b *bundle) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: b.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (br *browser) do(method, path string, form url.Values, header map[string]string) answer {
	br.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, br.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := br.c.Do(req)
	if err != nil {
		br.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Location"), string(raw), resp.Header}
}

func (br *browser) get(path string) answer { return br.do("GET", path, nil, nil) }
func (br *browser) post(path string, form url.Values) answer {
	return br.do("POST", path, form, nil)
}

func (br *browser) signIn(email, password, next string) answer {
	br.t.Helper()
	return br.post("/login", url.Values{"email": {email}, "password": {password}, "next": {next}})
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (br *browser) csrf(path string) string {
	br.t.Helper()
	a := br.get(path)
	m := csrfInput.FindStringSubmatch(a.body)
	if m == nil {
		br.t.Fatalf("no CSRF token on %s (status %d)", path, a.status)
	}
	return m[1]
}

func TestLocalPathKeepsNextOnThisSite(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"/console/people":           "/console/people",
		"/console/leads?status=new": "/console/leads?status=new",
		"":                          homePath,
		"//evil.com":                homePath,
		"///evil.com":               homePath,
		`/\evil.com`:                homePath,
		`/\/evil.com`:               homePath,
		"https://evil.com/":         homePath,
		"http:evil.com":             homePath,
		"javascript:alert(1)":       homePath,
		"evil.com":                  homePath,
		"/\t/evil.com":              homePath,
		"/%2F%2Fevil.com":           homePath,
		" /console/":                homePath,
	}
	got := map[string]string{}
	for in := range cases {
		got[in] = localPath(in)
	}
	if d := cmp.Diff(cases, got); d != "" {
		t.Errorf("localPath (-want +got):\n%s", d)
	}
}

func TestSignInLandsOnALocalNextOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.person(t, b.ws, "ada@example.com", store.UserAdmin, testPassword)
	for _, next := range []string{"//evil.com", `/\evil.com`, "https://evil.com/x", "/console/people"} {
		br := b.browser(t)
		a := br.signIn("ada@example.com", testPassword, next)
		want := localPath(next)
		if a.status != http.StatusSeeOther || a.location != want {
			t.Errorf("sign in with next %q: %d to %q, want 303 to %q", next, a.status, a.location, want)
		}
	}
	// Asking for a page without a session remembers it.
	a := b.browser(t).get("/console/people?x=1")
	if a.status != http.StatusSeeOther || a.location != "/login?next=%2Fconsole%2Fpeople%3Fx%3D1" {
		t.Errorf("console page signed out: %d to %q", a.status, a.location)
	}
}

func TestTheLoginPageAsksForALinkWithItsNext(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	for next, want := range map[string]string{
		"/console/people?x=1&y=2": `href="/login/link?next=%2fconsole%2fpeople%3fx%3d1%26y%3d2"`,
		"":                        `href="/login/link"`,
		"//evil.example/":         `href="/login/link"`,
	} {
		a := b.browser(t).get("/login?next=" + url.QueryEscape(next))
		if !strings.Contains(a.body, want) {
			t.Errorf("login page for next %q: no %s in:\n%s", next, want, a.body)
		}
	}
}

func TestSignInRefusesAlikeWhetherOrNotTheAddressExists(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.person(t, b.ws, "ada@example.com", store.UserAdmin, testPassword)
	b.person(t, b.ws, "nopass@example.com", store.UserSalesRep, "")
	var bodies []string
	for _, email := range []string{"ada@example.com", "nobody@example.com", "nopass@example.com"} {
		a := b.browser(t).signIn(email, "wrong password!", "")
		if a.status != http.StatusUnauthorized {
			t.Errorf("wrong password for %s: status %d, want 401", email, a.status)
		}
		bodies = append(bodies, strings.ReplaceAll(a.body, email, "EMAIL"))
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Error("the refusal differs between an existing address, an unknown one and one without a password")
	}
}

func TestSignInIsLimitedPerAddress(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.person(t, b.ws, "ada@example.com", store.UserAdmin, testPassword)
	br := b.browser(t)
	for i := range 5 {
		if a := br.signIn("ADA@example.com", "wrong password!", ""); a.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d", i+1, a.status)
		}
	}
	a := br.signIn("ada@example.com", testPassword, "")
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
		t.Errorf("sixth attempt: status %d, Retry-After %q; want 429 with Retry-After", a.status, a.header.Get("Retry-After"))
	}
	// Another address from the same client is not held back.
	b.person(t, b.ws, "bob@example.com", store.UserMarketing, testPassword)
	if a := br.signIn("bob@example.com", testPassword, ""); a.status != http.StatusSeeOther {
		t.Errorf("another address: status %d, want 303", a.status)
	}
}

func TestSignInIsLimitedPerIP(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.AttemptsPerIP = 4 })
	br := b.browser(t)
	for i := range 4 {
		// A different address each time: only the client's count grows.
		if a := br.signIn(fmt.Sprintf("guess%d@example.com", i), "wrong password!", ""); a.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d", i+1, a.status)
		}
	}
	if a := br.post("/login/link", url.Values{"email": {"guess9@example.com"}}); a.status != http.StatusTooManyRequests {
		t.Errorf("a link request past the client's limit: status %d, want 429", a.status)
	}
}

func TestSamePasswordInTwoWorkspacesAsksWhich(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	globex, err := b.st.EnsureWorkspace(context.Background(), "globex")
	if err != nil {
		t.Fatal(err)
	}
	b.person(t, b.ws, "ada@example.com", store.UserAdmin, testPassword)
	g := b.person(t, globex, "ada@example.com", store.UserMarketing, testPassword)
	br := b.browser(t)
	a := br.signIn("ada@example.com", testPassword, "")
	if a.status != http.StatusOK || !strings.Contains(a.body, `<option value="acme">`) || !strings.Contains(a.body, `<option value="globex">`) {
		t.Fatalf("same password in two workspaces: status %d, want the chooser:\n%s", a.status, a.body)
	}
	a = br.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "workspace": {"globex"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("choosing globex: status %d", a.status)
	}
	home := br.get("/console/")
	if !strings.Contains(home.body, "globex") || !strings.Contains(home.body, "Marketing") {
		t.Errorf("signed in to globex as %s? home page:\n%s", g.Role, home.body)
	}
}

func TestSignInLinkIsSpentOnceByAPost(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.person(t, b.ws, "ada@example.com", store.UserSalesRep, "")
	br := b.browser(t)
	known := br.post("/login/link", url.Values{"email": {"Ada@Example.com"}, "next": {"/console/people"}})
	unknown := br.post("/login/link", url.Values{"email": {"nobody@example.com"}})
	if known.status != http.StatusOK || known.body != unknown.body {
		t.Errorf("link request: status %d; the answers for a known and an unknown address differ", known.status)
	}
	var msgs []local.SinkMessage
	waitFor(t, "the sign-in email", func() bool { msgs = b.sink.Messages(); return len(msgs) > 0 })
	if len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{"ada@example.com"}) {
		t.Fatalf("emails sent: %+v", msgs)
	}
	link := regexp.MustCompile(regexp.QuoteMeta(b.srv.URL) + `/login/link/\S+`).FindString(msgs[0].Text)
	if link == "" {
		t.Fatalf("no absolute link on the base URL in:\n%s", msgs[0].Text)
	}
	path := strings.TrimPrefix(link, b.srv.URL)
	// A mail scanner following the link spends nothing.
	for range 2 {
		if a := br.get(path); a.status != http.StatusOK {
			t.Fatalf("GET the link: status %d", a.status)
		}
	}
	// The next it was asked with is kept, and still checked: a sales rep
	// may not use People, so landing there answers 403.
	a := br.post(path, url.Values{})
	if a.status != http.StatusSeeOther || a.location != "/console/people" {
		t.Fatalf("POST the link: %d to %q", a.status, a.location)
	}
	if a := br.get("/console/people"); a.status != http.StatusForbidden {
		t.Errorf("sales rep on People: status %d, want 403", a.status)
	}
	if a := b.browser(t).post(path, url.Values{}); a.status != http.StatusGone {
		t.Errorf("the link a second time: status %d, want 410", a.status)
	}
}

func TestResetChoosesAPasswordAndEndsOtherSessions(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	p := b.person(t, b.ws, "ada@example.com", store.UserAdmin, testPassword)
	elsewhere := b.browser(t)
	if a := elsewhere.signIn("ada@example.com", testPassword, ""); a.status != http.StatusSeeOther {
		t.Fatalf("sign in: %d", a.status)
	}
	br := b.browser(t)
	br.post("/password/reset", url.Values{"email": {"ada@example.com"}})
	var msgs []local.SinkMessage
	waitFor(t, "the reset email", func() bool { msgs = b.sink.Messages(); return len(msgs) > 0 })
	path := strings.TrimPrefix(regexp.MustCompile(regexp.QuoteMeta(b.srv.URL)+`/password/reset/\S+`).FindString(msgs[0].Text), b.srv.URL)
	if path == "" {
		t.Fatalf("no reset link in:\n%s", msgs[0].Text)
	}
	if a := br.post(path, url.Values{"password": {"short"}, "confirm": {"short"}}); a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "10 to 256 characters") {
		t.Errorf("short password: status %d", a.status)
	}
	const fresh = "a brand new password"
	if a := br.post(path, url.Values{"password": {fresh}, "confirm": {fresh}}); a.status != http.StatusSeeOther {
		t.Fatalf("choose a password: status %d", a.status)
	}
	if a := br.get("/console/"); a.status != http.StatusOK {
		t.Errorf("after the reset: home status %d, want 200 (signed in)", a.status)
	}
	if a := elsewhere.get("/console/"); a.status != http.StatusSeeOther {
		t.Errorf("the session from before the reset: status %d, want 303 to sign in", a.status)
	}
	if n, _ := b.st.CountSessions(context.Background(), p.ID); n != 1 {
		t.Errorf("sessions after the reset = %d, want 1", n)
	}
	if a := b.browser(t).signIn("ada@example.com", fresh, ""); a.status != http.StatusSeeOther {
		t.Errorf("sign in with the new password: status %d", a.status)
	}
}

func TestAdminActionsHoldAtOnceAndNeedTheirToken(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.person(t, b.ws, "ada@example.com", store.UserAdmin, testPassword)
	rep := b.person(t, b.ws, "sam@example.com", store.UserSalesRep, testPassword)
	admin, sam := b.browser(t), b.browser(t)
	admin.signIn("ada@example.com", testPassword, "")
	sam.signIn("sam@example.com", testPassword, "")
	token := admin.csrf("/console/people")
	rolePath := "/console/people/" + rep.ID.String() + "/role"
	// Without the token, or with another session's: refused, unchanged.
	for _, form := range []url.Values{{"role": {store.UserAdmin}}, {"role": {store.UserAdmin}, CSRFField: {sam.csrf("/console/")}}} {
		if a := admin.post(rolePath, form); a.status != http.StatusForbidden {
			t.Errorf("role change with token %q: status %d, want 403", form.Get(CSRFField), a.status)
		}
	}
	if a := sam.get("/console/people"); a.status != http.StatusForbidden {
		t.Fatalf("sales rep on People: %d, want 403", a.status)
	}
	// The header works as well as the field; the change holds at once.
	if a := admin.do("POST", rolePath, url.Values{"role": {store.UserAdmin}}, map[string]string{CSRFHeader: token}); a.status != http.StatusSeeOther {
		t.Fatalf("role change with the header: status %d", a.status)
	}
	if a := sam.get("/console/people"); a.status != http.StatusOK {
		t.Errorf("promoted to admin, People: status %d, want 200", a.status)
	}
	if a := admin.post("/console/people/"+rep.ID.String()+"/deactivate", url.Values{CSRFField: {token}}); a.status != http.StatusSeeOther {
		t.Fatalf("deactivate: status %d", a.status)
	}
	if a := sam.get("/console/"); a.status != http.StatusSeeOther {
		t.Errorf("deactivated person's next request: status %d, want 303 to sign in", a.status)
	}
	if a := b.browser(t).signIn("sam@example.com", testPassword, ""); a.status != http.StatusUnauthorized {
		t.Errorf("deactivated person signing in: status %d, want 401", a.status)
	}
	if !strings.Contains(admin.get("/console/people").body, "/console/people/"+rep.ID.String()+"/reactivate") {
		t.Error("the People page offers no reactivation for the deactivated person")
	}
	if a := admin.post("/console/people/"+rep.ID.String()+"/reactivate", url.Values{CSRFField: {token}}); a.status != http.StatusSeeOther {
		t.Fatalf("reactivate: status %d", a.status)
	}
	if a := b.browser(t).signIn("sam@example.com", testPassword, ""); a.status != http.StatusSeeOther {
		t.Errorf("reactivated person signing in: status %d, want 303", a.status)
	}
}

func TestAPageOfAnotherDomainIsShownAndReachedByItsRolesOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	for _, p := range []struct {
		email, role string
		want        int
	}{
		{"mia@example.com", store.UserMarketing, http.StatusOK},
		{"ada@example.com", store.UserAdmin, http.StatusOK},
		{"sam@example.com", store.UserSalesRep, http.StatusForbidden},
	} {
		b.person(t, b.ws, p.email, p.role, testPassword)
		br := b.browser(t)
		br.signIn(p.email, testPassword, "")
		home := br.get("/console/")
		if shown := strings.Contains(home.body, `href="/console/forms"`); shown != (p.want == http.StatusOK) {
			t.Errorf("%s: Forms in the navigation = %v", p.role, shown)
		}
		if a := br.get("/console/forms"); a.status != p.want {
			t.Errorf("%s on /console/forms: status %d, want %d", p.role, a.status, p.want)
		}
	}
}

func TestCrossSitePostsAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.person(t, b.ws, "ada@example.com", store.UserAdmin, testPassword)
	form := url.Values{"email": {"ada@example.com"}, "password": {testPassword}}
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Sec-Fetch-Site": "", "Origin": "https://evil.example"},
	} {
		if a := b.browser(t).do("POST", "/login", form, h); a.status != http.StatusForbidden || a.header.Get("Set-Cookie") != "" {
			t.Errorf("sign-in post with %v: status %d, cookie %q; want 403 and none", h, a.status, a.header.Get("Set-Cookie"))
		}
	}
}

func TestCookiesAreSecureBehindHTTPS(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.BaseURL = "https://leads.example.com" })
	b.person(t, b.ws, "ada@example.com", store.UserAdmin, testPassword)
	a := b.browser(t).signIn("ada@example.com", testPassword, "")
	c := a.header.Get("Set-Cookie")
	for _, want := range []string{"__Host-leadflow_session=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(c, want) {
			t.Errorf("Set-Cookie %q lacks %q", c, want)
		}
	}
	if strings.Contains(c, "Domain=") {
		t.Errorf("Set-Cookie %q names a domain: a __Host- cookie must not", c)
	}
}

func TestPagesSendAStrictCSP(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	a := b.browser(t).get("/login")
	csp := a.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "style-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	if regexp.MustCompile(`<script>|<style|style="`).MatchString(a.body) {
		t.Errorf("the login page has inline script or style:\n%s", a.body)
	}
	m := regexp.MustCompile(`href="(/assets/console\.[0-9a-f]{16}\.css)"`).FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("no content-hashed stylesheet in:\n%s", a.body)
	}
	if s := b.browser(t).get(m[1]); s.status != http.StatusOK || !strings.Contains(s.header.Get("Cache-Control"), "immutable") {
		t.Errorf("stylesheet: status %d, Cache-Control %q", s.status, s.header.Get("Cache-Control"))
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSigningInAgainEndsTheSessionBefore(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ada := b.person(t, b.ws, "ada@example.com", store.UserAdmin, testPassword)
	br := b.browser(t)
	first := br.signIn("ada@example.com", testPassword, "")
	old := first.header.Get("Set-Cookie")
	secret, _, _ := strings.Cut(strings.TrimPrefix(old, cookiePlain+"="), ";")
	if first.status != http.StatusSeeOther || secret == "" {
		t.Fatalf("first sign-in: %d, cookie %q", first.status, old)
	}
	if a := br.signIn("ada@example.com", testPassword, ""); a.status != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d", a.status)
	}
	replay := b.browser(t)
	replay.c.Jar.SetCookies(mustURL(t, b.srv.URL), []*http.Cookie{{Name: cookiePlain, Value: secret}})
	if a := replay.get("/console/"); a.status != http.StatusSeeOther {
		t.Errorf("the cookie from before the second sign-in: status %d, want 303 to sign in", a.status)
	}
	if n, _ := b.st.CountSessions(context.Background(), ada.ID); n != 1 {
		t.Errorf("sessions after signing in twice in one browser = %d, want 1", n)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestEverySignInCostsAPasswordCheck: a refused sign-in checks a password
// (argon2id) whether or not the address has one to check, so the refusal
// takes as long for an address that exists as for one that does not. The
// test holds every hashing slot and sees each sign-in wait for one. Not
// parallel: it reads every goroutine's stack, and parallel tests are held
// while it runs.
func TestEverySignInCostsAPasswordCheck(t *testing.T) {
	b := setup(t, nil)
	ctx := context.Background()
	b.person(t, b.ws, "ada@example.com", store.UserAdmin, testPassword)
	b.person(t, b.ws, "nopass@example.com", store.UserSalesRep, "")
	gone := b.person(t, b.ws, "gone@example.com", store.UserSalesRep, testPassword)
	if err := b.st.DeactivatePerson(ctx, b.ws.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	h := b.c.hasher
	for _, tc := range []struct {
		name  string
		form  url.Values
		check string // the hasher's method the sign-in waits in
	}{
		{"a wrong password", url.Values{"email": {"ada@example.com"}}, "matches"},
		{"an unknown address", url.Values{"email": {"nobody@example.com"}}, "spend"},
		{"an address without a password", url.Values{"email": {"nopass@example.com"}}, "spend"},
		{"a deactivated person", url.Values{"email": {"gone@example.com"}}, "spend"},
		{"another workspace named", url.Values{"email": {"ada@example.com"}, "workspace": {"globex"}}, "spend"},
	} {
		for range cap(h.slots) {
			h.slots <- struct{}{}
		}
		tc.form.Set("password", "wrong password!")
		got := make(chan answer, 1)
		br := b.browser(t)
		go func() { got <- br.post("/login", tc.form) }()
		waitFor(t, tc.name+" waiting for a password check", func() bool {
			select {
			case a := <-got:
				t.Fatalf("%s: answered %d without checking a password", tc.name, a.status)
			default:
			}
			return goroutineIn("console.hasher." + tc.check + "(")
		})
		for range cap(h.slots) {
			h.free()
		}
		if a := <-got; a.status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tc.name, a.status)
		}
	}
}

// goroutineIn reports whether a goroutine's stack has a frame of fn.
func goroutineIn(fn string) bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), fn)
}
