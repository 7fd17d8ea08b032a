package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/capture"
	"leadflow/nurture"
	"leadflow/store"
	"leadflow/store/storetest"
)

// queuesClient is a signed-in (or not) client that does not follow
// redirects, so each answer is seen as it is.
type queuesClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (q *queuesClient) do(method, path string, form url.Values, header http.Header) (int, string, string) {
	q.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, q.base+path, body)
	if err != nil {
		q.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	c := *q.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		q.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// csrf is the token on the page path leads to.
func (q *queuesClient) csrf(path string) string {
	q.t.Helper()
	resp, err := q.c.Get(q.base + path)
	if err != nil {
		q.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := csrfInput.FindStringSubmatch(string(body))
	if m == nil {
		q.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

// TestQueuesConsole runs `leadflow serve` (no workers, so tasks stay where
// the test puts them) and shows the queues page to admins only, with
// retry and delete behind the console's CSRF and same-site checks.
func TestQueuesConsole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, redisURL := storetest.DatabaseURL(t), storetest.RedisURL(t)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	app := &consoleApp{base: startServe(t, dbURL, redisURL, ""), st: st}
	const password = "correct horse battery"
	app.person(t, "queues-ws", "ada@queues.test", store.UserAdmin, password)
	app.person(t, "queues-ws", "mia@queues.test", store.UserMarketing, password)
	app.person(t, "queues-ws", "sam@queues.test", store.UserSalesRep, password)

	// Three archived tasks in the capture queue, as a task that failed for
	// good would be.
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	qc := asynq.NewClientFromRedisClient(rdb)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	ids := []string{"queues-test-retry", "queues-test-delete", "queues-test-kept"}
	for _, id := range ids {
		if _, err := qc.Enqueue(asynq.NewTask("queues:test", []byte(`{}`)), asynq.Queue(capture.Queue), asynq.TaskID(id)); err != nil {
			t.Fatal(err)
		}
		if err := insp.ArchiveTask(capture.Queue, id); err != nil {
			t.Fatal(err)
		}
	}
	state := func(id string) string {
		t.Helper()
		ti, err := insp.GetTaskInfo(capture.Queue, id)
		if errors.Is(err, asynq.ErrTaskNotFound) {
			return "gone"
		}
		if err != nil {
			t.Fatal(err)
		}
		return ti.State.String()
	}
	anon := &queuesClient{t: t, base: app.base, c: &http.Client{}}
	signIn := func(email string) *queuesClient {
		h, _ := signInOverHTTP(t, app.base, email, password, "/console/")
		return &queuesClient{t: t, base: app.base, c: h.c}
	}

	t.Run("without a session: sign in first, posts refused", func(t *testing.T) {
		if code, loc, _ := anon.do(http.MethodGet, "/admin/queues", nil, nil); code != http.StatusSeeOther || loc != queuesPath {
			t.Errorf("GET /admin/queues: %d to %q, want 303 to %s", code, loc, queuesPath)
		}
		for _, path := range []string{queuesPath, queuesPath + "/api/queues"} {
			code, loc, _ := anon.do(http.MethodGet, path, nil, nil)
			if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
				t.Errorf("GET %s without a session: %d to %q, want 303 to /login", path, code, loc)
			}
		}
		code, _, body := anon.do(http.MethodPost, queuesPath+"/capture/tasks/queues-test-kept/delete", url.Values{}, nil)
		if code != http.StatusForbidden || strings.Contains(body, "queues-test") {
			t.Errorf("delete without a session: %d", code)
		}
		if got := state("queues-test-kept"); got != "archived" {
			t.Errorf("after the refused delete the task is %s, want archived", got)
		}
	})

	for _, email := range []string{"mia@queues.test", "sam@queues.test"} {
		t.Run("a non-admin is refused: "+email, func(t *testing.T) {
			c := signIn(email)
			token := c.csrf("/console/")
			for _, path := range []string{queuesPath, queuesPath + "/api/queues"} {
				if code, _, body := c.do(http.MethodGet, path, nil, nil); code != http.StatusForbidden || strings.Contains(body, "queues-test") {
					t.Errorf("GET %s as %s: %d, want 403 without the tasks", path, email, code)
				}
			}
			code, _, _ := c.do(http.MethodPost, queuesPath+"/capture/tasks/queues-test-kept/delete", url.Values{"csrf_token": {token}}, nil)
			if code != http.StatusForbidden {
				t.Errorf("delete with its CSRF token as %s: %d, want 403", email, code)
			}
			if got := state("queues-test-kept"); got != "archived" {
				t.Errorf("after the refused delete the task is %s, want archived", got)
			}
			if _, _, home := c.do(http.MethodGet, "/console/", nil, nil); strings.Contains(home, `href="`+queuesPath+`"`) {
				t.Errorf("%s's navigation links to the queues page", email)
			}
		})
	}

	t.Run("an admin sees the queues and retries and deletes tasks", func(t *testing.T) {
		c := signIn("ada@queues.test")
		code, _, body := c.do(http.MethodGet, queuesPath+"/api/queues", nil, nil)
		if code != http.StatusOK {
			t.Fatalf("GET the queues JSON: %d %s", code, body)
		}
		var list struct {
			Queues []queueView `json:"queues"`
		}
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			t.Fatalf("queues JSON %s: %v", body, err)
		}
		byName := map[string]queueView{}
		for _, q := range list.Queues {
			byName[q.Queue] = q
		}
		if _, ok := byName[nurture.Queue]; !ok {
			t.Errorf("queues JSON %s: no %s queue", body, nurture.Queue)
		}
		if got := byName[capture.Queue].Archived; got != len(ids) {
			t.Errorf("queues JSON %s: %d archived in %s, want %d", body, got, capture.Queue, len(ids))
		}

		code, _, page := c.do(http.MethodGet, queuesPath, nil, nil)
		if code != http.StatusOK {
			t.Fatalf("GET the queues page: %d", code)
		}
		for _, id := range ids {
			if !strings.Contains(page, `action="/console/queues/capture/tasks/`+id+`/retry"`) {
				t.Errorf("the page has no retry form for %s", id)
			}
		}
		if !strings.Contains(page, `href="`+queuesPath+`" aria-current="page"`) {
			t.Errorf("the navigation has no current link to the queues page")
		}
		token := csrfInput.FindStringSubmatch(page)[1]

		// Without the token, or from another site with it: refused,
		// nothing changed.
		del := queuesPath + "/capture/tasks/queues-test-delete/delete"
		if code, _, _ := c.do(http.MethodPost, del, url.Values{}, nil); code != http.StatusForbidden {
			t.Errorf("delete without a CSRF token: %d, want 403", code)
		}
		crossSite := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}
		if code, _, _ := c.do(http.MethodPost, del, url.Values{"csrf_token": {token}}, crossSite); code != http.StatusForbidden {
			t.Errorf("cross-site delete: %d, want 403", code)
		}
		if got := state("queues-test-delete"); got != "archived" {
			t.Fatalf("after the refused deletes the task is %s, want archived", got)
		}

		if code, loc, _ := c.do(http.MethodPost, del, url.Values{"csrf_token": {token}}, nil); code != http.StatusSeeOther || loc != queuesPath+"?done=delete" {
			t.Errorf("delete: %d to %q", code, loc)
		}
		if got := state("queues-test-delete"); got != "gone" {
			t.Errorf("after the delete the task is %s, want gone", got)
		}
		if code, _, _ := c.do(http.MethodPost, del, url.Values{"csrf_token": {token}}, nil); code != http.StatusNotFound {
			t.Errorf("deleting it again: %d, want 404", code)
		}
		retry := queuesPath + "/capture/tasks/queues-test-retry/retry"
		if code, loc, _ := c.do(http.MethodPost, retry, url.Values{"csrf_token": {token}}, nil); code != http.StatusSeeOther || loc != queuesPath+"?done=retry" {
			t.Errorf("retry: %d to %q", code, loc)
		}
		if got := state("queues-test-retry"); got != "pending" {
			t.Errorf("after the retry the task is %s, want pending", got)
		}
		if got := state("queues-test-kept"); got != "archived" {
			t.Errorf("the task left alone is %s, want archived", got)
		}
	})
}
