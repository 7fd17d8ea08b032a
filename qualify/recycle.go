package qualify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"leadflow/embed/metrics"
	"leadflow/store"
)

// maxReasonLength bounds a rejection reason: a sentence or a paragraph.
const maxReasonLength = 2000

// Rejection is what a reject did: the decided handoff, the recycled lead,
// and the enrollment into the recycle sequence, when one was made.
type Rejection struct {
	Handoff store.Handoff `json:"handoff"`
	Lead    store.Lead    `json:"lead"`
	// RecycleSequenceID is the sequence the lead was put in; nil when the
	// workspace has no active recycle sequence (or the lead was already in
	// it).
	RecycleSequenceID *uuid.UUID `json:"recycle_sequence_id"`
}

// RejectInput is a rejection: the reason sales gave, and (as in
// AcceptInput) the owner the decision was allowed for, if any.
type RejectInput struct {
	Reason string
	Owner  *uuid.UUID
}

// Reject closes an open handoff as rejected with the reason sales gave: the
// lead becomes recycled with that reason in its status and audit trail,
// webhooks hear handoff.rejected, and the lead is put in the workspace's
// recycle sequence when one is configured and active, where the nurture
// scheduler takes it on. A recycled lead can qualify again later, which
// makes a new decision and a new handoff. A handoff no longer open is
// store.ErrConflict, and nothing changes.
func (e *Engine) Reject(ctx context.Context, workspaceID, handoffID uuid.UUID, actor string, in RejectInput) (Rejection, error) {
	reason := strings.TrimSpace(in.Reason)
	switch {
	case reason == "":
		return Rejection{}, invalid("reason", "is required: say why the lead is rejected")
	case utf8.RuneCountInString(reason) > maxReasonLength:
		return Rejection{}, invalid("reason", fmt.Sprintf("must be at most %d characters", maxReasonLength))
	}
	now := e.now().UTC()
	var out Rejection
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		h, lead, err := lockOpenHandoff(ctx, q, workspaceID, handoffID, in.Owner)
		if err != nil {
			return err
		}
		if out.Handoff, err = q.DecideHandoff(ctx, workspaceID, h.ID, store.HandoffRejected, reason, actor, now); err != nil {
			return err
		}
		if out.Lead, err = q.MoveLeadToStatus(ctx, workspaceID, lead.ID, store.LeadRecycled, reason, now); err != nil {
			return err
		}
		err = q.InsertAuditEntries(ctx, workspaceID, store.AuditEntry{
			LeadID: lead.ID, At: now, Actor: actor, Action: store.AuditStatusChanged,
			Field: "status", OldValue: lead.Status, NewValue: store.LeadRecycled,
			Detail: map[string]any{"handoff_id": h.ID, "reason": reason},
		})
		if err != nil {
			return err
		}
		detail := map[string]any{"reason": reason}
		if out.RecycleSequenceID, err = e.recycle(ctx, q, lead, h, now); err != nil {
			return err
		}
		if out.RecycleSequenceID != nil {
			detail["recycle_sequence_id"] = *out.RecycleSequenceID
		}
		if err := q.RecordHandoffDecisionEvent(ctx, h.ID, store.HandoffEventRejected, h.OwnerID, actor, detail, now); err != nil {
			return err
		}
		users, err := ownerUsers(ctx, q, workspaceID, h.OwnerID)
		if err != nil {
			return err
		}
		payload := handoffPayload(EventHandoffRejected, now, out.Handoff, out.Lead, userRef(users, h.OwnerID), map[string]any{
			"reason": reason, "recycle_sequence_id": out.RecycleSequenceID,
		})
		_, err = q.QueueWebhookEvent(ctx, workspaceID, EventHandoffRejected, EventHandoffRejected+":"+h.ID.String(), payload, now)
		return err
	})
	if err != nil {
		return Rejection{}, fmt.Errorf("reject handoff: %w", err)
	}
	metrics.Handoff(metrics.HandoffRejected)
	e.log.Info("handoff_rejected", "handoff_id", handoffID, "lead_id", out.Lead.ID,
		"recycle_sequence_id", out.RecycleSequenceID)
	return out, nil
}

// recycle puts a rejected lead in the workspace's recycle sequence, at its
// first step and due now, unless there is none, it is not active, or the
// lead is in it already. It returns the sequence when it enrolled the lead.
func (e *Engine) recycle(ctx context.Context, q *store.Queries, lead store.Lead, h store.Handoff, now time.Time) (*uuid.UUID, error) {
	seq, err := q.RecycleSequenceOf(ctx, lead.WorkspaceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if seq.Status != store.SequenceActive {
		e.log.Info("recycle_sequence_not_active", "sequence_id", seq.ID, "status", seq.Status, "lead_id", lead.ID)
		return nil, nil
	}
	var steps []struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(seq.Steps, &steps); err != nil || len(steps) == 0 || steps[0].Key == "" {
		// Nurture validates steps when a sequence is saved; one without a
		// first step has nothing to run.
		e.log.Warn("recycle_sequence_without_steps", "sequence_id", seq.ID, "lead_id", lead.ID)
		return nil, nil
	}
	enrolled, err := q.EnrollRecycled(ctx, lead.WorkspaceID, seq.ID, lead.ID, steps[0].Key,
		"handoff_rejected:"+h.ID.String(), now)
	if err != nil || !enrolled {
		return nil, err
	}
	return &seq.ID, nil
}
