package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Shares of the posts that come again from someone who has posted already:
// soon after (a double click, a resubmitted page) or later on.
const (
	twinShare   = 0.05
	repeatShare = 0.08
	// maxInFlight bounds the posts waiting for an answer: past it a post is
	// not sent and counted so, which keeps the load bounded when the server
	// hangs.
	maxInFlight = 1000
)

// planPeople says who sends each of n posts: mostly a new person each time,
// sometimes the last person again straight away, sometimes someone earlier.
// The same seed gives the same plan.
func planPeople(seed uint64, n int) []int {
	rng := rand.New(rand.NewPCG(seed, 0x6661756c74))
	plan := make([]int, 0, n)
	people := 0
	for len(plan) < n {
		x := rng.Float64()
		switch {
		case people > 0 && x < twinShare:
			plan = append(plan, people-1)
		case people > 0 && x < twinShare+repeatShare:
			plan = append(plan, rng.IntN(people))
		default:
			plan = append(plan, people)
			people++
		}
	}
	return plan
}

var firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken",
	"Margaret", "Dennis", "Radia", "John", "Hedy", "Claude", "Katherine", "Niklaus"}

// person is what the n-th person of a scenario posts, the same every time.
func person(scenario string, seed uint64, n int) url.Values {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	var last strings.Builder
	last.WriteByte(byte('A' + rng.IntN(26)))
	for range 7 {
		last.WriteByte(byte('a' + rng.IntN(26)))
	}
	return url.Values{
		"first_name": {firstNames[rng.IntN(len(firstNames))]},
		"last_name":  {last.String()},
		"email":      {personEmail(scenario, seed, n)},
		"message":    {"Please get in touch."},
	}
}

func personEmail(scenario string, seed uint64, n int) string {
	return fmt.Sprintf("p%05d.%s.s%d@fault.example", n, scenario, seed)
}

// loadConfig is one scenario's load.
type loadConfig struct {
	FormURL  string
	Scenario string
	Seed     uint64
	Rate     int
	Duration time.Duration
}

// runLoad posts at cfg.Rate per second for cfg.Duration and returns every
// post with its answer. It waits for the answers of the last posts (at most
// the client's timeout).
func runLoad(ctx context.Context, client *http.Client, cfg loadConfig) []post {
	n := max(1, int(float64(cfg.Rate)*cfg.Duration.Seconds()))
	plan := planPeople(cfg.Seed, n)
	posts := make([]post, n)
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(max(1, cfg.Rate)))
	defer tick.Stop()
	for i, who := range plan {
		posts[i] = post{Person: who, Email: personEmail(cfg.Scenario, cfg.Seed, who), Status: -1}
		if i > 0 {
			select {
			case <-ctx.Done():
				wg.Wait()
				return posts[:i]
			case <-tick.C:
			}
		}
		select {
		case sem <- struct{}{}:
		default:
			continue // too many in flight: counted as not sent
		}
		wg.Go(func() {
			defer func() { <-sem }()
			sendPost(ctx, client, cfg.FormURL, person(cfg.Scenario, cfg.Seed, who), &posts[i])
		})
	}
	wg.Wait()
	return posts
}

// sendPost posts one form the way a server-side integration does (form
// encoding, asking for JSON) and records the answer in p.
func sendPost(ctx context.Context, client *http.Client, formURL string, form url.Values, p *post) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, formURL, strings.NewReader(form.Encode()))
	if err != nil {
		p.Status, p.Err = 0, "bad request"
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		p.Status, p.Err = 0, transportError(err)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	p.Status = resp.StatusCode
	if err != nil || !p.answered2xx() {
		return
	}
	var accepted struct {
		ResponseID string `json:"response_id"`
	}
	if json.Unmarshal(body, &accepted) == nil {
		p.ResponseID = accepted.ResponseID
	}
}

// transportError classes an error for the summary.
func transportError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "transport error"
}

// newLoadClient is an HTTP client for the load: connections kept open and
// reused, an answer awaited for a bounded time.
func newLoadClient() *http.Client {
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConns:        200,
			MaxIdleConnsPerHost: 200,
			IdleConnTimeout:     30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
