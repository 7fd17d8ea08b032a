package capture_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"leadflow/capture"
	"leadflow/store"
	"leadflow/store/storetest"
)

// secondIntake is another serve process's intake on the bundle's database:
// its own pool, cache and listener, sharing the bundle's form helpers.
func (b *intakeBundle) secondIntake(t *testing.T, opts intakeOptions) *intakeBundle {
	t.Helper()
	st, err := store.Open(context.Background(), b.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	o := *b
	o.logs = &intakeLogs{}
	o.intake, err = capture.NewIntake(capture.IntakeConfig{
		Store: st, Enqueuer: b.enqueuer, Redis: redisOf(t),
		Logger:       slog.New(slog.NewTextHandler(o.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:          opts.now,
		FormCacheTTL: opts.formCacheTTL,
	})
	if err != nil {
		t.Fatal(err)
	}
	o.intake.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := o.intake.Close(ctx); err != nil {
			t.Errorf("close second intake: %v", err)
		}
	})
	o.echo = echo.New()
	o.echo.IPExtractor = echo.ExtractIPDirect()
	capture.IntakeRoutes(o.echo, o.intake)
	return &o
}

// waitListening waits until the intake's form cache follows changes (before
// that it keeps nothing).
func (b *intakeBundle) waitListening(t testing.TB) {
	t.Helper()
	intakeWait(t, "the form cache to listen", func() bool {
		return strings.Contains(b.logs.String(), "msg=form_cache_listening")
	})
}

// preflight is a browser's CORS preflight from origin: the cheapest look at
// the form the intake would use.
func (b *intakeBundle) preflight(t testing.TB, key, origin string) int {
	t.Helper()
	return b.do(t, intakeRequest{method: http.MethodOptions, key: key, header: map[string]string{"Origin": origin}}).Code
}

func (b *intakeBundle) thankYou(t *testing.T, key string) string {
	t.Helper()
	rec := b.postForm(t, key, url.Values{"email": {"ada@example.com"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("post to %s = %d, want 303: %s", key, rec.Code, rec.Body)
	}
	return rec.Header().Get("Location")
}

// TestIntakeFormCacheFollowsChanges: a form changed, re-keyed or deleted is
// seen by the next post on every serve process, with a TTL far too long to
// be what made it so.
func TestIntakeFormCacheFollowsChanges(t *testing.T) {
	t.Parallel()
	opts := intakeOptions{formCacheTTL: time.Hour}
	b := setupIntake(t, opts)
	other := b.secondIntake(t, opts)
	b.waitListening(t)
	other.waitListening(t)
	ctx := context.Background()
	form := b.newForm(t, store.Form{ThankYouURL: "https://www.example.com/old", AllowedOrigins: []string{"https://old.example.com"}})
	gone := b.newForm(t, store.Form{AllowedOrigins: []string{"*"}})
	both := []*intakeBundle{b, other}
	for _, in := range both {
		if got := in.thankYou(t, form.Key); got != "https://www.example.com/old" {
			t.Fatalf("thank-you redirect = %q", got)
		}
		if code := in.preflight(t, gone.Key, "https://any.example.com"); code != http.StatusNoContent {
			t.Fatalf("preflight of the form to delete = %d", code)
		}
	}

	start := time.Now()
	form.ThankYouURL, form.AllowedOrigins = "https://www.example.com/new", []string{"https://new.example.com"}
	if _, err := b.store.UpdateForm(ctx, form); err != nil {
		t.Fatal(err)
	}
	for _, in := range both {
		intakeWait(t, "the changed origins", func() bool { return in.preflight(t, form.Key, "https://new.example.com") == http.StatusNoContent })
		if got := in.thankYou(t, form.Key); got != "https://www.example.com/new" {
			t.Errorf("after the change, thank-you redirect = %q, want the new one", got)
		}
	}
	t.Logf("change seen by both intakes after %s", time.Since(start))

	// A leaked key is rotated: the old one stops working everywhere.
	oldKey := form.Key
	form.Key = store.NewFormKey()
	if _, err := b.store.UpdateForm(ctx, form); err != nil {
		t.Fatal(err)
	}
	for _, in := range both {
		intakeWait(t, "the old key to go", func() bool { return in.preflight(t, oldKey, "https://new.example.com") == http.StatusNotFound })
		if rec := in.postJSON(t, oldKey, map[string]string{"email": "ada@example.com"}); rec.Code != http.StatusNotFound {
			t.Errorf("post to the rotated-out key = %d, want 404", rec.Code)
		}
		acceptedID(t, in.postJSON(t, form.Key, map[string]string{"email": "ada@example.com"}))
	}

	// A deleted form stops accepting.
	start = time.Now()
	if _, err := b.store.Pool.Exec(ctx, "DELETE FROM forms WHERE id = $1", gone.ID); err != nil {
		t.Fatal(err)
	}
	for _, in := range both {
		intakeWait(t, "the deleted form to go", func() bool { return in.preflight(t, gone.Key, "https://any.example.com") == http.StatusNotFound })
		if rec := in.postJSON(t, gone.Key, map[string]string{"email": "ada@example.com"}); rec.Code != http.StatusNotFound {
			t.Errorf("post to the deleted form = %d, want 404", rec.Code)
		}
	}
	t.Logf("deletion seen by both intakes after %s", time.Since(start))
}

// TestIntakeFormCacheTTL: lookups are cached (a change nobody notified is
// not seen), and the TTL bounds how long that lasts.
func TestIntakeFormCacheTTL(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	b := setupIntake(t, intakeOptions{now: clock.Now, formCacheTTL: time.Minute})
	b.waitListening(t)
	ctx := context.Background()
	form := b.newForm(t, store.Form{ThankYouURL: "https://www.example.com/old"})
	if got := b.thankYou(t, form.Key); got != "https://www.example.com/old" {
		t.Fatalf("thank-you redirect = %q", got)
	}
	// A change that sends no notification, as when the listening
	// connection has died unnoticed.
	if _, err := b.store.Pool.Exec(ctx, "ALTER TABLE forms DISABLE TRIGGER forms_notify_change"); err != nil {
		t.Fatal(err)
	}
	form.ThankYouURL = "https://www.example.com/new"
	if _, err := b.store.UpdateForm(ctx, form); err != nil {
		t.Fatal(err)
	}
	if got := b.thankYou(t, form.Key); got != "https://www.example.com/old" {
		t.Fatalf("within the TTL, thank-you redirect = %q, want the cached old one", got)
	}
	clock.Advance(time.Minute + time.Second)
	if got := b.thankYou(t, form.Key); got != "https://www.example.com/new" {
		t.Errorf("past the TTL, thank-you redirect = %q, want the new one", got)
	}
}

// TestIntakeFormCacheKeysAreTheirOwn: the cache never serves one
// workspace's form for another's key: keys that differ only in case, and a
// key that moves from one workspace's form to another's.
func TestIntakeFormCacheKeysAreTheirOwn(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{formCacheTTL: time.Hour})
	b.waitListening(t)
	ctx := context.Background()
	ws2, err := b.store.EnsureWorkspace(ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	one := b.newForm(t, store.Form{Key: "SharedKey1", AllowedOrigins: []string{"https://one.example.com"}})
	two, err := b.store.InsertForm(ctx, store.Form{WorkspaceID: ws2.ID, Kind: store.FormContactUs, Key: "sharedkey1", AllowedOrigins: []string{"https://two.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	landsIn := func(key string, want store.Form) {
		t.Helper()
		id := acceptedID(t, b.postJSON(t, key, map[string]string{"email": "ada@example.com"}))
		r, err := b.store.GetResponse(ctx, want.WorkspaceID, id)
		if err != nil || r.FormID != want.ID {
			t.Fatalf("post to %q: response %s in form %v (err %v), want form %s of workspace %s", key, id, r.FormID, err, want.ID, want.WorkspaceID)
		}
	}
	for range 3 {
		landsIn(one.Key, one)
		landsIn(two.Key, two)
	}
	// one gives up its key and two takes it.
	one.Key = "moved-key-1"
	if _, err := b.store.UpdateForm(ctx, one); err != nil {
		t.Fatal(err)
	}
	two.Key = "SharedKey1"
	if _, err := b.store.UpdateForm(ctx, two); err != nil {
		t.Fatal(err)
	}
	intakeWait(t, "the key to move", func() bool { return b.preflight(t, "SharedKey1", "https://two.example.com") == http.StatusNoContent })
	landsIn("SharedKey1", two)
	landsIn("moved-key-1", one)
	if rec := b.postJSON(t, "sharedkey1", map[string]string{"email": "ada@example.com"}); rec.Code != http.StatusNotFound {
		t.Errorf("post to the key nobody has now = %d, want 404", rec.Code)
	}
}

func redisOf(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(storetest.RedisOptions(t))
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// BenchmarkFormLookup compares a post's form lookup served by the cache
// (a CORS preflight, which does nothing else) with the query it replaces.
func BenchmarkFormLookup(b *testing.B) {
	bundle := setupIntake(b, intakeOptions{formCacheTTL: time.Hour})
	bundle.waitListening(b)
	form := bundle.newForm(b, store.Form{AllowedOrigins: []string{"*"}})
	b.Run("cached_preflight", func(b *testing.B) {
		for b.Loop() {
			if code := bundle.preflight(b, form.Key, "https://www.example.com"); code != http.StatusNoContent {
				b.Fatalf("preflight = %d", code)
			}
		}
	})
	b.Run("postgres_query", func(b *testing.B) {
		for b.Loop() {
			if _, err := bundle.store.FormByKey(context.Background(), form.Key); err != nil {
				b.Fatal(err)
			}
		}
	})
}
