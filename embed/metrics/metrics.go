package metrics

import (
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// The outcomes of a form post.
const (
	// PostAccepted: committed and queued for processing.
	PostAccepted = "accepted"
	// PostSpam: committed and held as spam (answered like any other).
	PostSpam = "spam"
	// PostRefused: the submission itself was refused (too big, no fields).
	PostRefused = "refused"
	// PostRateLimited: the form's per-address rate was exceeded.
	PostRateLimited = "rate_limited"
	// PostNotFound: no such form.
	PostNotFound = "not_found"
	// PostUnavailable: the database was away or the intake restarting.
	PostUnavailable = "unavailable"
	// PostError: anything else that failed.
	PostError = "error"
)

// The events in a handoff's life that are counted.
const (
	HandoffCreated  = "created"
	HandoffAccepted = "accepted"
	HandoffRejected = "rejected"
)

// The outcomes of a webhook delivery attempt.
const (
	WebhookDelivered = "delivered"
	// WebhookRetry: the attempt failed and another is scheduled.
	WebhookRetry = "retry"
	// WebhookFailed: the attempt failed and the delivery is given up.
	WebhookFailed = "failed"
)

// lagBuckets suit waits from a fraction of a second to a day.
var lagBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600}

var (
	formPosts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "leadflow_form_posts_total",
		Help: "Form posts answered, by form ID and outcome (accepted, spam, refused, rate_limited, not_found, unavailable, error).",
	}, []string{"form", "outcome"})
	commitBatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "leadflow_capture_commit_batch_size",
		Help:    "Responses committed together in one capture transaction.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
	})
	commitSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "leadflow_capture_commit_duration_seconds",
		Help:    "Time one capture commit transaction took, by result (ok, error).",
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10},
	}, []string{"result"})
	responsesResolved = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "leadflow_responses_resolved_total",
		Help: "Responses resolved to a lead, by result (created, merged, linked_contact).",
	}, []string{"result"})
	resolveLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "leadflow_response_resolve_lag_seconds",
		Help:    "Time from a response being received to it being resolved to a lead.",
		Buckets: lagBuckets,
	})
	emailsSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "leadflow_emails_sent_total",
		Help: "Emails the SMTP server accepted.",
	})
	emailsDeferred = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "leadflow_emails_deferred_total",
		Help: "Email attempts that failed for now and were scheduled again.",
	})
	emailsFailed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "leadflow_emails_failed_total",
		Help: "Emails given up after their last attempt.",
	})
	emailsBounced = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "leadflow_emails_bounced_total",
		Help: "Bounces, by type (hard, soft, complaint): refusals for good by the SMTP server count as hard, reported bounces by their type.",
	}, []string{"type"})
	sendLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "leadflow_email_send_lag_seconds",
		Help:    "Time from a message being made (its step falling due) to the SMTP server accepting it.",
		Buckets: lagBuckets,
	})
	handoffs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "leadflow_handoffs_total",
		Help: "Handoffs to sales, by event (created, accepted, rejected).",
	}, []string{"event"})
	slaBreaches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "leadflow_handoff_sla_breaches_total",
		Help: "Handoffs whose SLA passed unanswered, by what was done (reassigned, escalated).",
	}, []string{"action"})
	webhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "leadflow_webhook_deliveries_total",
		Help: "Webhook delivery attempts, by event and outcome (delivered, retry, failed).",
	}, []string{"event", "outcome"})
)

// instruments are every instrument the domains record on.
func instruments() []prometheus.Collector {
	return []prometheus.Collector{
		formPosts, commitBatch, commitSeconds, responsesResolved, resolveLag,
		emailsSent, emailsDeferred, emailsFailed, emailsBounced, sendLag,
		handoffs, slaBreaches, webhookDeliveries,
	}
}

// FormPost counts one form post answered with outcome (a Post constant);
// form is uuid.Nil when no form was found.
func FormPost(form uuid.UUID, outcome string) {
	name := "none"
	if form != uuid.Nil {
		name = form.String()
	}
	formPosts.WithLabelValues(name, outcome).Inc()
}

// CaptureCommit records one capture transaction of size responses.
func CaptureCommit(size int, took time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	commitBatch.Observe(float64(size))
	commitSeconds.WithLabelValues(result).Observe(took.Seconds())
}

// ResponseResolved counts a response resolved to a lead with result
// (created, merged, linked_contact), received at receivedAt.
func ResponseResolved(result string, receivedAt time.Time) {
	responsesResolved.WithLabelValues(result).Inc()
	resolveLag.Observe(max(time.Since(receivedAt), 0).Seconds())
}

// EmailSent counts an email the SMTP server accepted, made at createdAt.
func EmailSent(createdAt time.Time) {
	emailsSent.Inc()
	sendLag.Observe(max(time.Since(createdAt), 0).Seconds())
}

// EmailDeferred counts an attempt that failed for now and is scheduled again.
func EmailDeferred() { emailsDeferred.Inc() }

// EmailFailed counts an email given up.
func EmailFailed() { emailsFailed.Inc() }

// EmailBounced counts a bounce of kind hard, soft or complaint.
func EmailBounced(kind string) { emailsBounced.WithLabelValues(kind).Inc() }

// Handoff counts a handoff event (a Handoff constant).
func Handoff(event string) { handoffs.WithLabelValues(event).Inc() }

// SLABreach counts a handoff whose SLA passed, with the action taken
// (reassigned, escalated).
func SLABreach(action string) { slaBreaches.WithLabelValues(action).Inc() }

// WebhookDelivery counts a delivery attempt of event with outcome (a
// Webhook constant).
func WebhookDelivery(event, outcome string) { webhookDeliveries.WithLabelValues(event, outcome).Inc() }
