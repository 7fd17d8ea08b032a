package nurture

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"golang.org/x/sync/errgroup"

	"leadflow/store"
)

// enqueueParallelism is how many tasks of a batch are put on the queue at
// once: each enqueue is a round trip to Redis.
const enqueueParallelism = 8

// Run schedules every SchedulerInterval until ctx ends: due enrollment steps
// and unsent messages go on the queue. A round that fails (Redis or
// PostgreSQL away) is logged and the next one tries again; nothing is lost
// meanwhile, since the schedule lives in PostgreSQL. Any number of
// processes may run it at once. Work whose lease ran out (its worker died)
// is taken up again within about a lease; a process that has just started,
// or just regained PostgreSQL, first gives the others a lease to renew
// theirs (see dbHealth).
func (e *Engine) Run(ctx context.Context) error {
	t := time.NewTicker(e.cfg.SchedulerInterval)
	defer t.Stop()
	for {
		steps, msgs, err := e.ScheduleOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			e.health.failed(e.now())
			e.log.WarnContext(ctx, "nurture scheduling failed", "steps", steps, "messages", msgs, "error", err)
		case steps > 0 || msgs > 0:
			e.log.DebugContext(ctx, "nurture work scheduled", "steps", steps, "messages", msgs)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ScheduleOnce puts on the queue every enrollment step due now and every
// queued message not on the queue (or whose lease ran out), a batch at a
// time, and reports how many of each. Only due work is read and enqueued,
// so however many enrollments wait, neither memory here nor Redis holds
// more than the work at hand.
func (e *Engine) ScheduleOnce(ctx context.Context) (steps, messages int, err error) {
	for ctx.Err() == nil {
		n, err := e.scheduleSteps(ctx)
		steps += n
		if err != nil {
			return steps, messages, err
		}
		m, err := e.scheduleMessages(ctx)
		messages += m
		if err != nil {
			return steps, messages, err
		}
		if n < e.cfg.BatchSize && m < e.cfg.BatchSize {
			break
		}
	}
	return steps, messages, nil
}

// scheduleSteps claims one batch of due enrollments and enqueues their
// steps, in one transaction: if Redis fails, the claims roll back and the
// next round takes them again (tasks that did get on the queue merge with
// their second enqueue by ID).
func (e *Engine) scheduleSteps(ctx context.Context) (int, error) {
	limit, err := e.room()
	if err != nil || limit == 0 {
		return 0, err
	}
	var n int
	err = e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		now := e.now()
		due, err := q.ClaimDueEnrollments(ctx, now, e.health.leaseCutoff(now, e.cfg.Lease), limit)
		if err != nil {
			return err
		}
		n = len(due)
		return e.enqueueAll(ctx, n, now, func(i int) (*asynq.Task, string) {
			return NewStepTask(due[i].WorkspaceID, due[i].ID, due[i].StepKey), stepTaskID(due[i].ID, due[i].StepKey)
		})
	})
	if err != nil {
		return 0, fmt.Errorf("schedule steps: %w", err)
	}
	return n, nil
}

// scheduleMessages claims one batch of queued messages not on the queue
// and enqueues their next attempts, as scheduleSteps does.
func (e *Engine) scheduleMessages(ctx context.Context) (int, error) {
	limit, err := e.room()
	if err != nil || limit == 0 {
		return 0, err
	}
	var n int
	err = e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		now := e.now()
		queued, err := q.ClaimQueuedMessages(ctx, now, e.health.leaseCutoff(now, e.cfg.Lease), limit)
		if err != nil {
			return err
		}
		n = len(queued)
		return e.enqueueAll(ctx, n, now, func(i int) (*asynq.Task, string) {
			m := queued[i]
			return NewSendTask(m.WorkspaceID, m.ID, m.Attempts), sendTaskID(m.ID, m.Attempts)
		})
	})
	if err != nil {
		return 0, fmt.Errorf("schedule messages: %w", err)
	}
	return n, nil
}

// room is how many tasks the next batch may put on the queue: a batch,
// or less when the tasks already waiting come near MaxQueued.
func (e *Engine) room() (int, error) {
	if e.inspector == nil {
		return e.cfg.BatchSize, nil
	}
	queues, err := e.inspector.Queues()
	if err != nil {
		return 0, fmt.Errorf("queue size: %w", err)
	}
	if !slices.Contains(queues, Queue) {
		return e.cfg.BatchSize, nil // nothing was ever queued
	}
	info, err := e.inspector.GetQueueInfo(Queue)
	if err != nil {
		return 0, fmt.Errorf("queue size: %w", err)
	}
	return max(0, min(e.cfg.BatchSize, e.cfg.MaxQueued-info.Pending)), nil
}

// enqueueAll enqueues n tasks a few at a time, each claimed at claimed (see
// enqueueClaimed).
func (e *Engine) enqueueAll(ctx context.Context, n int, claimed time.Time, task func(i int) (*asynq.Task, string)) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(enqueueParallelism)
	for i := range n {
		g.Go(func() error {
			t, id := task(i)
			return e.enqueueClaimed(gctx, t, id, claimed)
		})
	}
	return g.Wait()
}

// enqueueClaimed puts work the scheduler claimed on the queue as task id.
// A task with that ID already there is the same work: waiting (its enqueue
// counts as done), held back (a retry or a delayed task, whose work is due
// now that its lease ran out: it is run at once), archived (deleted, and
// the work enqueued again), or running. A task
// running while its lease ran out is a dead worker's: Asynq gives it back
// only a minute or two later, so the work goes on the queue again under an
// ID of its own claim. Running it twice does nothing twice: a step task
// does nothing once its step is no longer the enrollment's, nor a send task
// once its attempt is not the message's.
func (e *Engine) enqueueClaimed(ctx context.Context, t *asynq.Task, id string, claimed time.Time) error {
	_, err := e.cfg.Queue.EnqueueContext(ctx, t)
	if err == nil || !errors.Is(err, asynq.ErrTaskIDConflict) {
		return wrapEnqueue(err)
	}
	if e.inspector == nil {
		return nil
	}
	info, err := e.inspector.GetTaskInfo(Queue, id)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound):
		// Done meanwhile; the claim is a new one.
		_, err = e.cfg.Queue.EnqueueContext(ctx, t)
	case err != nil:
		return fmt.Errorf("inspect task %s: %w", id, err)
	case info.State == asynq.TaskStateRetry || info.State == asynq.TaskStateScheduled:
		err = e.inspector.RunTask(Queue, id)
	case info.State == asynq.TaskStateActive:
		_, err = e.cfg.Queue.EnqueueContext(ctx, t, asynq.TaskID(id+":"+strconv.FormatInt(claimed.UnixMilli(), 36)))
	case info.State == asynq.TaskStateArchived:
		// Asynq archives a dead worker's task that had no retries left; its
		// ID must not keep the work off the queue.
		if err = e.inspector.DeleteTask(Queue, id); err == nil || errors.Is(err, asynq.ErrTaskNotFound) {
			_, err = e.cfg.Queue.EnqueueContext(ctx, t)
		}
	default:
		return nil
	}
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrTaskNotFound) {
		return nil
	}
	return wrapEnqueue(err)
}

func wrapEnqueue(err error) error {
	if err == nil || errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return fmt.Errorf("enqueue: %w", err)
}
