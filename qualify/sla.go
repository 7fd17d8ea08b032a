package qualify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"leadflow/embed/metrics"
	"leadflow/store"
)

const (
	// slaBatch bounds the handoffs one SLA run looks at.
	slaBatch = 50
	// actorSLA names the SLA job in histories.
	actorSLA = "worker:sla"
	// viaKept: an escalation found no manager, so the owner stays.
	viaKept = "kept"
)

// expireHandoffs reassigns the open handoffs whose SLA has passed: to the
// next owner by the same assignment, excluding everyone who already had the
// handoff; after max_reassignments (or when nobody is left) to the team's
// manager, after which it is not reassigned again. Both the old and the new
// owner are told by email, and webhooks hear handoff.reassigned.
func (e *Engine) expireHandoffs(ctx context.Context) error {
	now := e.now()
	due, err := e.cfg.Store.DueHandoffs(ctx, now, slaBatch)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range due {
		if ctx.Err() != nil {
			break
		}
		if err := e.expireHandoff(ctx, d, now); err != nil {
			errs = append(errs, fmt.Errorf("handoff %s: %w", d.ID, err))
		}
	}
	return errors.Join(errs...)
}

// expireHandoff reassigns or escalates one handoff in one transaction. The
// handoff is locked and its state checked again first, so concurrent runs
// act on it once.
func (e *Engine) expireHandoff(ctx context.Context, d store.DueHandoff, now time.Time) error {
	var (
		done   bool
		action string
		h      store.Handoff
	)
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		// The lead first, then the handoff, as accepting a handoff does, so
		// that the two never wait on each other.
		lead, err := q.LockLead(ctx, d.WorkspaceID, d.LeadID)
		if err != nil {
			return err
		}
		h, err = q.LockDueHandoff(ctx, d.WorkspaceID, d.ID, now)
		if errors.Is(err, store.ErrNotFound) {
			// Another run has it, or it was accepted, rejected or
			// reassigned meanwhile.
			return nil
		}
		if err != nil {
			return err
		}
		settings, err := q.GetAssignmentSettings(ctx, d.WorkspaceID)
		if err != nil {
			return err
		}
		action = store.HandoffEventEscalated
		var a assignment
		if h.Reassignments < settings.MaxReassignments {
			past, err := q.HandoffPastOwners(ctx, d.WorkspaceID, h.ID)
			if err != nil {
				return err
			}
			if a, err = e.assign(ctx, q, lead, past, now); err != nil {
				return err
			}
			if a.via == viaRoundRobin {
				action = store.HandoffEventReassigned
			}
		}
		if action == store.HandoffEventEscalated && a.via != viaManager {
			if a, err = e.escalation(ctx, q, lead, h); err != nil {
				return err
			}
		}
		old := h.OwnerID
		sla := time.Duration(settings.SLASeconds) * time.Second
		if h, err = q.ReassignHandoff(ctx, d.WorkspaceID, h.ID, a.ownerID, a.teamID, now.Add(sla)); err != nil {
			return err
		}
		detail := map[string]any{"via": a.via, "from_owner_id": old, "reassignments": h.Reassignments}
		if err := q.RecordHandoffDecisionEvent(ctx, h.ID, action, h.OwnerID, actorSLA, detail, now); err != nil {
			return err
		}
		if lead, err = e.giveLead(ctx, q, lead, h.OwnerID, actorSLA, now); err != nil {
			return err
		}
		users, err := ownerUsers(ctx, q, d.WorkspaceID, old, h.OwnerID)
		if err != nil {
			return err
		}
		newOwner, oldOwner := userRef(users, h.OwnerID), userRef(users, old)
		if !sameID(old, h.OwnerID) {
			kind := noticeReassignedToYou
			if action == store.HandoffEventEscalated {
				kind = noticeEscalated
			}
			if newOwner != nil {
				if err := e.queueNotice(ctx, q, notice{kind: kind, to: *newOwner, handoff: h, lead: lead}, now); err != nil {
					return err
				}
			}
			if oldOwner != nil {
				n := notice{kind: noticeTakenAway, to: *oldOwner, handoff: h, lead: lead, other: newOwner}
				if err := e.queueNotice(ctx, q, n, now); err != nil {
					return err
				}
			}
		}
		payload := handoffPayload(EventHandoffReassigned, now, h, lead, newOwner, map[string]any{
			"previous_owner": oldOwner, "escalated": action == store.HandoffEventEscalated,
		})
		key := fmt.Sprintf("%s:%s:%d", EventHandoffReassigned, h.ID, h.Reassignments)
		if _, err := q.QueueWebhookEvent(ctx, d.WorkspaceID, EventHandoffReassigned, key, payload, now); err != nil {
			return err
		}
		done = true
		return nil
	})
	if err != nil {
		return err
	}
	if done {
		metrics.SLABreach(action)
		msg := "handoff_reassigned"
		if action == store.HandoffEventEscalated {
			msg = "handoff_escalated"
		}
		e.log.Info(msg, "handoff_id", h.ID, "lead_id", h.LeadID, "owner_id", idString(h.OwnerID),
			"reassignments", h.Reassignments)
	}
	return nil
}

// escalation gives a handoff to its team's manager (the team of the lead's
// territory when the handoff has none); with no manager, its owner stays.
func (e *Engine) escalation(ctx context.Context, q *store.Queries, lead store.Lead, h store.Handoff) (assignment, error) {
	kept := assignment{teamID: h.TeamID, ownerID: h.OwnerID, via: viaKept}
	teamID := h.TeamID
	if teamID == nil {
		rules, err := q.AssignmentRules(ctx, lead.WorkspaceID)
		if err != nil {
			return assignment{}, err
		}
		id, ok := territoryTeam(rules, lead.Country, lead.State)
		if !ok {
			return kept, nil
		}
		teamID = &id
	}
	team, err := q.GetTeam(ctx, lead.WorkspaceID, *teamID)
	if errors.Is(err, store.ErrNotFound) {
		return kept, nil
	}
	if err != nil {
		return assignment{}, err
	}
	if team.ManagerID == nil {
		kept.teamID = &team.ID
		return kept, nil
	}
	return assignment{teamID: &team.ID, ownerID: team.ManagerID, via: viaManager}, nil
}
