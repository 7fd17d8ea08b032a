package nurture

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"

	"leadflow/store"
)

// keepMessageLease keeps the lease of a message's attempt (attempts is the
// count the attempt left) while work on it is in progress: every third of
// the Lease it moves the message's enqueued_at to now, so no scheduler takes
// the message for lost however long the wait for the send rate, for an SMTP
// connection or for the relay. When the lease cannot be kept (another
// attempt took the message, or PostgreSQL has not answered for two thirds
// of a lease) lost is called, once, before the lease can run out: the
// caller gives the work up rather than overlap the next attempt. stop ends
// the keeping and waits for it.
func (e *Engine) keepMessageLease(ctx context.Context, m store.Message, attempts int, lost func()) (stop func()) {
	every := e.cfg.Lease / 3
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		kept := time.Now()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), every)
			err := e.cfg.Store.ExtendMessageLease(wctx, m.WorkspaceID, m.ID, attempts, e.now())
			cancel()
			switch {
			case err == nil:
				kept = time.Now()
				continue
			case errors.Is(err, store.ErrNotFound):
				e.log.WarnContext(ctx, "message lease taken over; giving the attempt up", "message_id", m.ID)
			default:
				e.health.failed(e.now())
				if time.Since(kept) < 2*e.cfg.Lease/3 {
					continue
				}
				e.log.WarnContext(ctx, "message lease cannot be kept; giving the attempt up", "message_id", m.ID, "error", err)
			}
			lost()
			return
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-stopped
		})
	}
}

// dbHealth remembers when PostgreSQL last failed this process. A process
// that has just regained it (or just started) gives every other process a
// lease to renew the leases it holds before it takes any for lost: after an
// outage every lease looks expired, though the processes holding them live.
type dbHealth struct {
	mu       sync.Mutex
	failedAt time.Time
}

func (h *dbHealth) failed(at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if at.After(h.failedAt) {
		h.failedAt = at
	}
}

// leaseCutoff is the time before which a lease counts as run out: now less
// the lease once PostgreSQL has answered for a lease; until then the zero
// time, so that only work never put on the queue is taken.
func (h *dbHealth) leaseCutoff(now time.Time, lease time.Duration) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if now.Sub(h.failedAt) < lease {
		return time.Time{}
	}
	return now.Add(-lease)
}

// heldSends are messages the SMTP server accepted whose sending is not
// recorded yet (PostgreSQL away): each is written again and again, with
// backoff, until it is, and no attempt of a held message may send it. Only
// a process killed while it holds some loses them, and those messages may
// be sent again after their lease.
type heldSends struct {
	mu      sync.Mutex
	ids     map[uuid.UUID]struct{}
	closing chan struct{}
	wg      sync.WaitGroup
}

func newHeldSends() *heldSends {
	return &heldSends{ids: map[uuid.UUID]struct{}{}, closing: make(chan struct{})}
}

func (h *heldSends) has(id uuid.UUID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.ids[id]
	return ok
}

func (h *heldSends) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ids)
}

// hold keeps writing record until it succeeds or answers ErrNotFound.
func (e *Engine) hold(ctx context.Context, id uuid.UUID, record func(ctx context.Context) error) {
	h := e.held
	h.mu.Lock()
	h.ids[id] = struct{}{}
	h.mu.Unlock()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer func() {
			h.mu.Lock()
			delete(h.ids, id)
			h.mu.Unlock()
		}()
		ctx := context.WithoutCancel(ctx)
		wait := 250 * time.Millisecond
		// Retries come often enough to be recorded well within the lease
		// that other processes give this one after PostgreSQL comes back.
		most := min(2*time.Second, e.cfg.Lease/4)
		for {
			t := time.NewTimer(wait)
			select {
			case <-h.closing:
				t.Stop()
				e.log.ErrorContext(ctx, "message sent but not recorded at shutdown; it may be sent again", "message_id", id)
				return
			case <-t.C:
			}
			wctx, cancel := context.WithTimeout(ctx, e.cfg.Lease/3)
			err := record(wctx)
			cancel()
			if err == nil || errors.Is(err, store.ErrNotFound) {
				e.log.InfoContext(ctx, "held send recorded", "message_id", id)
				return
			}
			e.health.failed(e.now())
			wait = min(2*wait, most)
		}
	}()
}

// closeHeld waits up to within for the held sends to be recorded, then
// gives up on the rest (logging each).
func (e *Engine) closeHeld(within time.Duration) {
	h := e.held
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(within)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	close(h.closing)
	<-done
}
