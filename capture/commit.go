package capture

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"leadflow/embed/metrics"
	"leadflow/store"
)

// errNotAccepting: the intake is not started or is shutting down.
var errNotAccepting = errors.New("intake is not accepting submissions")

const (
	// commitTimeout bounds one batch's transaction, so a stuck database
	// fails the waiting requests instead of holding them forever.
	commitTimeout = 10 * time.Second
	// enqueueTimeout bounds one enqueue: Redis being slow or gone must not
	// back up the commit path, and the sweeper enqueues what was missed.
	enqueueTimeout = time.Second
	// enqueueWorkers enqueue in parallel: each enqueue is a Redis round
	// trip, and one at a time would cap capture at a few thousand a second.
	enqueueWorkers = 4
)

// pendingCommit is one response waiting for the committer, and where the
// committer answers.
type pendingCommit struct {
	response store.Response
	files    []store.ResponseFile
	done     chan error // buffered: the committer never waits on a waiter
}

// commit hands a response to the committer and waits until it is committed
// (nil) or has failed. Only then may the handler answer.
func (in *Intake) commit(ctx context.Context, r store.Response, files []store.ResponseFile) error {
	p := &pendingCommit{response: r, files: files, done: make(chan error, 1)}
	if err := in.submit(ctx, p); err != nil {
		return err
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		// The client has gone. The response may still be committed, and
		// is then processed like any other; only the answer is lost.
		return ctx.Err()
	}
}

func (in *Intake) submit(ctx context.Context, p *pendingCommit) error {
	// The read lock keeps Close from closing the channel under a send.
	in.mu.RLock()
	defer in.mu.RUnlock()
	if !in.started || in.closed {
		return errNotAccepting
	}
	select {
	case in.commits <- p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runCommitter commits responses as they come: the first waiting one and
// whatever else is already queued, up to MaxBatch, in one transaction. When
// idle it adds no wait; under load batches grow by themselves, so the cost
// of a commit is shared by every response that arrived during the last one.
func (in *Intake) runCommitter() {
	defer close(in.enqueues)
	batch := make([]*pendingCommit, 0, in.maxBatch)
	for first := range in.commits {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < in.maxBatch {
			select {
			case p, ok := <-in.commits:
				if !ok {
					break fill
				}
				batch = append(batch, p)
			default:
				break fill
			}
		}
		in.commitBatch(batch)
	}
}

func (in *Intake) commitBatch(batch []*pendingCommit) {
	err := in.insert(batch)
	if err == nil || len(batch) == 1 || !badRow(err) {
		// A failure goes back to each waiting request, whose error handler
		// logs it.
		for _, p := range batch {
			in.finish(p, err)
		}
		return
	}
	// One bad response (its form deleted a moment ago) must not fail the
	// others: commit them one by one to find it.
	in.log.Warn("capture_batch_failed", "size", len(batch), "error", err)
	for _, p := range batch {
		in.finish(p, in.insert([]*pendingCommit{p}))
	}
}

// badRow reports an error caused by a row rather than by the database
// being unreachable: retrying row by row is only worth it then.
func badRow(err error) bool {
	return errors.Is(err, store.ErrInvalidReference) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound)
}

func (in *Intake) insert(batch []*pendingCommit) error {
	rs := make([]store.Response, 0, len(batch))
	var files []store.ResponseFile
	for _, p := range batch {
		rs = append(rs, p.response)
		files = append(files, p.files...)
	}
	ctx, cancel := context.WithTimeout(in.ctx, commitTimeout)
	defer cancel()
	start := time.Now()
	err := in.store.InTx(ctx, func(q *store.Queries) error {
		return q.InsertResponses(ctx, rs, files)
	})
	metrics.CaptureCommit(len(batch), time.Since(start), err)
	return err
}

// finish answers the waiter and, once committed, queues the response's
// processing: never for spam, which is held until released.
func (in *Intake) finish(p *pendingCommit, err error) {
	p.done <- err
	if err != nil || p.response.Status != store.ResponsePending {
		return
	}
	select {
	case in.enqueues <- p.response.ID:
	default:
		// Redis is slow or down and the buffer is full; the sweeper
		// enqueues every committed response left pending.
		if n, ok := in.bufferFull.hit(in.now()); ok {
			in.log.Warn("enqueue_buffer_full", "response_id", p.response.ID, "count", n)
		}
	}
}

// runEnqueuer enqueues the processing of committed responses until the
// committer has stopped and the buffer is empty.
func (in *Intake) runEnqueuer() {
	abandoned := 0
	for id := range in.enqueues {
		if in.ctx.Err() != nil {
			// Close ran out of time: leave the rest to the sweeper.
			abandoned++
			continue
		}
		in.enqueue(id)
	}
	if abandoned > 0 {
		in.log.Warn("enqueue_abandoned", "count", abandoned)
	}
}

func (in *Intake) enqueue(id uuid.UUID) {
	ctx, cancel := context.WithTimeout(in.ctx, enqueueTimeout)
	defer cancel()
	if err := EnqueueProcess(ctx, in.enq, id); err != nil {
		if n, ok := in.enqueueFailed.hit(in.now()); ok {
			in.log.Warn("enqueue_failed", "response_id", id, "error", err, "count", n)
		}
	}
}

// warnThrottle keeps a warning that can fire on every request (Redis down
// under load) to one line every warnEvery, counting what it held back.
type warnThrottle struct {
	last  atomic.Int64 // unix nanoseconds of the last warning
	count atomic.Int64 // occurrences since then
}

const warnEvery = 10 * time.Second

// hit records one occurrence and reports whether to warn now, with how many
// occurrences the warning stands for.
func (w *warnThrottle) hit(now time.Time) (int64, bool) {
	w.count.Add(1)
	last := w.last.Load()
	if last != 0 && now.UnixNano()-last < int64(warnEvery) {
		return 0, false
	}
	if !w.last.CompareAndSwap(last, now.UnixNano()) {
		return 0, false
	}
	return w.count.Swap(0), true
}
