package qualify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"leadflow/embed/httpapi"
	"leadflow/embed/metrics"
	"leadflow/store"
)

// Webhook events of assignment (the decisions' are in convert.go).
const (
	EventHandoffCreated    = "handoff.created"
	EventHandoffReassigned = "handoff.reassigned"
)

// WebhookEvents are the events a webhook can subscribe to.
var WebhookEvents = []string{EventHandoffCreated, EventHandoffReassigned, EventHandoffAccepted, EventHandoffRejected}

// Headers of a webhook delivery.
const (
	// HeaderSignature is "t=<unix seconds>,v1=<hex HMAC-SHA256>"; see
	// VerifySignature.
	HeaderSignature = "Leadflow-Signature"
	// HeaderEvent names the event, e.g. handoff.created.
	HeaderEvent = "Leadflow-Event"
	// HeaderDelivery is the delivery's ID, the same on every retry: a
	// receiver that has seen it already can answer 2xx and do nothing.
	HeaderDelivery = "Leadflow-Delivery"
)

// DefaultSignatureTolerance is how far a signature's timestamp may be from
// the receiver's clock.
const DefaultSignatureTolerance = 5 * time.Minute

// Signature errors.
var (
	// ErrSignatureInvalid: the header is missing or malformed, or no
	// signature in it matches the body.
	ErrSignatureInvalid = errors.New("webhook signature invalid")
	// ErrSignatureExpired: the signature matches but its timestamp is
	// outside the tolerance, as with a replayed request.
	ErrSignatureExpired = errors.New("webhook signature timestamp outside tolerance")
)

// Sign returns the Leadflow-Signature header value for body sent at t.
func Sign(secret string, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(signature(secret, ts, body))
}

// signature is HMAC-SHA256(secret, "<t>.<body>"): the timestamp is signed
// with the body, so it cannot be changed to replay an old request.
func signature(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature checks a webhook delivery the way a receiver should:
//
//  1. Read the raw request body, before any JSON decoding (a re-encoded
//     body no longer matches).
//  2. Take the Leadflow-Signature header, "t=<unix seconds>,v1=<hex>"; it
//     may carry several v1 values while a secret is being rotated.
//  3. Compute HMAC-SHA256 with the webhook's secret over "<t>.<body>" and
//     compare it with each v1 in constant time (hmac.Equal), never with ==.
//  4. Refuse a timestamp further than tolerance (5 minutes is usual; zero
//     or less means DefaultSignatureTolerance) from now, so a captured
//     request cannot be replayed later.
//  5. Deduplicate on the Leadflow-Delivery header: a retry carries the same
//     ID.
//
// It returns nil, ErrSignatureInvalid or ErrSignatureExpired.
func VerifySignature(secret string, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultSignatureTolerance
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: malformed header", ErrSignatureInvalid)
		}
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("%w: more than one timestamp", ErrSignatureInvalid)
			}
			ts = v
		case "v1":
			if sig, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, sig)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: missing timestamp or signature", ErrSignatureInvalid)
	}
	want := signature(secret, ts, body)
	matched := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			matched = true
		}
	}
	if !matched {
		return ErrSignatureInvalid
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureExpired
	}
	return nil
}

// handoffPayload is the JSON body of a handoff event: the same shape for
// every event, with extra members where an event has more to say. Rows
// appear as the API shows them.
func handoffPayload(event string, now time.Time, h store.Handoff, lead store.Lead, owner *store.User, extra map[string]any) map[string]any {
	p := map[string]any{"event": event, "occurred_at": now, "handoff": newHandoff(h), "lead": newLead(lead), "owner": httpapi.MapPtr(owner, newUser)}
	for k, v := range extra {
		p[k] = payloadValue(v)
	}
	return p
}

// payloadValue is an extra member of a handoff event as the payload shows
// it: the rows an event carries in their wire types, anything else as is.
func payloadValue(v any) any {
	switch v := v.(type) {
	case store.Account:
		return newAccount(v)
	case store.Contact:
		return newContact(v)
	case *store.Opportunity:
		return httpapi.MapPtr(v, newOpportunity)
	case *store.User:
		return httpapi.MapPtr(v, newUser)
	}
	return v
}

// Webhook delivery bounds.
const (
	// webhookPerWebhook bounds one webhook's deliveries in flight across
	// processes, so a receiver that never answers holds that many workers
	// and leaves the others to everyone else.
	webhookPerWebhook = 2
	// webhookLeaseMargin is how much longer than an attempt's timeout a
	// claim is leased: a lease ends only when its process died, and the
	// delivery is then retried.
	webhookLeaseMargin = time.Minute
	// webhookRecordTimeout bounds recording an attempt's outcome, which is
	// done even while shutting down: the attempt happened.
	webhookRecordTimeout = 5 * time.Second
	// webhookMaxAttempts: the delivery fails for good after this many
	// attempts (about 7.5 hours of backoff).
	webhookMaxAttempts = 15
	webhookBaseBackoff = 10 * time.Second
	webhookMaxBackoff  = time.Hour
	// webhookMaxError bounds the last error kept on a delivery.
	webhookMaxError = 500
)

// webhookBackoff is the wait after the attempt-th failed attempt (from 1):
// 10 s, 20 s, 40 s ... capped at an hour, plus up to a tenth more at random
// so that receivers coming back up are not hit by every retry at once.
func webhookBackoff(attempt int) time.Duration {
	d := webhookBaseBackoff
	for i := 1; i < attempt && d < webhookMaxBackoff; i++ {
		d *= 2
	}
	d = min(d, webhookMaxBackoff)
	return d + rand.N(d/10+1)
}

// webhookPool posts deliveries on a bounded set of goroutines of its own,
// apart from the engine's other jobs: a receiver that never answers holds a
// worker for at most WebhookTimeout and delays neither scoring, decay nor
// the SLA.
type webhookPool struct {
	e *Engine
	// slots holds a token per delivery in flight.
	slots chan struct{}
	// freed is signalled when a delivery ends, so the next is claimed at
	// once rather than at the next tick.
	freed chan struct{}
	wg    sync.WaitGroup
	// onErr is told of outcomes that could not be recorded.
	onErr func(error)
}

func (e *Engine) newWebhookPool(onErr func(error)) *webhookPool {
	return &webhookPool{e: e, slots: make(chan struct{}, e.cfg.WebhookWorkers), freed: make(chan struct{}, 1), onErr: onErr}
}

// fill claims as many due deliveries as there are free workers and starts
// posting them. Only one goroutine fills a pool.
func (p *webhookPool) fill(ctx context.Context) error {
	free := cap(p.slots) - len(p.slots)
	if free == 0 {
		return nil
	}
	e := p.e
	now := e.now()
	// A claim cut short once committed would hold its deliveries until
	// their leases end; one that completes is posted, or at shutdown given
	// back at once.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), webhookRecordTimeout)
	defer cancel()
	ds, err := e.cfg.Store.ClaimWebhookDeliveries(cctx, now, now.Add(e.cfg.WebhookTimeout+webhookLeaseMargin), free, webhookPerWebhook)
	if err != nil {
		return err
	}
	for _, d := range ds {
		p.slots <- struct{}{}
		p.wg.Go(func() {
			defer func() {
				<-p.slots
				select {
				case p.freed <- struct{}{}:
				default:
				}
			}()
			if err := e.deliverWebhook(ctx, d); err != nil {
				p.onErr(err)
			}
		})
	}
	return nil
}

// runWebhooks delivers webhooks until ctx ends, then waits for the attempts
// in flight, which ctx cuts short.
func (e *Engine) runWebhooks(ctx context.Context) error {
	p := e.newWebhookPool(func(err error) {
		if ctx.Err() == nil {
			e.log.Warn("webhook_record_failed", "err", err)
		}
	})
	defer p.wg.Wait()
	t := time.NewTicker(e.cfg.Interval)
	defer t.Stop()
	for ctx.Err() == nil {
		if err := p.fill(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("qualify_job_failed", "job", "webhooks", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-p.freed:
		}
	}
	return nil
}

// deliverWebhooks claims the deliveries due now, up to the pool's workers,
// posts them and waits for their outcomes; tests step delivery with it.
func (e *Engine) deliverWebhooks(ctx context.Context) error {
	var (
		mu   sync.Mutex
		errs []error
	)
	p := e.newWebhookPool(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	})
	err := p.fill(ctx)
	p.wg.Wait()
	return errors.Join(append(errs, err)...)
}

// deliverWebhook makes one attempt at one delivery and records its outcome.
func (e *Engine) deliverWebhook(ctx context.Context, d store.WebhookDeliveryToSend) error {
	attempt := d.Attempts + 1
	status, sendErr := e.postWebhook(ctx, d)
	// The outcome is recorded even when ctx ended meanwhile: the receiver
	// may have acted on the attempt.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), webhookRecordTimeout)
	defer cancel()
	now := e.now()
	if sendErr != nil && ctx.Err() != nil {
		// Shutting down cut the attempt short: not the receiver's fault,
		// and the delivery is due again at once, for the next process.
		return e.cfg.Store.ReleaseWebhookDelivery(rctx, d.ID, d.ClaimedAt, now)
	}
	attrs := []any{"delivery_id", d.ID, "webhook_id", d.WebhookID, "event", d.Event, "attempt", attempt}
	if sendErr == nil {
		metrics.WebhookDelivery(d.Event, metrics.WebhookDelivered)
		e.log.Info("webhook_delivered", append(attrs, "status", status)...)
		return e.cfg.Store.MarkWebhookDelivered(rctx, d.ID, d.ClaimedAt, now, status)
	}
	msg := sendErr.Error()
	if len(msg) > webhookMaxError {
		msg = msg[:webhookMaxError]
	}
	giveUp := attempt >= webhookMaxAttempts
	next := now.Add(webhookBackoff(attempt))
	if giveUp {
		metrics.WebhookDelivery(d.Event, metrics.WebhookFailed)
		e.log.Warn("webhook_failed", append(attrs, "status", status, "err", msg)...)
	} else {
		metrics.WebhookDelivery(d.Event, metrics.WebhookRetry)
		e.log.Info("webhook_attempt_failed", append(attrs, "status", status, "err", msg, "next_attempt_at", next)...)
	}
	return e.cfg.Store.MarkWebhookAttemptFailed(rctx, d.ID, d.ClaimedAt, status, msg, next, giveUp)
}

// postWebhook posts a delivery's payload, signed with the webhook's secret.
// It returns the answer's status (0 when there was none) and an error unless
// the answer was 2xx. The client follows no redirect and connects to no
// refused address (webhook_guard.go).
func (e *Engine) postWebhook(ctx context.Context, d store.WebhookDeliveryToSend) (int, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, e.cfg.WebhookTimeout)
	defer cancel()
	body := []byte(d.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("invalid webhook url")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "leadflow-webhooks/1")
	req.Header.Set(HeaderEvent, d.Event)
	req.Header.Set(HeaderDelivery, d.ID.String())
	req.Header.Set(HeaderSignature, Sign(d.Secret, body, e.now()))
	resp, err := e.webhookClient.Do(req)
	if err != nil && parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return 0, fmt.Errorf("receiver did not answer within %s", e.cfg.WebhookTimeout)
	}
	if err != nil {
		// Keep only what went wrong, not the URL.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return 0, err
	}
	defer resp.Body.Close()
	// Read a little of the answer so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("receiver answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
