package main

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"leadflow/deploy/local"
	"leadflow/embed/console"
	"leadflow/embed/console/consoletest"
	"leadflow/store"
	"leadflow/store/storetest"
)

// browsers is the one Chromium this package's browser tests share.
var browsers consoletest.Shared

// signInLimit is the app's per-address sign-in limit in these tests.
const signInLimit = 3

// consoleApp is a real `leadflow serve` on loopback, with PostgreSQL, Redis
// and an SMTP server of its own.
type consoleApp struct {
	base string
	st   *store.Store
	sink *local.SMTPSink
	// redisURL is the app's Redis (each storetest.RedisURL call allocates
	// a new database, so a test that needs the same one reads it here).
	redisURL string
}

func startConsoleApp(t *testing.T) *consoleApp {
	t.Helper()
	ctx := context.Background()
	dbURL := storetest.DatabaseURL(t)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	sink, err := local.StartSMTPSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	base := startServe(t, dbURL, storetest.RedisURL(t), "smtp://"+sink.Addr()+"?tls=none")
	return &consoleApp{base: base, st: st, sink: sink}
}

// startRunApp runs `leadflow run` (the web server and the workers in
// one process) on loopback with PostgreSQL, Redis and an SMTP server of its
// own: a form posted to it becomes a lead without anything else running.
func startRunApp(t *testing.T) *consoleApp {
	t.Helper()
	ctx := context.Background()
	dbURL, redisURL := storetest.DatabaseURL(t), storetest.RedisURL(t)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	sink, err := local.StartSMTPSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := startCommand(t, map[string]string{
		"LEADFLOW_DATABASE_URL": dbURL,
		"LEADFLOW_REDIS_URL":    redisURL,
		"LEADFLOW_SECRET_KEY":   strings.Repeat("k", 40),
		"LEADFLOW_ADDR":         addr,
		"LEADFLOW_SMTP_URL":     "smtp://" + sink.Addr() + "?tls=none",
	}, "run")
	waitFor(t, "run listening", 30*time.Second, func() bool {
		return cmd.running(t) && strings.Contains(cmd.stderr.String(), "http_listening")
	})
	return &consoleApp{base: "http://" + addr, st: st, sink: sink, redisURL: redisURL}
}

// startServe runs `leadflow serve` on a free loopback port and returns its
// base URL.
func startServe(t *testing.T, dbURL, redisURL, smtpURL string) string {
	t.Helper()
	// Emailed links need the address before the server starts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := startCommand(t, map[string]string{
		"LEADFLOW_DATABASE_URL":             dbURL,
		"LEADFLOW_REDIS_URL":                redisURL,
		"LEADFLOW_SECRET_KEY":               strings.Repeat("k", 40),
		"LEADFLOW_ADDR":                     addr,
		"LEADFLOW_SMTP_URL":                 smtpURL,
		"LEADFLOW_SIGNIN_LIMIT_PER_ADDRESS": strconv.Itoa(signInLimit),
	}, "serve")
	waitFor(t, "serve listening", 30*time.Second, func() bool {
		return cmd.running(t) && strings.Contains(cmd.stderr.String(), "http_listening")
	})
	return "http://" + addr
}

// person makes a person who can sign in with password in a workspace of
// their own (named after them), and returns them.
func (a *consoleApp) person(t *testing.T, workspace, email, role, password string) store.Person {
	t.Helper()
	ctx := context.Background()
	ws, err := a.st.EnsureWorkspace(ctx, workspace)
	if err != nil {
		t.Fatal(err)
	}
	hash := ""
	if password != "" {
		if hash, err = console.HashPassword(password); err != nil {
			t.Fatal(err)
		}
	}
	p, err := a.st.InsertPerson(ctx, store.Person{WorkspaceID: ws.ID, Name: strings.Split(email, "@")[0], Email: email, Role: role, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mailTo waits for an email to addr and returns it.
func (a *consoleApp) mailTo(t *testing.T, addr string) local.SinkMessage {
	t.Helper()
	var got local.SinkMessage
	waitFor(t, "an email to "+addr, 20*time.Second, func() bool {
		i := slices.IndexFunc(a.sink.Messages(), func(m local.SinkMessage) bool { return slices.Contains(m.To, addr) })
		if i >= 0 {
			got = a.sink.Messages()[i]
		}
		return i >= 0
	})
	return got
}

// TestConsoleInBrowser signs people in through the login page of a real
// leadflow in a real Chromium, one tab per case, all cases at once.
func TestConsoleInBrowser(t *testing.T) {
	if _, err := consoletest.ChromiumPath(); err != nil {
		t.Fatal(err)
	}
	app := startConsoleApp(t)
	const password = "correct horse battery"

	t.Run("sign-in lands on next, never on another site", func(t *testing.T) {
		t.Parallel()
		app.person(t, "next-ws", "ada@next.test", store.UserAdmin, password)
		tab := browsers.Tab(t, app.base)
		tab.SignIn("ada@next.test", password, "/console/people")
		if got := tab.Text("main h1"); got != "People" {
			t.Errorf("landed on a page titled %q, want People", got)
		}
		if n := tab.Count("nav a[href='/console/people'][aria-current=page]"); n != 1 {
			t.Errorf("People links marked current in the navigation = %d, want 1", n)
		}
		// Signed in already: a hostile next still stays here.
		tab.Open("/login?next=" + url.QueryEscape("//evil.example/steal"))
		if got := tab.Path(); got != "/console/" {
			t.Errorf("/login?next=//evil.example/steal while signed in went to %s, want /console/", got)
		}
	})

	t.Run("sign-in works from the keyboard alone", func(t *testing.T) {
		t.Parallel()
		app.person(t, "keys-ws", "kim@keys.test", store.UserMarketing, password)
		tab := browsers.Tab(t, app.base)
		tab.Open("/login")
		if got := tab.Focused(); got != "#email" {
			t.Fatalf("the login page starts with the focus on %s, want #email", got)
		}
		tab.Keys("kim@keys.test" + kb.Tab)
		if got := tab.Focused(); got != "#password" {
			t.Fatalf("Tab from the email moved to %s, want #password", got)
		}
		tab.Keys(password)
		if status := tab.KeysLoad(kb.Enter); status != http.StatusOK || tab.Path() != "/console/" {
			t.Fatalf("Enter in the password field: status %d at %s", status, tab.Path())
		}
		// The first Tab on a page reaches the skip link.
		tab.Keys(kb.Tab)
		if got := tab.Text("a.skip"); got != "Skip to content" || tab.Focused() != "a" {
			t.Errorf("first Tab focused %s (skip link text %q)", tab.Focused(), got)
		}
	})

	t.Run("a wrong password is refused, then limited", func(t *testing.T) {
		t.Parallel()
		app.person(t, "limit-ws", "bob@limit.test", store.UserMarketing, password)
		tab := browsers.Tab(t, app.base)
		for i := range signInLimit {
			tab.Open("/login")
			tab.Type("#email", "bob@limit.test")
			tab.Type("#password", "not the password")
			if status := tab.Click("form[action='/login'] button[type=submit]"); status != http.StatusUnauthorized {
				t.Fatalf("wrong password, attempt %d: status %d, want 401", i+1, status)
			}
			if msg := tab.Text("p.error"); !strings.Contains(msg, "do not match") {
				t.Errorf("wrong password, attempt %d: message %q", i+1, msg)
			}
		}
		// Past the limit, even the right password waits.
		tab.Type("#email", "bob@limit.test")
		tab.Type("#password", password)
		if status := tab.Click("form[action='/login'] button[type=submit]"); status != http.StatusTooManyRequests {
			t.Fatalf("attempt past the limit: status %d, want 429", status)
		}
		if msg := tab.Text("p.error"); !strings.Contains(msg, "Too many attempts") {
			t.Errorf("attempt past the limit: message %q", msg)
		}
		if c := tab.Cookie("leadflow_session"); c != nil {
			t.Errorf("a session cookie was set past the limit")
		}
	})

	t.Run("a form posted without its CSRF token changes nothing", func(t *testing.T) {
		t.Parallel()
		app.person(t, "csrf-ws", "cy@csrf.test", store.UserAdmin, password)
		rep := app.person(t, "csrf-ws", "rep@csrf.test", store.UserSalesRep, "")
		tab := browsers.Tab(t, app.base)
		tab.SignIn("cy@csrf.test", password, "/console/people")
		form := "form[action='/console/people/" + rep.ID.String() + "/role']"
		tab.Choose(form+" select", store.UserMarketing)
		tab.Remove(form + " input[name=csrf_token]")
		if status := tab.Click(form + " button[type=submit]"); status != http.StatusForbidden {
			t.Fatalf("role change without a CSRF token: status %d, want 403", status)
		}
		got, err := app.st.GetPerson(context.Background(), rep.WorkspaceID, rep.ID)
		if err != nil || got.Role != store.UserSalesRep {
			t.Errorf("after the refused post: role %q (err %v), want %q unchanged", got.Role, err, store.UserSalesRep)
		}
		// With its token the same form works.
		tab.Open("/console/people")
		tab.Choose(form+" select", store.UserMarketing)
		if status := tab.Click(form + " button[type=submit]"); status != http.StatusOK {
			t.Fatalf("role change with its token: status %d", status)
		}
		if got, _ := app.st.GetPerson(context.Background(), rep.WorkspaceID, rep.ID); got.Role != store.UserMarketing {
			t.Errorf("after the role change: role %q, want %q", got.Role, store.UserMarketing)
		}
	})

	t.Run("sign-out ends the session", func(t *testing.T) {
		t.Parallel()
		app.person(t, "out-ws", "dee@out.test", store.UserMarketing, password)
		tab := browsers.Tab(t, app.base)
		tab.SignIn("dee@out.test", password, "/console/")
		old := tab.Cookie("leadflow_session")
		if old == nil || !old.HttpOnly || old.SameSite != http.SameSiteLaxMode {
			t.Fatalf("session cookie = %+v, want HttpOnly and SameSite=Lax", old)
		}
		if status := tab.Click("form.signout button[type=submit]"); status != http.StatusOK || tab.Path() != "/login?signed_out=1" {
			t.Fatalf("sign out: status %d at %s", status, tab.Path())
		}
		tab.Open("/console/")
		if got := tab.Path(); !strings.HasPrefix(got, "/login?next=") {
			t.Errorf("the console after sign-out showed %s, want the login page", got)
		}
		// The old cookie, replayed, opens nothing.
		req, _ := http.NewRequest("GET", app.base+"/console/", nil)
		req.AddCookie(&http.Cookie{Name: old.Name, Value: old.Value})
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("old cookie after sign-out: status %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("a sales rep cannot open the People page", func(t *testing.T) {
		t.Parallel()
		app.person(t, "rep-ws", "sam@rep.test", store.UserSalesRep, password)
		tab := browsers.Tab(t, app.base)
		tab.SignIn("sam@rep.test", password, "/console/handoffs")
		if n := tab.Count("nav a[href='/console/people']"); n != 0 {
			t.Errorf("a sales rep's navigation has %d People links, want none", n)
		}
		if n := tab.Count("nav a"); n == 0 {
			t.Error("a sales rep's navigation is empty")
		}
		if status := tab.Open("/console/people"); status != http.StatusForbidden {
			t.Errorf("sales rep opening /console/people: status %d, want 403", status)
		}
	})

	t.Run("a sign-in link asked for on the login page signs in once, on next", func(t *testing.T) {
		t.Parallel()
		app.person(t, "link-ws", "lin@link.test", store.UserAdmin, "")
		tab := browsers.Tab(t, app.base)
		tab.Open("/login?next=" + url.QueryEscape("/console/people"))
		if status := tab.Click("a[href^='/login/link']"); status != http.StatusOK || tab.Count("form[action='/login/link'] input[name=next][value='/console/people']") != 1 {
			t.Fatalf("the login page's link to ask for a sign-in link: status %d at %s, want the form to keep next", status, tab.Path())
		}
		tab.Type("#email", "lin@link.test")
		if status := tab.Click("form[action='/login/link'] button[type=submit]"); status != http.StatusOK {
			t.Fatalf("ask for a sign-in link: status %d", status)
		}
		if got := tab.Text("main h1"); got != "Check your email" {
			t.Errorf("after asking for a link the page says %q", got)
		}
		mail := app.mailTo(t, "lin@link.test")
		link := regexp.MustCompile(`https?://\S+/login/link/\S+`).FindString(mail.Text)
		if !strings.HasPrefix(link, app.base+"/login/link/") {
			t.Fatalf("the sign-in email has no link on the base URL:\n%s", mail.Text)
		}
		// Opening the link spends nothing: it asks for a press of its button.
		for range 2 {
			if status := tab.Open(link); status != http.StatusOK {
				t.Fatalf("open the sign-in link: status %d", status)
			}
		}
		if n := tab.Count("form[action^='/login/link/'] button[type=submit]"); n != 1 || tab.Cookie("leadflow_session") != nil {
			t.Fatalf("the link's page: %d confirm buttons, signed in already = %v; want one button and no session", n, tab.Cookie("leadflow_session") != nil)
		}
		if status := tab.Click("form[action^='/login/link/'] button[type=submit]"); status != http.StatusOK || tab.Path() != "/console/people" {
			t.Fatalf("press the link's button: status %d at %s, want /console/people", status, tab.Path())
		}
		if got := tab.Text("main h1"); got != "People" {
			t.Errorf("signed in by the link, the page says %q", got)
		}
		if status := tab.Open(link); status != http.StatusGone {
			t.Errorf("the sign-in link a second time: status %d, want 410", status)
		}
	})

	t.Run("a reset link sets a new password; the old one stops working; the link works once", func(t *testing.T) {
		t.Parallel()
		const old, fresh = "the old password!", "a brand new password"
		app.person(t, "reset-ws", "rae@reset.test", store.UserMarketing, old)
		tab := browsers.Tab(t, app.base)
		tab.Open("/login")
		if status := tab.Click("a[href='/password/reset']"); status != http.StatusOK {
			t.Fatalf("the login page's Forgot your password? link: status %d", status)
		}
		tab.Type("#email", "rae@reset.test")
		if status := tab.Click("form[action='/password/reset'] button[type=submit]"); status != http.StatusOK {
			t.Fatalf("ask for a reset link: status %d", status)
		}
		mail := app.mailTo(t, "rae@reset.test")
		link := regexp.MustCompile(`https?://\S+/password/reset/\S+`).FindString(mail.Text)
		if !strings.HasPrefix(link, app.base+"/password/reset/") {
			t.Fatalf("the reset email has no link on the base URL:\n%s", mail.Text)
		}
		if status := tab.Open(link); status != http.StatusOK || tab.Text("main h1") != "Choose a password" {
			t.Fatalf("open the reset link: status %d, page %q", status, tab.Text("main h1"))
		}
		// Two passwords that differ are said next to the field; the link
		// stays good.
		tab.Type("#password", fresh)
		tab.Type("#confirm", fresh+"?")
		if status := tab.Click("form[action^='/password/reset/'] button[type=submit]"); status != http.StatusUnprocessableEntity {
			t.Fatalf("two passwords that differ: status %d, want 422", status)
		}
		if msg := tab.Text("#password-error"); !strings.Contains(msg, "differ") || tab.Count("#password[aria-invalid=true]") != 1 {
			t.Errorf("two passwords that differ: message %q, field marked invalid %d times", msg, tab.Count("#password[aria-invalid=true]"))
		}
		tab.Type("#password", fresh)
		tab.Type("#confirm", fresh)
		if status := tab.Click("form[action^='/password/reset/'] button[type=submit]"); status != http.StatusOK || tab.Path() != "/console/" {
			t.Fatalf("save the new password: status %d at %s, want /console/", status, tab.Path())
		}
		if status := tab.Click("form.signout button[type=submit]"); status != http.StatusOK {
			t.Fatalf("sign out: status %d", status)
		}
		tab.Open("/login")
		tab.Type("#email", "rae@reset.test")
		tab.Type("#password", old)
		if status := tab.Click("form[action='/login'] button[type=submit]"); status != http.StatusUnauthorized {
			t.Errorf("the old password after the reset: status %d, want 401", status)
		}
		tab.SignIn("rae@reset.test", fresh, "/console/")
		if status := tab.Open(link); status != http.StatusGone {
			t.Errorf("the reset link a second time: status %d, want 410", status)
		}
	})

	t.Run("an admin invites a person whose emailed link signs them in", func(t *testing.T) {
		t.Parallel()
		app.person(t, "invite-ws", "eve@invite.test", store.UserAdmin, password)
		tab := browsers.Tab(t, app.base)
		tab.SignIn("eve@invite.test", password, "/console/people")
		tab.Type("#invite-name", "Fay Newcomer")
		tab.Type("#invite-email", "fay@invite.test")
		tab.Choose("#invite-role", store.UserSalesManager)
		if status := tab.Click("form[action='/console/people'] button[type=submit]"); status != http.StatusOK {
			t.Fatalf("invite: status %d", status)
		}
		if msg := tab.Text("p.notice"); !strings.Contains(msg, "fay@invite.test") {
			t.Errorf("after inviting: notice %q", msg)
		}
		mail := app.mailTo(t, "fay@invite.test")
		link := regexp.MustCompile(`https?://\S+/login/link/\S+`).FindString(mail.Text)
		if !strings.HasPrefix(link, app.base+"/login/link/") {
			t.Fatalf("invitation email has no sign-in link on the base URL:\n%s", mail.Text)
		}
		// The invitee, in a browser of their own, on a phone.
		fay := browsers.Tab(t, app.base)
		fay.Name = "invitee"
		fay.Phone()
		if status := fay.Open(link); status != http.StatusOK {
			t.Fatalf("open the invitation link: status %d", status)
		}
		// A sales manager's home is their handoffs.
		if status := fay.Click("main form button[type=submit]"); status != http.StatusOK || fay.Path() != "/console/handoffs" {
			t.Fatalf("sign in by the invitation: status %d at %s", status, fay.Path())
		}
		if got := fay.Text(".who"); !strings.HasPrefix(got, "Fay Newcomer") {
			t.Errorf("the invitee is signed in as %q", got)
		}
		// The link works once.
		if status := fay.Open(link); status != http.StatusGone {
			t.Errorf("the invitation link a second time: status %d, want 410", status)
		}
	})
}
