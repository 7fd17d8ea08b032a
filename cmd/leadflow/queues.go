package main

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"

	"leadflow/capture"
	"leadflow/embed/console"
	"leadflow/nurture"
	"leadflow/store"
)

// queuesPath is the console page of the task queues. /admin/queues sends
// the browser there.
const queuesPath = "/console/queues"

// queueTasksShown bounds the failed and archived tasks listed per queue.
const queueTasksShown = 50

// queuesPage shows the installation's Asynq queues to admins: sizes,
// latency, the tasks waiting to be retried and the archived ones, with
// retry and delete. The queues are the installation's, not a workspace's,
// so a task is shown by type, ID and last error only, never its payload.
//
// Every route sits in the console's group: the session is checked (a page
// asked for without one goes to sign-in), a non-admin gets 403, and a
// retry or delete needs the session's CSRF token and a same-site request,
// as every console form does. The JSON view is read-only; a cross-site
// page cannot read it (no CORS) and the session cookie is SameSite=Lax,
// so it is not sent on another site's fetch either.
type queuesPage struct {
	con  *console.Console
	insp *asynq.Inspector
	tmpl *template.Template
}

// queueRoutes adds the queues page to the console's group g and its
// navigation, and the /admin/queues address.
func queueRoutes(e *echo.Echo, g *echo.Group, con *console.Console, insp *asynq.Inspector) error {
	t, err := console.Page("queues", queuesHTML)
	if err != nil {
		return fmt.Errorf("queues page: %w", err)
	}
	p := &queuesPage{con: con, insp: insp, tmpl: t}
	admin := con.Require(store.UserAdmin)
	con.Nav("Queues", queuesPath, store.UserAdmin)
	g.GET("/queues", p.page, admin)
	g.GET("/queues/api/queues", p.list, admin)
	g.POST("/queues/:queue/tasks/:id/retry", p.retry, admin)
	g.POST("/queues/:queue/tasks/:id/delete", p.delete, admin)
	e.GET("/admin/queues", console.SeeOther(queuesPath))
	e.GET("/admin/queues/*", console.SeeOther(queuesPath))
	return nil
}

// appQueues are the queues leadflow's workers take tasks from.
var appQueues = []string{capture.Queue, nurture.Queue}

// queueView is one queue as the page and its JSON show it.
type queueView struct {
	Queue     string `json:"queue"`
	Size      int    `json:"size"`
	Pending   int    `json:"pending"`
	Active    int    `json:"active"`
	Scheduled int    `json:"scheduled"`
	Retry     int    `json:"retry"`
	Archived  int    `json:"archived"`
	// LatencyMS is how long the oldest pending task has waited.
	LatencyMS      int64 `json:"latency_ms"`
	ProcessedToday int   `json:"processed_today"`
	FailedToday    int   `json:"failed_today"`
	Paused         bool  `json:"paused"`
	// Lists are the failed (retry) and the archived tasks, on the page.
	Lists           []taskList `json:"-"`
	LatencyReadable string     `json:"-"`
}

// taskList is one state's tasks of a queue: the first queueTasksShown of
// Total.
type taskList struct {
	Kind, Title string
	Total       int
	Tasks       []taskView
}

// taskView is a task as the page shows it: never its payload nor its last
// error, which can name a person (an SMTP refusal quotes the address) and
// queues are shared by every workspace; the worker's log has the error.
type taskView struct {
	ID, Type          string
	Retried, MaxRetry int
	LastFailedAt      time.Time
	NextProcessAt     time.Time
}

// queues reads every queue: the app's own, and any other Redis knows.
func (p *queuesPage) queues(withTasks bool) ([]queueView, error) {
	known, err := p.insp.Queues()
	if err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	names := slices.Clone(known)
	for _, q := range appQueues {
		if !slices.Contains(names, q) {
			names = append(names, q)
		}
	}
	slices.Sort(names)
	out := make([]queueView, 0, len(names))
	for _, name := range names {
		v := queueView{Queue: name}
		// A queue Redis does not know has had no task yet: all zeros.
		var info *asynq.QueueInfo
		if slices.Contains(known, name) {
			info, err = p.insp.GetQueueInfo(name)
		}
		switch {
		case err != nil:
			return nil, fmt.Errorf("read queue %s: %w", name, err)
		case info != nil:
			v = queueView{Queue: name, Size: info.Size, Pending: info.Pending, Active: info.Active, Scheduled: info.Scheduled,
				Retry: info.Retry, Archived: info.Archived, LatencyMS: info.Latency.Milliseconds(),
				ProcessedToday: info.Processed, FailedToday: info.Failed, Paused: info.Paused}
		}
		v.LatencyReadable = time.Duration(v.LatencyMS * int64(time.Millisecond)).String()
		if withTasks {
			for _, l := range []struct {
				kind, title string
				total       int
				list        func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)
			}{
				{"retry", "Failed tasks waiting to be retried", v.Retry, p.insp.ListRetryTasks},
				{"archived", "Archived tasks", v.Archived, p.insp.ListArchivedTasks},
			} {
				if l.total == 0 {
					continue
				}
				ts, err := p.tasks(l.list, name)
				if err != nil {
					return nil, err
				}
				v.Lists = append(v.Lists, taskList{Kind: l.kind, Title: l.title, Total: l.total, Tasks: ts})
			}
		}
		out = append(out, v)
	}
	return out, nil
}

func (p *queuesPage) tasks(list func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error), queue string) ([]taskView, error) {
	ts, err := list(queue, asynq.PageSize(queueTasksShown))
	if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
		return nil, fmt.Errorf("list tasks of %s: %w", queue, err)
	}
	out := make([]taskView, 0, len(ts))
	for _, t := range ts {
		out = append(out, taskView{ID: t.ID, Type: t.Type, Retried: t.Retried, MaxRetry: t.MaxRetry,
			LastFailedAt: t.LastFailedAt, NextProcessAt: t.NextProcessAt})
	}
	return out, nil
}

type queuesData struct {
	Queues        []queueView
	Notice, Error string
}

func (p *queuesPage) page(ec echo.Context) error {
	qs, err := p.queues(true)
	if err != nil {
		return p.con.Render(ec, http.StatusServiceUnavailable, p.tmpl, "Queues",
			queuesData{Error: "Redis does not answer: the queues cannot be read now. Forms are still taken and kept."})
	}
	d := queuesData{Queues: qs}
	switch ec.QueryParam("done") {
	case "retry":
		d.Notice = "The task is queued to run again."
	case "delete":
		d.Notice = "The task is deleted."
	}
	return p.con.Render(ec, http.StatusOK, p.tmpl, "Queues", d)
}

// list is the queues as JSON: {"queues":[{"queue":"capture","size":0,...}]}.
func (p *queuesPage) list(ec echo.Context) error {
	qs, err := p.queues(false)
	if err != nil {
		return ec.JSON(http.StatusServiceUnavailable, map[string]string{"code": "redis_unavailable", "message": "the queues cannot be read now"})
	}
	return ec.JSON(http.StatusOK, map[string]any{"queues": qs})
}

func (p *queuesPage) retry(ec echo.Context) error {
	return p.act(ec, "retry", p.insp.RunTask)
}

func (p *queuesPage) delete(ec echo.Context) error {
	return p.act(ec, "delete", p.insp.DeleteTask)
}

// act runs a task's retry or delete and goes back to the page.
func (p *queuesPage) act(ec echo.Context, done string, do func(queue, id string) error) error {
	queue, id := ec.Param("queue"), ec.Param("id")
	if len(queue) > 200 || len(id) > 200 {
		return p.con.RenderError(ec, http.StatusNotFound, "There is no such task.")
	}
	switch err := do(queue, id); {
	case errors.Is(err, asynq.ErrQueueNotFound), errors.Is(err, asynq.ErrTaskNotFound):
		return p.con.RenderError(ec, http.StatusNotFound, "That task is gone: it has run, or was deleted, since the page was shown.")
	case err != nil:
		// A task being processed cannot be deleted, nor a pending one run.
		return p.con.RenderError(ec, http.StatusConflict, "That task cannot be changed now: "+err.Error())
	}
	return ec.Redirect(http.StatusSeeOther, queuesPath+"?done="+done)
}

const queuesHTML = `{{define "content"}}{{$csrf := .CSRF}}{{with .Data}}
<h1>Queues</h1>
<p class="help">The tasks waiting in Redis for the workers, for the whole installation. Forms are committed in PostgreSQL before a task is queued: deleting a task loses no response, a sweeper queues unfinished work again.</p>
{{- if .Notice}}<p class="notice" role="status">{{.Notice}}</p>{{end}}
{{- if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{- if .Queues}}
<section class="card" aria-labelledby="queues-heading">
  <h2 id="queues-heading">Queues</h2>
  <div class="table-wrap">
  <table id="queues">
    <thead><tr><th scope="col">Queue</th><th scope="col">Size</th><th scope="col">Pending</th><th scope="col">Active</th><th scope="col">Scheduled</th><th scope="col">Failed (retry)</th><th scope="col">Archived</th><th scope="col">Latency</th><th scope="col">Processed today</th><th scope="col">Failed today</th></tr></thead>
    <tbody>
    {{- range .Queues}}
    <tr><th scope="row">{{.Queue}}{{if .Paused}} <span class="tag">paused</span>{{end}}</th><td>{{.Size}}</td><td>{{.Pending}}</td><td>{{.Active}}</td><td>{{.Scheduled}}</td><td>{{.Retry}}</td><td>{{.Archived}}</td><td>{{.LatencyReadable}}</td><td>{{.ProcessedToday}}</td><td>{{.FailedToday}}</td></tr>
    {{- end}}
    </tbody>
  </table>
  </div>
</section>
{{- range .Queues}}{{$q := .Queue}}
{{- range .Lists}}
<section class="card" aria-labelledby="{{.Kind}}-{{$q}}">
  <h2 id="{{.Kind}}-{{$q}}">{{.Title}} of {{$q}}</h2>
  {{- if gt .Total (len .Tasks)}}<p class="help">The first {{len .Tasks}} of {{.Total}}.</p>{{end}}
  <div class="table-wrap">
  <table class="tasks">
    <thead><tr><th scope="col">Task</th><th scope="col">Type</th><th scope="col">Tries</th><th scope="col">Last failed</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>
    {{- range .Tasks}}
    <tr>
      <td class="mono">{{.ID}}</td>
      <td>{{.Type}}</td>
      <td>{{.Retried}} of {{.MaxRetry}}</td>
      <td>{{if not .LastFailedAt.IsZero}}<time datetime="{{.LastFailedAt.UTC.Format "2006-01-02T15:04:05Z07:00"}}">{{.LastFailedAt.UTC.Format "2 Jan 2006 15:04 UTC"}}</time>{{else}}<span class="muted">never</span>{{end}}</td>
      <td>
        <form method="post" action="/console/queues/{{$q}}/tasks/{{.ID}}/retry" class="inline">
          <input type="hidden" name="csrf_token" value="{{$csrf}}">
          <button type="submit">Retry<span class="visually-hidden"> {{.ID}}</span></button>
        </form>
        <form method="post" action="/console/queues/{{$q}}/tasks/{{.ID}}/delete" class="inline" data-confirm="Delete task {{.ID}}?">
          <input type="hidden" name="csrf_token" value="{{$csrf}}">
          <button type="submit" class="danger">Delete<span class="visually-hidden"> {{.ID}}</span></button>
        </form>
      </td>
    </tr>
    {{- end}}
    </tbody>
  </table>
  </div>
</section>
{{- end}}
{{- end}}
{{- end}}
{{- end}}{{end}}`
