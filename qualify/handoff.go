package qualify

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"leadflow/embed/metrics"
	"leadflow/store"
)

// actorQualify names the qualify worker in histories when a decision has no
// actor of its own.
const actorQualify = "worker:qualify"

// handOff gives a qualified lead to a sales owner, inside the transaction
// that recorded the decision d: it chooses the owner (see assign), stores
// the open handoff with its SLA deadline, records the `created` event, makes
// the owner the lead's owner, and queues the owner's email and one webhook
// delivery per subscribed webhook. Everything commits with the decision or
// not at all; the sender and the webhook loop act once it has.
//
// A lead that already has an open handoff, or a decision that already made
// one, is store.ErrConflict and changes nothing: the caller treats it as
// "already handed off", and its transaction remains usable.
func (e *Engine) handOff(ctx context.Context, q *store.Queries, lead store.Lead, d store.QualificationDecision) (store.Handoff, error) {
	now := e.now()
	settings, err := q.GetAssignmentSettings(ctx, lead.WorkspaceID)
	if err != nil {
		return store.Handoff{}, fmt.Errorf("hand off: %w", err)
	}
	a, err := e.assign(ctx, q, lead, nil, now)
	if err != nil {
		return store.Handoff{}, fmt.Errorf("hand off: assign: %w", err)
	}
	h, err := q.InsertHandoff(ctx, store.Handoff{
		WorkspaceID: lead.WorkspaceID,
		LeadID:      lead.ID,
		DecisionID:  d.ID,
		OwnerID:     a.ownerID,
		TeamID:      a.teamID,
		SLADueAt:    now.Add(time.Duration(settings.SLASeconds) * time.Second),
		CreatedAt:   now,
	})
	if err != nil {
		return store.Handoff{}, fmt.Errorf("hand off: %w", err)
	}
	actor := d.Actor
	if actor == "" {
		actor = actorQualify
	}
	detail := map[string]any{"via": a.via, "decision_id": d.ID}
	if a.teamID != nil {
		detail["team_id"] = *a.teamID
	}
	if err := q.RecordHandoffDecisionEvent(ctx, h.ID, store.HandoffEventCreated, h.OwnerID, actor, detail, now); err != nil {
		return store.Handoff{}, fmt.Errorf("hand off: %w", err)
	}
	if lead, err = e.giveLead(ctx, q, lead, h.OwnerID, actor, now); err != nil {
		return store.Handoff{}, fmt.Errorf("hand off: %w", err)
	}
	users, err := ownerUsers(ctx, q, lead.WorkspaceID, h.OwnerID)
	if err != nil {
		return store.Handoff{}, fmt.Errorf("hand off: %w", err)
	}
	owner := userRef(users, h.OwnerID)
	if owner != nil {
		if err := e.queueNotice(ctx, q, notice{kind: noticeAssigned, to: *owner, handoff: h, lead: lead}, now); err != nil {
			return store.Handoff{}, fmt.Errorf("hand off: %w", err)
		}
	}
	payload := handoffPayload(EventHandoffCreated, now, h, lead, owner, map[string]any{"assigned_via": a.via})
	if _, err := q.QueueWebhookEvent(ctx, lead.WorkspaceID, EventHandoffCreated, EventHandoffCreated+":"+h.ID.String(), payload, now); err != nil {
		return store.Handoff{}, fmt.Errorf("hand off: %w", err)
	}
	// Counted as made: the caller's transaction rarely rolls back past here.
	metrics.Handoff(metrics.HandoffCreated)
	return h, nil
}

// giveLead makes owner the lead's owner, with an audit entry when that
// changes it.
func (e *Engine) giveLead(ctx context.Context, q *store.Queries, lead store.Lead, owner *uuid.UUID, actor string, now time.Time) (store.Lead, error) {
	if sameID(lead.OwnerID, owner) {
		return lead, nil
	}
	old := lead.OwnerID
	lead, err := q.SetLeadOwner(ctx, lead.WorkspaceID, lead.ID, owner, now)
	if err != nil {
		return store.Lead{}, err
	}
	err = q.InsertAuditEntries(ctx, lead.WorkspaceID, store.AuditEntry{
		LeadID: lead.ID, At: now, Actor: actor, Action: store.AuditOwnerAssigned, Field: "owner_id",
		OldValue: idString(old), NewValue: idString(owner),
	})
	return lead, err
}

func sameID(a, b *uuid.UUID) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func idString(id *uuid.UUID) string {
	if id == nil {
		return ""
	}
	return id.String()
}
