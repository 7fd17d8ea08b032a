package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Bounds of the outbox.
const (
	// outboxPending is how many link requests may wait for their emails
	// at once; past it a request is asked to try again. The per-address
	// and per-IP limits keep any one client far below it.
	outboxPending = 256
	// outboxSending is how many of them talk to the SMTP server at once.
	outboxSending = 4
	// outboxJobTimeout bounds one request's work: finding its people,
	// storing their links, the SMTP transactions.
	outboxJobTimeout = 2 * time.Minute
)

var (
	errOutboxFull   = errors.New("too many emails are waiting to be sent")
	errOutboxClosed = errors.New("the console is closed")
)

// outbox does the work of a sign-in link or reset request after its answer:
// finding who the address belongs to, storing their links and sending the
// emails. The answer then takes as long whether or not the address belongs
// to anyone. Work is kept in memory, bounded, and finished by Close: a send
// that fails is logged, and the person can ask again.
type outbox struct {
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc
	sending chan struct{}
	max     int

	mu      sync.Mutex
	closed  bool
	pending int
	// drained is closed once the outbox is closed and holds no work.
	drained chan struct{}
}

func newOutbox(log *slog.Logger) *outbox {
	ctx, cancel := context.WithCancel(context.Background())
	return &outbox{log: log, ctx: ctx, cancel: cancel, sending: make(chan struct{}, outboxSending),
		max: outboxPending, drained: make(chan struct{})}
}

// add takes work to do after the answer, or says why it cannot.
func (o *outbox) add(work func(ctx context.Context)) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.closed:
		return errOutboxClosed
	case o.pending >= o.max:
		return errOutboxFull
	}
	o.pending++
	go o.run(work)
	return nil
}

func (o *outbox) run(work func(ctx context.Context)) {
	defer o.done()
	select {
	case o.sending <- struct{}{}:
		defer func() { <-o.sending }()
	case <-o.ctx.Done():
		o.log.Error("console_email_dropped", "err", "the console closed before it was sent")
		return
	}
	ctx, cancel := context.WithTimeout(o.ctx, outboxJobTimeout)
	defer cancel()
	work(ctx)
}

func (o *outbox) done() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.pending--; o.pending == 0 && o.closed {
		close(o.drained)
	}
}

// close stops taking work and waits for the work taken. When ctx ends
// first, the work still waiting is dropped (each logged), the work under way
// is cancelled (an SMTP transaction already begun ends by its own timeout),
// and close says how many requests were left.
func (o *outbox) close(ctx context.Context) error {
	o.mu.Lock()
	if !o.closed {
		o.closed = true
		if o.pending == 0 {
			close(o.drained)
		}
	}
	o.mu.Unlock()
	select {
	case <-o.drained:
		o.cancel()
		return nil
	case <-ctx.Done():
	}
	o.cancel()
	o.mu.Lock()
	left := o.pending
	o.mu.Unlock()
	return fmt.Errorf("console: %d sign-in email request(s) unfinished: %w", left, ctx.Err())
}

// Close finishes the sign-in and reset emails already asked for, until ctx
// ends; call it once the HTTP server has stopped taking requests.
func (c *Console) Close(ctx context.Context) error {
	return c.outbox.close(ctx)
}
