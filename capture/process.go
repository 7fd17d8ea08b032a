package capture

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"leadflow/embed/metrics"
	"leadflow/store"
)

// ProcessActor is how the response:process worker signs the audit trail.
const ProcessActor = "worker:" + TypeProcessResponse

// DefaultFuzzyThreshold is the pg_trgm similarity of name + company at which
// a new lead is flagged as a possible duplicate of another lead or contact.
const DefaultFuzzyThreshold = 0.6

// What processing a response did with it.
const (
	// OutcomeCreated: a new lead was made.
	OutcomeCreated = "created"
	// OutcomeMerged: the response was merged into an existing lead.
	OutcomeMerged = "merged"
	// OutcomeLinkedContact: the response came from a known contact; a lead
	// linked to that contact was made for it.
	OutcomeLinkedContact = "linked_contact"
	// OutcomeListOnly: a list subscription from someone who is no lead
	// yet and named no purchase interest: kept as a response, no lead made.
	OutcomeListOnly = "list_only"
)

// Outcome is what Process did with a response.
type Outcome struct {
	ResponseID  uuid.UUID
	WorkspaceID uuid.UUID
	// Status is the response's status afterwards: processed, held as spam,
	// or awaiting its person's confirmation (double opt-in).
	Status string
	// Result is OutcomeCreated, OutcomeMerged or OutcomeLinkedContact once
	// processed; empty while held or awaiting confirmation.
	Result string
	// LeadID is the lead the response resolved to; uuid.Nil while held or
	// awaiting confirmation.
	LeadID uuid.UUID
	// Registration is the lead's registration status for the form's event
	// when this call registered it; empty otherwise.
	Registration string
	// Unchanged reports that the response had already been processed (or is
	// held) and this call changed nothing.
	Unchanged bool
	// ReceivedAt is when the response came in; zero when this call asked
	// for its confirmation.
	ReceivedAt time.Time
}

// Enroller is what processing hands a response on to once it is resolved:
// nurture enrols the lead in the sequences its form triggers and emails
// double opt-in confirmations. Both calls run inside the processing
// transaction, so their effects commit with the response's outcome or not
// at all.
type Enroller interface {
	// EnrollFromResponse follows up a processed response: leadID is its lead
	// and registration the event registration this response made, if any.
	EnrollFromResponse(ctx context.Context, q *store.Queries, resp store.Response, leadID uuid.UUID, registration *store.EventRegistration) error
	// RequestConfirmation asks the person behind a double opt-in response
	// to confirm it.
	RequestConfirmation(ctx context.Context, q *store.Queries, resp store.Response) error
}

// ProcessorConfig configures a Processor.
type ProcessorConfig struct {
	Store  *store.Store
	Logger *slog.Logger
	// Enroller follows up processed responses; nil does nothing more. A
	// double opt-in response waits for confirmation either way: an
	// unconfirmed person is never a lead.
	Enroller Enroller
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// FuzzyThreshold is the name + company similarity (0..1] that flags a
	// possible duplicate; DefaultFuzzyThreshold when zero.
	FuzzyThreshold float64
	// MaxAttempts is how many processing runs of a response may fail before
	// it is marked failed (1 to 25); DefaultMaxAttempts when zero.
	MaxAttempts int
}

// Processor resolves responses to leads: the response:process worker, and
// the manual merge and spam release that change the same records.
type Processor struct {
	store          *store.Store
	logger         *slog.Logger
	enroller       Enroller
	now            func() time.Time
	fuzzyThreshold float64
	maxAttempts    int
}

// NewProcessor builds a Processor, applying defaults.
func NewProcessor(cfg ProcessorConfig) (*Processor, error) {
	if cfg.Store == nil {
		return nil, errors.New("processor: store is required")
	}
	threshold := cmp.Or(cfg.FuzzyThreshold, DefaultFuzzyThreshold)
	if threshold <= 0 || threshold > 1 {
		return nil, fmt.Errorf("processor: fuzzy threshold %v is outside (0, 1]", threshold)
	}
	maxAttempts := cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts)
	if maxAttempts < 1 || maxAttempts > maxTaskRetries {
		return nil, fmt.Errorf("processor: max attempts %d is outside 1 to %d", maxAttempts, maxTaskRetries)
	}
	p := &Processor{
		store:          cfg.Store,
		logger:         cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
		enroller:       cfg.Enroller,
		now:            cfg.Now,
		fuzzyThreshold: threshold,
		maxAttempts:    maxAttempts,
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p, nil
}

// errUnreadableFields marks a response whose stored fields cannot be decoded:
// retrying cannot help.
var errUnreadableFields = errors.New("response fields unreadable")

// ProcessTask is the Asynq handler for TypeProcessResponse. A payload that
// cannot be decoded or names no known response is not retried; anything else
// (the database away, a deadlock) is returned as is so Asynq retries it.
func (p *Processor) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var payload ProcessPayload
	if err := json.Unmarshal(t.Payload(), &payload); err != nil {
		return fmt.Errorf("decode %s payload: %v: %w", TypeProcessResponse, err, asynq.SkipRetry)
	}
	if payload.ResponseID == uuid.Nil {
		return fmt.Errorf("decode %s payload: no response id: %w", TypeProcessResponse, asynq.SkipRetry)
	}
	out, err := p.Process(ctx, payload.ResponseID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		p.logger.WarnContext(ctx, "response not processable",
			"response_id", payload.ResponseID, "error", err)
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	case errors.Is(err, errUnreadableFields):
		// Retrying cannot help: fail it at once, visibly.
		return p.recordFailure(ctx, payload.ResponseID, err, 1)
	case err != nil:
		return p.recordFailure(ctx, payload.ResponseID, err, p.maxAttempts)
	}
	if !out.Unchanged && out.Status == store.ResponseProcessed {
		metrics.ResponseResolved(out.Result, out.ReceivedAt)
	}
	if !out.Unchanged {
		p.logger.DebugContext(ctx, "response processed", "response_id", out.ResponseID,
			"workspace_id", out.WorkspaceID, "lead_id", out.LeadID, "outcome", out.Result)
	}
	return nil
}

// Process resolves one response to exactly one lead, in one transaction:
// matching against leads and contacts under a per-identity lock, creating or
// merging the lead with its audit trail, registering for the form's event,
// recording the engagement, marking the response processed and handing it to
// the Enroller. A response that is not pending (already processed, held as
// spam, awaiting confirmation) is left alone, so running it again changes
// nothing. A double opt-in form's response that is not confirmed yet makes no
// lead: it waits for confirmation and its confirmation email is requested.
func (p *Processor) Process(ctx context.Context, responseID uuid.UUID) (Outcome, error) {
	var out Outcome
	run := func() error {
		return p.store.InTx(ctx, func(q *store.Queries) error {
			var err error
			out, err = p.process(ctx, q, responseID)
			return err
		})
	}
	err := run()
	if errors.Is(err, store.ErrConflict) {
		// The identity lock makes this unreachable for matching on email and
		// phone; a lead whose email was changed by hand between our read and
		// write is the rare case the unique index catches. A fresh
		// transaction sees the winner and merges into it.
		p.logger.InfoContext(ctx, "retrying response after conflict", "response_id", responseID, "error", err)
		err = run()
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("process response %s: %w", responseID, err)
	}
	return out, nil
}

// outcomeOf describes a response that this call leaves as it is.
func outcomeOf(r store.Response) Outcome {
	return Outcome{
		ResponseID:  r.ID,
		WorkspaceID: r.WorkspaceID,
		Status:      r.Status,
		ReceivedAt:  r.ReceivedAt,
		Result:      r.Outcome,
		LeadID:      derefID(r.LeadID),
		Unchanged:   true,
	}
}

func derefID(id *uuid.UUID) uuid.UUID {
	if id == nil {
		return uuid.Nil
	}
	return *id
}

// Release lets a response held as spam through: its verdict becomes released
// and its status pending, ready to be enqueued. Releasing a response already
// released changes nothing; a response that was never held is ErrConflict.
func (p *Processor) Release(ctx context.Context, workspaceID, responseID uuid.UUID, actor string) (store.Response, error) {
	var out store.Response
	changed := false
	err := p.store.InTx(ctx, func(q *store.Queries) error {
		r, err := q.LockResponse(ctx, workspaceID, responseID)
		if err != nil {
			return err
		}
		switch {
		case r.Verdict == store.VerdictReleased:
			out = r
			return nil
		case r.Verdict != store.VerdictSpam || r.Status != store.ResponseHeld:
			return fmt.Errorf("response is not held as spam: %w", store.ErrConflict)
		}
		out, err = q.MarkResponseReleased(ctx, workspaceID, responseID)
		changed = err == nil
		return err
	})
	if err != nil {
		return store.Response{}, fmt.Errorf("release response: %w", err)
	}
	if !changed {
		return out, nil
	}
	// Responses have no audit trail of their own; the log records who let
	// this one through.
	p.logger.InfoContext(ctx, "response released", "response_id", responseID,
		"workspace_id", workspaceID, "actor", actor)
	return out, nil
}
