package capture

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"leadflow/store"
)

// Form lookups are cached, so that a post costs no query for its form and a
// burst of posts to one form costs one.
//
// The cache follows changes through PostgreSQL's LISTEN/NOTIFY: a trigger on
// forms notifies the key of every form updated or deleted, by any process or
// by hand, and every serve process drops that key when the notification
// arrives, a few milliseconds after the change commits. A version check
// would cost the very query the cache saves, on every post. While the
// listening connection is down, changes could pass unseen, so the cache is
// emptied and keeps nothing until it listens again; a connection that dies
// without a word is found within about 20 s. Past that, each entry lives at
// most the TTL, which bounds how long any change can go unseen.
const (
	// defaultFormCacheTTL is how long a form is kept at most.
	defaultFormCacheTTL = 30 * time.Second
	// formCacheSize bounds the memory: past it, an entry is dropped to make
	// room.
	formCacheSize = 10000
	// formLookupTimeout bounds one lookup, shared by every post waiting
	// for it.
	formLookupTimeout = 10 * time.Second
)

type formCache struct {
	store *store.Store
	ttl   time.Duration
	now   func() time.Time
	log   *slog.Logger
	// flights makes concurrent lookups of one key a single query.
	flights singleflight.Group

	mu      sync.Mutex
	entries map[string]formEntry
	// live: the cache is listening for changes, so it may keep entries.
	live bool
	// gen counts drops: a lookup stores what it read only if no drop
	// happened since it began, since the form may have changed under it.
	gen uint64

	listenFailed warnThrottle
}

type formEntry struct {
	form    store.Form
	expires time.Time
}

func newFormCache(st *store.Store, ttl time.Duration, now func() time.Time, log *slog.Logger) *formCache {
	return &formCache{store: st, ttl: ttl, now: now, log: log, entries: map[string]formEntry{}}
}

// get returns the form with key: from the cache, or looked up once for
// every post waiting on it.
func (c *formCache) get(ctx context.Context, key string) (store.Form, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && c.now().Before(e.expires) {
		return e.form, nil
	}
	ch := c.flights.DoChan(key, func() (any, error) {
		c.mu.Lock()
		gen, live := c.gen, c.live
		c.mu.Unlock()
		// Not the first caller's context: its client leaving must not fail
		// the others waiting.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), formLookupTimeout)
		defer cancel()
		f, err := c.store.FormByKey(lctx, key)
		if err != nil {
			return f, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if live && c.gen == gen {
			if len(c.entries) >= formCacheSize {
				for k := range c.entries {
					delete(c.entries, k)
					break
				}
			}
			c.entries[key] = formEntry{form: f, expires: c.now().Add(c.ttl)}
		}
		return f, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return store.Form{}, fmt.Errorf("capture form: %w", r.Err)
		}
		return r.Val.(store.Form), nil
	case <-ctx.Done():
		return store.Form{}, ctx.Err()
	}
}

// drop forgets key ("" for every key), and any lookup of it in flight.
func (c *formCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if key == "" {
		clear(c.entries)
		return
	}
	delete(c.entries, key)
	c.flights.Forget(key)
}

func (c *formCache) setLive(live bool) {
	c.mu.Lock()
	c.live = live
	c.mu.Unlock()
	c.drop("")
}

// run listens for form changes until ctx ends, listening again after a
// failure; between, the cache keeps nothing.
func (c *formCache) run(ctx context.Context) {
	const firstBackoff = 500 * time.Millisecond
	backoff := firstBackoff
	for {
		err := c.store.ListenFormChanges(ctx, func() {
			c.setLive(true)
			backoff = firstBackoff
			c.log.Debug("form_cache_listening")
		}, c.drop)
		c.setLive(false)
		if ctx.Err() != nil {
			return
		}
		if n, ok := c.listenFailed.hit(c.now()); ok {
			c.log.Warn("form_cache_not_listening", "error", err, "count", n, "retry_in", backoff.String())
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 15*time.Second)
	}
}
