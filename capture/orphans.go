package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
)

// TaskInspector is Asynq's view of the queue, for finding the tasks of
// workers that died and freeing task IDs held by dead tasks;
// *asynq.Inspector satisfies it.
type TaskInspector interface {
	ListActiveTasks(queue string, opts ...asynq.ListOption) ([]*asynq.TaskInfo, error)
	Servers() ([]*asynq.ServerInfo, error)
	GetTaskInfo(queue, id string) (*asynq.TaskInfo, error)
	DeleteTask(queue, id string) error
}

const (
	// orphanGrace is how long an active task must go unclaimed by any live
	// server before it counts as a dead worker's. A live server publishes
	// the tasks it works on every 5 s (Asynq's heartbeat), so a task it has
	// just taken can look unclaimed for up to that long.
	orphanGrace = 6 * time.Second
	// activePageSize is how many active tasks are read at a time. Active
	// tasks are bounded by the workers' total concurrency, not by the
	// backlog.
	activePageSize = 500
)

// deadTask is an active response:process task no live server works on.
type deadTask struct {
	taskID     string
	responseID uuid.UUID
}

// activeSeen is what a sweep saw of an active task: the live server working
// on it, or since when none was.
type activeSeen struct {
	server    string
	unclaimed time.Time
}

// recoverOrphans queues again the responses whose tasks a dead worker held.
// Asynq gives such a task back only a minute or more after the worker died,
// and until then its ID blocks the ordinary re-enqueue; so each is queued
// under an ID of its own. Processing a response twice changes nothing, so a
// task wrongly taken for dead costs a little work and nothing else.
func (s *Sweeper) recoverOrphans(ctx context.Context) (int, error) {
	if s.inspector == nil {
		return 0, nil
	}
	s.orphanMu.Lock()
	defer s.orphanMu.Unlock()
	now := s.now()
	active, err := s.activeTasks()
	if err != nil {
		return 0, err
	}
	servers, err := s.inspector.Servers()
	if err != nil {
		return 0, fmt.Errorf("list servers: %w", err)
	}
	live := make(map[string]bool)
	workedBy := make(map[string]string)
	for _, srv := range servers {
		live[srv.ID] = true
		for _, w := range srv.ActiveWorkers {
			if w.Queue == Queue {
				workedBy[w.TaskID] = srv.ID
			}
		}
	}
	seen := make(map[string]activeSeen)
	var dead []deadTask
	var ids []uuid.UUID
	for _, t := range active {
		if t.Type != TypeProcessResponse {
			continue
		}
		if srv, ok := workedBy[t.ID]; ok {
			seen[t.ID] = activeSeen{server: srv}
			continue
		}
		before, ok := s.seen[t.ID]
		switch {
		case t.IsOrphaned:
			// Its lease expired: Asynq's own verdict.
		case ok && before.server != "" && !live[before.server]:
			// The server last seen working on it is gone.
		case ok && before.server == "" && now.Sub(before.unclaimed) >= orphanGrace:
			// Unclaimed past the heartbeat that would have claimed it.
		default:
			unclaimed := now
			if ok && before.server == "" {
				unclaimed = before.unclaimed
			}
			seen[t.ID] = activeSeen{unclaimed: unclaimed}
			continue
		}
		// Remembered as unclaimed long ago, so later sweeps find it dead at
		// once while Asynq still holds it.
		seen[t.ID] = activeSeen{unclaimed: now.Add(-orphanGrace)}
		var p ProcessPayload
		if err := json.Unmarshal(t.Payload, &p); err != nil || p.ResponseID == uuid.Nil {
			continue // undecodable: its own handler skips it
		}
		dead = append(dead, deadTask{taskID: t.ID, responseID: p.ResponseID})
		ids = append(ids, p.ResponseID)
	}
	s.seen = seen
	if len(dead) == 0 {
		return 0, nil
	}
	pending, err := s.store.PendingResponseIDs(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("recover orphans: %w", err)
	}
	enqueued := 0
	for _, d := range dead {
		if !slices.Contains(pending, d.responseID) {
			continue // done meanwhile: the dead task, when Asynq frees it, finds nothing to do
		}
		if err := s.enqueue(ctx, d.responseID, recoveryTaskID(d.taskID, d.responseID)); err != nil {
			return enqueued, fmt.Errorf("recover orphans: %w", err)
		}
		s.logger.InfoContext(ctx, "dead worker response enqueued", "response_id", d.responseID, "task_id", d.taskID)
		enqueued++
	}
	return enqueued, nil
}

// activeTasks lists the capture queue's active tasks.
func (s *Sweeper) activeTasks() ([]*asynq.TaskInfo, error) {
	var all []*asynq.TaskInfo
	for page := 1; ; page++ {
		ts, err := s.inspector.ListActiveTasks(Queue, asynq.PageSize(activePageSize), asynq.Page(page))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			return nil, nil // nothing was ever queued
		}
		if err != nil {
			return nil, fmt.Errorf("list active tasks: %w", err)
		}
		all = append(all, ts...)
		if len(ts) < activePageSize {
			return all, nil
		}
	}
}

// enqueue queues a response's processing under taskID. A task holding the ID
// counts as success unless it is archived: an archived task never runs
// again, so while it holds the ID of a response still pending nothing would
// ever process it. It is deleted and the processing queued afresh.
func (s *Sweeper) enqueue(ctx context.Context, responseID uuid.UUID, taskID string) error {
	task := NewProcessTask(responseID)
	_, err := s.enqueuer.EnqueueContext(ctx, task, asynq.TaskID(taskID))
	if err == nil {
		return nil
	}
	if !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s: %w", TypeProcessResponse, err)
	}
	if s.inspector == nil {
		return nil
	}
	info, err := s.inspector.GetTaskInfo(Queue, taskID)
	if errors.Is(err, asynq.ErrTaskNotFound) {
		// Finished in between: the next sweep sees whether it is done.
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect task %s: %w", taskID, err)
	}
	if info.State != asynq.TaskStateArchived {
		return nil
	}
	if err := s.inspector.DeleteTask(Queue, taskID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		return fmt.Errorf("delete archived task %s: %w", taskID, err)
	}
	s.logger.InfoContext(ctx, "archived task of pending response replaced", "response_id", responseID, "task_id", taskID)
	_, err = s.enqueuer.EnqueueContext(ctx, task, asynq.TaskID(taskID))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s: %w", TypeProcessResponse, err)
	}
	return nil
}

// recoveryTaskID is the ID a dead task's response is queued again under:
// the response's task ID with a generation number after it. It follows from
// the dead task's ID alone, so every sweeper (one per work process) picks the
// same ID and the response is queued once however many of them see it.
func recoveryTaskID(deadTaskID string, responseID uuid.UUID) string {
	base := processTaskID(responseID)
	gen := 0
	if rest, ok := strings.CutPrefix(deadTaskID, base+":"); ok {
		gen, _ = strconv.Atoi(rest)
	}
	return base + ":" + strconv.Itoa(gen+1)
}
