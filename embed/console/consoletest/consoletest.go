// Package consoletest drives a real headless Chromium against a running
// leadflow for the console's browser tests: one browser per test package,
// shared by its tests, a tab (with a browser context of its own, so cookies
// never cross tests) per test. Every page a tab shows is saved as a PNG in
// the test's artifact directory (t.ArtifactDir(): kept under -outputdir
// when go test runs with -artifacts, removed otherwise).
//
// Tabs wait on page state (an element, a load), never on a sleep.
package consoletest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// actionTimeout bounds one step of a tab (a navigation, a click and the
// page it loads): a page that never comes fails the test instead of
// hanging it.
const actionTimeout = 30 * time.Second

// ChromiumPath finds Chromium: $LEADFLOW_CHROMIUM, else chromium or
// chromium-browser on PATH (Debian's package; deploy/setup-debian.sh
// installs it).
func ChromiumPath() (string, error) {
	if p := os.Getenv("LEADFLOW_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found: run deploy/setup-debian.sh (or set LEADFLOW_CHROMIUM)")
}

// Browser is one headless Chromium with a fresh profile.
type Browser struct {
	ctx         context.Context
	cancel      context.CancelFunc
	cancelAlloc context.CancelFunc
	dir         string
}

// Start launches Chromium headless with a fresh --user-data-dir and the
// flags a root user in a container needs.
func Start() (*Browser, error) {
	path, err := ChromiumPath()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "leadflow-chromium-")
	if err != nil {
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// The first run starts the browser and binds it to ctx: no timeout here.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	return &Browser{ctx: ctx, cancel: cancel, cancelAlloc: cancelAlloc, dir: dir}, nil
}

// Close stops the browser and removes its profile.
func (b *Browser) Close() error {
	err := chromedp.Cancel(b.ctx)
	b.cancel()
	b.cancelAlloc()
	return errors.Join(err, os.RemoveAll(b.dir))
}

// Shared is a browser for the tests of a package that run at once: started
// by the first test that asks, stopped when the last one using it ends.
// Declare one per test package.
type Shared struct {
	mu    sync.Mutex
	users int
	b     *Browser
}

func (s *Shared) acquire(t *testing.T) *Browser {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b == nil {
		b, err := Start()
		if err != nil {
			t.Fatal(err)
		}
		s.b = b
	}
	s.users++
	return s.b
}

func (s *Shared) release(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users--; s.users == 0 {
		if err := s.b.Close(); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("close chromium: %v", err)
		}
		s.b = nil
	}
}

// Tab is a test's tab on the leadflow at Base.
type Tab struct {
	t    *testing.T
	ctx  context.Context
	Base string
	// Name starts the names of the tab's screenshots, so two tabs of one
	// test (an admin and the person they invite) keep theirs apart.
	Name string
	dir  string
	n    int
}

// Tab opens a tab for t on base (http://127.0.0.1:PORT), in a browser
// context of its own, closed when t ends.
func (s *Shared) Tab(t *testing.T, base string) *Tab {
	t.Helper()
	b := s.acquire(t)
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(func() {
		cancel()
		s.release(t)
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return &Tab{t: t, ctx: ctx, Base: strings.TrimRight(base, "/"), dir: t.ArtifactDir()}
}

// Do runs actions on the tab, failing the test on error.
func (tab *Tab) Do(actions ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tab.t.Fatalf("browser: %v (at %s)", err, tab.Location())
	}
}

// Open navigates to path (or an absolute URL), waits for the page's main
// content, saves a screenshot and returns the HTTP status of the page.
func (tab *Tab) Open(path string) int {
	tab.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = tab.Base + path
	}
	ctx, cancel := context.WithTimeout(tab.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil {
		tab.t.Fatalf("open %s: %v", u, err)
	}
	tab.loaded()
	return int(resp.Status)
}

// Click clicks the element (a submit button, a link) that loads a new page,
// waits for it, saves a screenshot and returns its HTTP status (after
// redirects).
func (tab *Tab) Click(css string) int {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
	if err != nil {
		tab.t.Fatalf("click %s: %v (at %s)", css, err, tab.Location())
	}
	tab.loaded()
	return int(resp.Status)
}

// Type replaces the text of the field (an input or a textarea) with text,
// typed as a person would: what the field held, from the server or typed
// before, is cleared first; an empty text leaves the field empty.
func (tab *Tab) Type(css, text string) {
	tab.t.Helper()
	// The value property, not chromedp.Clear: that resets the default
	// value only (an input's attribute, a textarea's text node, which an
	// empty textarea lacks), so a field typed into kept its text.
	// (chromedp.SetValue fails to set an empty value.)
	clear := chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		"(() => { const e = document.querySelector(%q); e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})) })()", css))
	actions := []chromedp.Action[chromedp.Void]{chromedp.WaitVisible(chromedp.CSS(css)), clear}
	if text != "" {
		actions = append(actions, chromedp.SendKeys(chromedp.CSS(css), text))
	}
	tab.Do(actions...)
}

// Choose picks the option of a select by its value.
func (tab *Tab) Choose(css, value string) {
	tab.t.Helper()
	tab.Do(chromedp.WaitVisible(chromedp.CSS(css)), chromedp.SetValue(chromedp.CSS(css), value))
}

// Text is the visible text of the first element matching css.
func (tab *Tab) Text(css string) string {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, actionTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css), chromedp.NodeVisible))
	if err != nil {
		tab.t.Fatalf("text of %s: %v (at %s)", css, err, tab.Location())
	}
	return strings.TrimSpace(s)
}

// Count is how many elements match css now.
func (tab *Tab) Count(css string) int {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, actionTimeout)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", css)))
	if err != nil {
		tab.t.Fatalf("count %s: %v", css, err)
	}
	return n
}

// Location is the tab's URL.
func (tab *Tab) Location() string {
	ctx, cancel := context.WithTimeout(tab.ctx, actionTimeout)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return loc
}

// Path is the path and query of the tab's URL.
func (tab *Tab) Path() string {
	tab.t.Helper()
	u, err := url.Parse(tab.Location())
	if err != nil {
		tab.t.Fatalf("location: %v", err)
	}
	return u.RequestURI()
}

// Cookie is the tab's cookie named name (HttpOnly ones too), or nil.
func (tab *Tab) Cookie(name string) *http.Cookie {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, actionTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{tab.Base + "/"}})
	if err != nil {
		tab.t.Fatalf("cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return &http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, HttpOnly: c.HTTPOnly, Secure: c.Secure,
				SameSite: map[network.CookieSameSite]http.SameSite{network.CookieSameSiteLax: http.SameSiteLaxMode,
					network.CookieSameSiteStrict: http.SameSiteStrictMode, network.CookieSameSiteNone: http.SameSiteNoneMode}[c.SameSite]}
		}
	}
	return nil
}

// SignIn signs a person in through the login page, asking for next, and
// fails the test unless the browser lands on next.
func (tab *Tab) SignIn(email, password, next string) {
	tab.t.Helper()
	tab.Open("/login?next=" + url.QueryEscape(next))
	tab.Type("#email", email)
	tab.Type("#password", password)
	tab.Shot("login-filled")
	if status := tab.Click("form[action='/login'] button[type=submit]"); status != http.StatusOK {
		tab.t.Fatalf("sign in as %s: status %d at %s", email, status, tab.Location())
	}
	if got := tab.Path(); got != next {
		tab.t.Fatalf("signed in as %s: landed on %s, want %s", email, got, next)
	}
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// loaded waits for the page's main landmark and saves a screenshot.
func (tab *Tab) loaded() {
	tab.t.Helper()
	tab.Do(chromedp.WaitReady(chromedp.CSS("body")))
	u, _ := url.Parse(tab.Location())
	name := "page"
	if u != nil {
		name = strings.Trim(unsafeName.ReplaceAllString(u.Path, "-"), "-")
	}
	// One-time links carry their token in the path: leave it out.
	if len(name) > 40 {
		name = name[:40]
	}
	tab.Shot(name)
}

// Shot saves a screenshot of the whole page as NN-[tab name-]name.png.
func (tab *Tab) Shot(name string) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, actionTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tab.t.Fatalf("screenshot: %v", err)
	}
	tab.n++
	if name == "" {
		name = "root"
	}
	if tab.Name != "" {
		name = tab.Name + "-" + name
	}
	file := filepath.Join(tab.dir, fmt.Sprintf("%02d-%s.png", tab.n, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		tab.t.Fatalf("save screenshot: %v", err)
	}
}

// Phone shows the page as a phone would (390×844, touch) for what follows.
func (tab *Tab) Phone() {
	tab.t.Helper()
	tab.Do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
}

// Remove takes the elements matching css out of the page, as a hostile or
// broken client would (a form without its token).
func (tab *Tab) Remove(css string) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, actionTimeout)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(
		"(() => { const els = document.querySelectorAll(%q); els.forEach(e => e.remove()); return els.length })()", css)))
	if err != nil || n == 0 {
		tab.t.Fatalf("remove %s: removed %d, %v", css, n, err)
	}
}

// Keys types keys into whatever has the focus (kb.Tab, kb.Enter and text),
// as a person at the keyboard would.
func (tab *Tab) Keys(keys string) {
	tab.t.Helper()
	tab.Do(chromedp.KeyEvent(keys))
}

// KeysLoad types keys that load a new page (an Enter in a form), waits for
// it, saves a screenshot and returns its HTTP status.
func (tab *Tab) KeysLoad(keys string) int {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.KeyEvent(keys))
	if err != nil {
		tab.t.Fatalf("keys %q: %v (at %s)", keys, err, tab.Location())
	}
	tab.loaded()
	return int(resp.Status)
}

// Focused describes the element that has the focus: its id, else its tag.
func (tab *Tab) Focused() string {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, actionTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		"(() => { const e = document.activeElement; return e ? (e.id ? '#' + e.id : e.tagName.toLowerCase()) : '' })()"))
	if err != nil {
		tab.t.Fatalf("focused element: %v", err)
	}
	return s
}
