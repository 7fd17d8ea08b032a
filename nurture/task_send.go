package nurture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/wneessen/go-mail"

	"leadflow/embed/metrics"
	"leadflow/store"
)

// TypeSend sends one message.
const TypeSend = "nurture:send"

// SendPayload is the nurture:send task's payload. Attempt is how many
// attempts the message had when the task was made: only the task holding
// the current number may try it (see store.ClaimMessageAttempt), so a task
// run twice, or recovered after its worker died while a newer attempt went
// ahead, sends nothing.
type SendPayload struct {
	WorkspaceID uuid.UUID `json:"workspace_id"`
	MessageID   uuid.UUID `json:"message_id"`
	Attempt     int       `json:"attempt"`
}

// NewSendTask builds the nurture:send task for a message's attempt. Its ID
// is "nurture:send:<message id>" for the first attempt and carries the
// attempt number after that: a task for the same attempt put on the queue
// twice is one task, while the next attempt is never blocked by an earlier
// one's task that a dead worker left behind.
func NewSendTask(workspaceID, messageID uuid.UUID, attempt int) *asynq.Task {
	payload, _ := json.Marshal(SendPayload{WorkspaceID: workspaceID, MessageID: messageID, Attempt: attempt})
	return asynq.NewTask(TypeSend, payload,
		asynq.TaskID(sendTaskID(messageID, attempt)),
		asynq.Queue(Queue),
		asynq.MaxRetry(10),
		// Room to wait for the workspace's send rate behind a backlog.
		asynq.Timeout(10*time.Minute))
}

func sendTaskID(messageID uuid.UUID, attempt int) string {
	id := TypeSend + ":" + messageID.String()
	if attempt > 0 {
		id += ":" + strconv.Itoa(attempt)
	}
	return id
}

// enqueueSend puts a message's attempt on the queue; a task already there
// for it counts as success.
func (e *Engine) enqueueSend(ctx context.Context, workspaceID, messageID uuid.UUID, attempt int, opts ...asynq.Option) error {
	_, err := e.cfg.Queue.EnqueueContext(ctx, NewSendTask(workspaceID, messageID, attempt), opts...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s: %w", TypeSend, err)
	}
	return nil
}

func (e *Engine) handleSend(ctx context.Context, t *asynq.Task) error {
	var p SendPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.MessageID == uuid.Nil {
		return fmt.Errorf("decode %s payload: %v: %w", TypeSend, err, asynq.SkipRetry)
	}
	if err := e.Send(ctx, p); err != nil {
		if e.countSendFailure(ctx, p, err) {
			return nil
		}
		return e.retryOrLeave(ctx, err)
	}
	return nil
}

// countSendFailure counts a failure of a message's attempt that went wrong
// before the SMTP transaction (a workspace without a sender, Redis away for
// the send rate, no SMTP connection), so that a message that keeps failing
// becomes failed, with its last error, after MaxAttempts. The next attempt
// is then a task of its own, and the handler reports success. A failure
// that cannot be written (PostgreSQL away) is left to Asynq's retries, and
// so is a send ended by its context (a shutdown, a lost lease).
func (e *Engine) countSendFailure(ctx context.Context, p SendPayload, failure error) bool {
	if errors.Is(failure, context.Canceled) || errors.Is(failure, context.DeadlineExceeded) || ctx.Err() != nil {
		return false
	}
	why := oneLineError(failure)
	delay := e.cfg.RetryDelay(p.Attempt + 1)
	m, err := e.cfg.Store.DeferOrFailMessage(ctx, p.WorkspaceID, p.MessageID, p.Attempt, true, why, e.cfg.MaxAttempts, e.now().Add(delay))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return true // the attempt is over: nothing is left to this task
	case err != nil:
		e.log.WarnContext(ctx, "message failure not recorded; the task will be retried", "message_id", p.MessageID, "error", err)
		return false
	case m.Status == store.MessageFailed:
		metrics.EmailFailed()
		e.log.WarnContext(ctx, "message given up", "message_id", m.ID, "attempts", m.Attempts, "error", why)
		return true
	}
	metrics.EmailDeferred()
	if err := e.enqueueSend(ctx, m.WorkspaceID, m.ID, m.Attempts, asynq.ProcessIn(delay)); err != nil {
		e.log.WarnContext(ctx, "enqueue send retry failed; the scheduler will retry it", "message_id", m.ID, "error", err)
	}
	e.log.InfoContext(ctx, "message attempt failed before sending; will retry", "message_id", m.ID,
		"attempt", m.Attempts, "retry_in", delay, "error", why)
	return true
}

// RetryMessage puts a failed message of the workspace back on the queue:
// it is tried MaxAttempts more times. ErrConflict: it has not failed.
func (e *Engine) RetryMessage(ctx context.Context, workspaceID, id uuid.UUID) (store.Message, error) {
	m, err := e.cfg.Store.RetryFailedMessage(ctx, workspaceID, id, e.now())
	if err != nil {
		return m, err
	}
	if err := e.enqueueSend(ctx, m.WorkspaceID, m.ID, m.Attempts); err != nil {
		// Its lease is running: the scheduler puts it on the queue after.
		e.log.WarnContext(ctx, "enqueue retried message failed; the scheduler will", "message_id", m.ID, "error", err)
	}
	e.log.InfoContext(ctx, "failed message retried", "message_id", m.ID)
	return m, nil
}

// retryOrLeave hands a failed task back to Asynq for a retry, except the
// last: that one is dropped rather than archived, since an archived task
// keeps its ID and would block the scheduler from putting the same work on
// the queue again. The work itself is in PostgreSQL and is not lost.
func (e *Engine) retryOrLeave(ctx context.Context, err error) error {
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, ok := asynq.GetMaxRetry(ctx)
	if ok && retried >= maxRetry {
		id, _ := asynq.GetTaskID(ctx)
		e.log.ErrorContext(ctx, "task out of retries; the scheduler will put its work back", "task_id", id, "error", err)
		return nil
	}
	return err
}

// Send makes one attempt at a message, exactly once: a message that is no
// longer queued, or whose attempt is not p.Attempt, is left alone, and so is
// one whose sending is held unrecorded (see heldSends). A message its
// address may not get (suppressed; marketing without required consent or
// after its enrollment exited) is marked suppressed. Otherwise, once the
// workspace's send rate allows and an SMTP connection is held, the attempt
// is claimed (counted before anything is sent) and the message goes to the
// SMTP server: accepted, it is sent; refused for good, it failed and its
// address is suppressed as bounced; refused for now, it is tried again
// later, on its own schedule in PostgreSQL, until MaxAttempts. The message's
// lease is kept alive all along (keepMessageLease), so that however long
// the waits, no scheduler starts a second attempt beside this one.
//
// An error means nothing was sent; the task may be retried.
func (e *Engine) Send(ctx context.Context, p SendPayload) error {
	if e.mailer == nil || e.limiter == nil {
		// Not configured to send (cmd warns at start): the message stays
		// queued, and the scheduler offers it again once it can go.
		e.log.DebugContext(ctx, "sending not configured; message stays queued", "message_id", p.MessageID)
		return nil
	}
	if e.held.has(p.MessageID) {
		return nil // sent; its record is on its way
	}
	c, to, ok, err := e.prepare(ctx, p)
	if err != nil || !ok {
		return err
	}
	// Until the claim the attempt is p's; the waits below keep its lease,
	// and give up should another task take the message meanwhile.
	wctx, cancelWait := context.WithCancel(ctx)
	defer cancelWait()
	stopWaiting := e.keepMessageLease(ctx, c.Message, p.Attempt, cancelWait)
	defer stopWaiting()
	waited, err := e.limiter.wait(wctx, c.Workspace.ID, c.Workspace.SendRatePerSecond)
	if err != nil {
		return err
	}
	if waited > 0 {
		// Behind a backlog the wait can be long, and the lead may have
		// unsubscribed meanwhile: look again.
		if c, to, ok, err = e.prepare(ctx, p); err != nil || !ok {
			return err
		}
	}
	st := e.cfg.Store
	m, ws := c.Message, c.Workspace
	msg, err := e.compose(m, ws)
	if err != nil {
		// An address go-mail cannot write will not get better.
		_, ferr := st.MarkMessageFailed(ctx, ws.ID, m.ID, oneLineError(err))
		e.log.WarnContext(ctx, "message cannot be composed", "message_id", m.ID, "error", err)
		return ferr
	}
	// The attempt is claimed only once a connection is held: a wait for a
	// connection slot behind a slow relay then counts against nobody.
	sess, err := e.mailer.acquire(wctx)
	if err != nil {
		return err
	}
	defer sess.release()
	m, err = st.ClaimMessageAttempt(ctx, ws.ID, m.ID, p.Attempt, e.now())
	stopWaiting()
	if errors.Is(err, store.ErrNotFound) {
		return nil // another task took this attempt meanwhile
	}
	if err != nil {
		return err
	}
	stopSending := e.keepMessageLease(ctx, m, m.Attempts, sess.abort)
	sendErr := sess.send(ctx, msg)
	stopSending()
	// What happened is recorded even when ctx ended during the send (a
	// shutdown): a message the server accepted must be marked sent.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if sendErr == nil {
		return e.recordSent(rctx, m, to)
	}
	kind, why := classify(sendErr)
	if kind == failRecipient {
		return e.recordBounced(rctx, m, to, why)
	}
	return e.recordRetry(rctx, m, why)
}

// prepare reads the message and decides whether this attempt may send it:
// not when it is no longer queued or the attempt is not p's (ok false), nor
// when its address may not get it (then it is marked suppressed).
func (e *Engine) prepare(ctx context.Context, p SendPayload) (store.MessageSendContext, recipient, bool, error) {
	st := e.cfg.Store
	c, err := st.GetMessageSendContext(ctx, p.WorkspaceID, p.MessageID)
	if errors.Is(err, store.ErrNotFound) {
		return c, recipient{}, false, nil
	}
	if err != nil {
		return c, recipient{}, false, err
	}
	m, ws := c.Message, c.Workspace
	if m.Status != store.MessageQueued || m.Attempts != p.Attempt {
		return c, recipient{}, false, nil // done, or an attempt that is not this task's
	}
	to, err := e.recipient(ctx, st.Queries, c)
	if err != nil {
		return c, to, false, err
	}
	if to.withheld != "" {
		if _, err := st.MarkMessageSuppressed(ctx, ws.ID, m.ID, to.withheld); err != nil && !errors.Is(err, store.ErrNotFound) {
			return c, to, false, err
		}
		e.log.InfoContext(ctx, "message suppressed", "message_id", m.ID, "reason", to.withheld)
		return c, to, false, nil
	}
	if ws.SenderEmail == "" {
		// The workspace's settings are missing, not the lead's address
		// wrong: the message waits for them.
		return c, to, false, fmt.Errorf("workspace %s has no sender address", ws.ID)
	}
	return c, to, true, nil
}

// recipient is who a message goes to, as far as sending is concerned.
type recipient struct {
	// canonical is the address's canonical form, which suppression uses.
	canonical string
	// lead is the live lead: the message's, or the one it was merged into.
	lead *store.Lead
	// withheld says why the message must not be sent; empty when it may.
	withheld string
}

// recipient decides whether m may go to its address. Suppressed addresses
// get nothing from any sequence; transactional email (a confirmation the
// person asked for) still reaches an unsubscribed address, but not one that
// bounced or complained. Marketing email also needs recorded consent when
// the workspace requires it, and an enrollment that has not exited.
func (e *Engine) recipient(ctx context.Context, q *store.Queries, c store.MessageSendContext) (recipient, error) {
	m, ws := c.Message, c.Workspace
	to := recipient{lead: c.Lead}
	suppressed := c.Suppressed
	switch {
	case c.Lead != nil:
		to.canonical = c.Lead.EmailCanonical
		if c.Lead.MergedInto != nil {
			// Consent and engagement are the surviving lead's.
			live, err := q.LiveLead(ctx, ws.ID, c.Lead.ID)
			if err != nil {
				return to, err
			}
			to.lead = &live
		}
	case m.ResponseID != nil:
		resp, err := q.GetResponse(ctx, ws.ID, *m.ResponseID)
		if err != nil {
			return to, err
		}
		to.canonical = contactOf(resp).EmailCanonical
	}
	if to.canonical == "" {
		var err error
		if to.canonical, err = e.canonicalEmail(m.ToEmail); err != nil {
			to.canonical = strings.ToLower(strings.TrimSpace(m.ToEmail))
		}
	}
	if c.Lead == nil || c.Lead.EmailCanonical == "" {
		s, err := q.GetSuppression(ctx, ws.ID, to.canonical)
		switch {
		case err == nil:
			suppressed = s.Reason
		case !errors.Is(err, store.ErrNotFound):
			return to, err
		}
	}
	if suppressed != "" && (m.Kind == store.MessageMarketing || suppressed != store.SuppressUnsubscribed) {
		to.withheld = "address suppressed: " + suppressed
		return to, nil
	}
	if m.Kind != store.MessageMarketing {
		return to, nil
	}
	if ws.RequireConsent && (to.lead == nil || !to.lead.Consent) {
		to.withheld = "no recorded consent"
		return to, nil
	}
	if c.Enrollment != nil && c.Enrollment.State == store.EnrollmentExited {
		to.withheld = "enrollment exited: " + c.Enrollment.ExitReason
	}
	return to, nil
}

// compose writes the message for SMTP: from the workspace's sender, with
// its stored Message-ID (the same on every attempt), text and HTML as
// alternatives, and on marketing email the List-Unsubscribe header with its
// RFC 8058 one-click companion.
func (e *Engine) compose(m store.Message, ws store.Workspace) (*mail.Msg, error) {
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(ws.SenderName, ws.SenderEmail); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.To(m.ToEmail); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(m.Subject)
	// Stored bare (id@host); go-mail adds the brackets. Trimmed so that a
	// row stored with them still makes one well-formed header.
	msg.SetMessageIDWithValue(strings.Trim(m.MessageID, "<> "))
	msg.SetDateWithValue(e.now())
	if m.Kind == store.MessageMarketing {
		unsubscribe := Links{BaseURL: e.cfg.BaseURL, Signer: e.cfg.Signer, MessageID: m.ID}.Unsubscribe()
		msg.SetGenHeaderPreformatted(mail.HeaderListUnsubscribe, "<"+unsubscribe+">")
		msg.SetGenHeaderPreformatted(mail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	}
	switch {
	case m.TextBody != "" && m.HTMLBody != "":
		msg.SetBodyString(mail.TypeTextPlain, m.TextBody)
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTMLBody)
	case m.HTMLBody != "":
		msg.SetBodyString(mail.TypeTextHTML, m.HTMLBody)
	default:
		msg.SetBodyString(mail.TypeTextPlain, m.TextBody)
	}
	return msg, nil
}

// recordSent marks the message sent and records email_sent on the lead.
// The server has the message by now: a write that fails is held and tried
// again until it is recorded, however long PostgreSQL is away (see
// heldSends), since a message left queued would be sent again.
func (e *Engine) recordSent(ctx context.Context, m store.Message, to recipient) error {
	metrics.EmailSent(m.CreatedAt)
	now := e.now()
	var leadID *uuid.UUID
	if to.lead != nil {
		leadID = &to.lead.ID
	}
	record := func(ctx context.Context) error {
		return e.cfg.Store.MarkMessageSent(ctx, m.WorkspaceID, m.ID, m.Attempts, leadID, messageDetail(m), now)
	}
	err := record(ctx)
	if errors.Is(err, store.ErrNotFound) {
		// Our claim was overtaken: only possible if this send outlived its
		// lease, which keepMessageLease is there to prevent.
		e.log.ErrorContext(ctx, "message sent after its claim was taken over", "message_id", m.ID)
		return nil
	}
	if err != nil {
		e.health.failed(e.now())
		e.log.WarnContext(ctx, "message sent but not recorded yet; holding it", "message_id", m.ID, "error", err)
		e.hold(ctx, m.ID, record)
		return nil
	}
	e.log.DebugContext(ctx, "message sent", "message_id", m.ID, "attempt", m.Attempts)
	return nil
}

// recordBounced marks a message the server refused for good failed,
// suppresses its address as bounced (which exits the address's
// enrollments) and records bounced on the lead.
func (e *Engine) recordBounced(ctx context.Context, m store.Message, to recipient, why string) error {
	now := e.now()
	err := retryWrite(ctx, func() error {
		return e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
			if _, err := q.MarkMessageFailed(ctx, m.WorkspaceID, m.ID, why); err != nil {
				return err
			}
			if err := e.Suppress(ctx, q, m.WorkspaceID, to.canonical, store.SuppressBounced, "smtp:"+m.ID.String()); err != nil {
				return err
			}
			if to.lead == nil {
				return nil
			}
			detail := messageDetail(m)
			detail["smtp"] = why
			_, err := q.InsertEngagementEvent(ctx, store.EngagementEvent{
				WorkspaceID: m.WorkspaceID, LeadID: to.lead.ID, Kind: store.EngagementBounced,
				SourceID: m.ID, OccurredAt: now, Detail: detail,
			})
			return err
		})
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	metrics.EmailBounced(store.BounceHard)
	e.log.WarnContext(ctx, "message refused for good", "message_id", m.ID, "error", why)
	return nil
}

// recordRetry schedules the message's next attempt after a temporary
// failure, or gives up after MaxAttempts. The retry is a task delayed on
// the queue; should it be lost, the scheduler finds the message a lease
// after it was due.
func (e *Engine) recordRetry(ctx context.Context, m store.Message, why string) error {
	delay := e.cfg.RetryDelay(m.Attempts)
	m, err := e.cfg.Store.DeferOrFailMessage(ctx, m.WorkspaceID, m.ID, m.Attempts, false, why, e.cfg.MaxAttempts, e.now().Add(delay))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.Status == store.MessageFailed {
		metrics.EmailFailed()
		e.log.WarnContext(ctx, "message given up", "message_id", m.ID, "attempts", m.Attempts, "error", why)
		return nil
	}
	metrics.EmailDeferred()
	if err := e.enqueueSend(ctx, m.WorkspaceID, m.ID, m.Attempts, asynq.ProcessIn(delay)); err != nil {
		e.log.WarnContext(ctx, "enqueue send retry failed; the scheduler will retry it", "message_id", m.ID, "error", err)
	}
	e.log.InfoContext(ctx, "message send failed; will retry", "message_id", m.ID, "attempt", m.Attempts,
		"retry_in", delay, "error", why)
	return nil
}

func messageDetail(m store.Message) map[string]any {
	d := map[string]any{"message_id": m.ID, "kind": m.Kind}
	if m.EnrollmentID != nil {
		d["enrollment_id"] = *m.EnrollmentID
		d["step_key"] = m.StepKey
	}
	return d
}

// retryWrite runs a write up to four times, a little apart; ErrNotFound is
// an answer, not a failure.
func retryWrite(ctx context.Context, write func() error) error {
	var err error
	for i := range 4 {
		if err = write(); err == nil || errors.Is(err, store.ErrNotFound) {
			return err
		}
		t := time.NewTimer(time.Duration(250<<i) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
	return err
}
