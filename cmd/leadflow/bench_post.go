package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// poster posts Salesforce-style forms to leadflow over real HTTP, each with
// an address no other post has, and remembers the address of every post
// answered 2xx, so the bench can find each one's response.
type poster struct {
	url    string
	people benchPeople
	client *http.Client
	next   atomic.Int64

	mu       sync.Mutex
	accepted []string // addresses of posts answered 2xx
}

func newPoster(formURL string, people benchPeople, maxConns int) *poster {
	tr := &http.Transport{MaxIdleConns: maxConns, MaxIdleConnsPerHost: maxConns, MaxConnsPerHost: maxConns,
		IdleConnTimeout: 30 * time.Second}
	return &poster{url: formURL, people: people, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (p *poster) close() { p.client.CloseIdleConnections() }

// postRun is what one run of posts did.
type postRun struct {
	ok, refused, failed int             // 2xx, other statuses, transport errors
	latencies           []time.Duration // of the 2xx posts
	elapsed             time.Duration
	statuses            map[int]int
}

func (r *postRun) add(o postRun) {
	r.ok += o.ok
	r.refused += o.refused
	r.failed += o.failed
	r.latencies = append(r.latencies, o.latencies...)
	for s, n := range o.statuses {
		r.statuses[s] += n
	}
}

func (r postRun) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

// post sends one form post; latency runs from since (its intended start).
func (p *poster) post(ctx context.Context, since time.Time, r *postRun) {
	n := int(p.next.Add(1))
	who := p.people.person("p", n)
	v := url.Values{}
	v.Set("oid", "00D5e000000BnchX")
	v.Set("first_name", who.first)
	v.Set("last_name", who.last)
	v.Set("email", who.email)
	v.Set("company", who.company)
	v.Set("phone", who.phone)
	v.Set("title", "Head of Marketing")
	v.Set("lead_source", "Web")
	v.Set("00N5e00000Budget", "10k-50k")
	v.Set("submit", "Submit")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, strings.NewReader(v.Encode()))
	if err != nil {
		r.failed++
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Mozilla/5.0 (leadflow bench)")
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			r.failed++
		}
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r.statuses[resp.StatusCode]++
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		r.refused++
		return
	}
	r.ok++
	r.latencies = append(r.latencies, time.Since(since))
	p.mu.Lock()
	p.accepted = append(p.accepted, who.email)
	p.mu.Unlock()
}

// closedLoop runs conns clients that post back to back until d has passed
// or max posts were answered.
func (p *poster) closedLoop(ctx context.Context, conns int, d time.Duration, max int) postRun {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var left atomic.Int64
	left.Store(int64(max))
	total := postRun{statuses: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Go(func() {
			r := postRun{statuses: map[int]int{}}
			for ctx.Err() == nil && left.Add(-1) >= 0 {
				p.post(ctx, time.Now(), &r)
			}
			mu.Lock()
			total.add(r)
			mu.Unlock()
		})
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	return total
}

// paced posts at rate a second, on schedule whatever the answers take (each
// latency counts from the post's scheduled time, so a stall is not hidden),
// for d or max posts, with up to conns posts in flight.
func (p *poster) paced(ctx context.Context, rate float64, conns int, d time.Duration, max int) postRun {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	total := postRun{statuses: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, conns)
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	for i := 0; i < max; i++ {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			r := postRun{statuses: map[int]int{}}
			p.post(ctx, at, &r)
			mu.Lock()
			total.add(r)
			mu.Unlock()
		})
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	return total
}

func (p *poster) acceptedEmails() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.accepted)
}

// percentile is the q-th (0..1) of sorted durations, nearest rank.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func fmtMS(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
}
