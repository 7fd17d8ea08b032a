package capture

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/google/uuid"

	"leadflow/store"
)

// MergeLeads merges the lead otherID into keepID, both of the workspace, in
// one transaction: the kept lead's blanks are filled from the other; the
// other's responses, audit trail, engagement, event registrations and
// possible duplicates move to the kept lead; the other stays as history,
// marked merged into the kept one. Both trails record the merge and who
// asked for it. A lead missing from the workspace is store.ErrNotFound; a
// lead merged already, or a lead merged with itself, is a *ValidationError.
func (p *Processor) MergeLeads(ctx context.Context, workspaceID, keepID, otherID uuid.UUID, actor string) (store.Lead, error) {
	if keepID == otherID {
		return store.Lead{}, &ValidationError{Fields: map[string]string{"other_id": "cannot merge a lead with itself"}}
	}
	if actor == "" {
		return store.Lead{}, errors.New("merge leads: an actor is required for the audit trail")
	}
	var out store.Lead
	err := p.store.InTx(ctx, func(q *store.Queries) error {
		var err error
		out, err = p.mergeLeads(ctx, q, workspaceID, keepID, otherID, actor)
		return err
	})
	if err != nil {
		return store.Lead{}, fmt.Errorf("merge leads: %w", err)
	}
	p.logger.InfoContext(ctx, "leads merged", "workspace_id", workspaceID, "lead_id", keepID,
		"merged_lead_id", otherID, "actor", actor)
	return out, nil
}

func (p *Processor) mergeLeads(ctx context.Context, q *store.Queries, ws, keepID, otherID uuid.UUID, actor string) (store.Lead, error) {
	// Take the identity locks the worker takes, before any row lock as it
	// does, so a response of either person waits for the merge instead of
	// making a lead beside it.
	var keys []string
	for _, id := range []uuid.UUID{keepID, otherID} {
		l, err := q.GetLead(ctx, ws, id)
		if err != nil {
			return store.Lead{}, err
		}
		keys = append(keys, emailKey(l.EmailCanonical), phoneKey(l.Phone))
	}
	if err := q.LockIdentities(ctx, ws, keys...); err != nil {
		return store.Lead{}, err
	}
	// Rows in ID order, so two merges of the same pair cannot deadlock.
	locked := map[uuid.UUID]store.Lead{}
	first, second := keepID, otherID
	if second.String() < first.String() {
		first, second = second, first
	}
	for _, id := range []uuid.UUID{first, second} {
		l, err := q.LockLead(ctx, ws, id)
		if err != nil {
			return store.Lead{}, err
		}
		locked[id] = l
	}
	keep, other := locked[keepID], locked[otherID]
	bad := map[string]string{}
	if keep.MergedInto != nil {
		bad["id"] = "lead was merged into " + keep.MergedInto.String()
	}
	if other.MergedInto != nil {
		bad["other_id"] = "lead was merged into " + other.MergedInto.String()
	}
	if len(bad) > 0 {
		return store.Lead{}, &ValidationError{Fields: bad}
	}

	return joinLeadRecords(ctx, q, ws, keep, other, actor, p.now(), nil, nil)
}

// joinLeadRecords merges the locked lead other into the locked lead keep:
// keep's blanks are filled from other; other's responses, audit trail,
// engagement, registrations, possible duplicates and email identities move
// to keep; its open handoff moves to keep (or is closed when keep has one),
// so sales can never convert a retired lead; other stays as history, marked
// merged into keep. Both trails record the merge and who did it; detail and
// responseID, when given, say what caused it.
func joinLeadRecords(ctx context.Context, q *store.Queries, ws uuid.UUID, keep, other store.Lead, actor string,
	now time.Time, cause map[string]any, responseID *uuid.UUID) (store.Lead, error) {
	keepID, otherID := keep.ID, other.ID
	filled, _ := mergeInto(&keep, other, false)
	keep.UpdatedAt = now
	// Retire the other first: it frees the email for the kept lead, which
	// may be filling its blank email from it.
	if _, err := q.MarkLeadMerged(ctx, ws, otherID, keepID, now); err != nil {
		return store.Lead{}, err
	}
	keep, err := q.UpdateLeadProfile(ctx, keep)
	if err != nil {
		return store.Lead{}, err
	}
	responses, err := q.MoveResponses(ctx, ws, otherID, keepID)
	if err != nil {
		return store.Lead{}, err
	}
	if _, err := q.MoveAuditEntries(ctx, ws, otherID, keepID); err != nil {
		return store.Lead{}, err
	}
	if _, err := q.MoveEngagementEvents(ctx, ws, otherID, keepID); err != nil {
		return store.Lead{}, err
	}
	if _, err := q.MoveRegistrations(ctx, ws, otherID, keepID); err != nil {
		return store.Lead{}, err
	}
	if err := q.MovePossibleDuplicates(ctx, ws, otherID, keepID); err != nil {
		return store.Lead{}, err
	}
	if _, err := q.MoveLeadIdentities(ctx, ws, otherID, keepID); err != nil {
		return store.Lead{}, err
	}
	if _, err := q.AddLeadIdentity(ctx, ws, keepID, other.Email, other.EmailCanonical, now); err != nil {
		return store.Lead{}, err
	}
	detail := map[string]any{"other_id": otherID, "responses_moved": responses}
	maps.Copy(detail, cause)
	if len(filled) > 0 {
		detail["filled"] = filled
	}
	entries := []store.AuditEntry{
		{LeadID: keepID, At: now, Actor: actor, Action: store.AuditMerged,
			NewValue: otherID.String(), ResponseID: responseID, Detail: detail},
		// The retired lead keeps one line saying where its history went.
		{LeadID: otherID, At: now, Actor: actor, Action: store.AuditMergedInto,
			NewValue: keepID.String(), ResponseID: responseID, Detail: map[string]any{"into_id": keepID}},
	}
	settled, err := optional(q.SettleMergedHandoff(ctx, ws, otherID, keepID, actor, now))
	if err != nil {
		return store.Lead{}, err
	}
	if settled != nil {
		entries = append(entries, store.AuditEntry{LeadID: keepID, At: now, Actor: actor,
			Action: store.AuditHandoffSettled, NewValue: settled.HandoffID.String(),
			Detail: map[string]any{"from_lead_id": otherID, "moved": settled.Moved}})
	}
	return keep, q.InsertAuditEntries(ctx, ws, entries...)
}
