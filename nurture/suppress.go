package nurture

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"leadflow/store"
)

// Suppress stops all marketing email to an address of the workspace, in the
// caller's transaction: the address is suppressed for reason (unsubscribed,
// bounced or complained; an address suppressed already keeps its first
// reason), and every active enrollment of every lead with that canonical
// email exits with the reason, whatever the sequence's exit criteria say:
// an address that may not be emailed has nothing left to do in a sequence.
// Doing it again changes nothing.
//
// The engagement event (unsubscribed, bounced) is the caller's to record,
// on the live lead and with its source (the message clicked, the bounce
// reported), so that one suppression is one event for scoring.
func (e *Engine) Suppress(ctx context.Context, q *store.Queries, workspaceID uuid.UUID, emailCanonical, reason, actor string) error {
	switch reason {
	case store.SuppressUnsubscribed, store.SuppressBounced, store.SuppressComplained:
	default:
		return fmt.Errorf("suppress: unknown reason %q", reason)
	}
	emailCanonical = strings.TrimSpace(emailCanonical)
	if emailCanonical == "" {
		return fmt.Errorf("suppress: no address")
	}
	now := e.now()
	added, err := q.InsertSuppression(ctx, workspaceID, emailCanonical, reason, now)
	if err != nil {
		return fmt.Errorf("suppress: %w", err)
	}
	exited, err := q.ExitEnrollmentsForEmail(ctx, workspaceID, emailCanonical, reason, now)
	if err != nil {
		return fmt.Errorf("suppress: %w", err)
	}
	if added || exited > 0 {
		e.log.InfoContext(ctx, "address suppressed", "workspace_id", workspaceID, "reason", reason,
			"actor", actor, "enrollments_exited", exited)
	}
	return nil
}

// unsuppressMaxWhy bounds the reason given for removing a suppression.
const unsuppressMaxWhy = 2000

// RemoveSuppression takes an address of the workspace off the suppression
// list, so that sequences may email it again, and records it: who (actor),
// when, why (required: taking back a bounce, a complaint or an unsubscribe
// is a decision someone must own), and what the suppression was. The live
// lead with the address, if any, gets an audit entry. An address that is
// not suppressed is store.ErrNotFound.
//
// Enrollments the suppression exited stay exited: the lead is enrolled
// again as any lead is (a form, by hand). Soft bounces from before the
// removal no longer count towards suppressing it again.
func (e *Engine) RemoveSuppression(ctx context.Context, workspaceID uuid.UUID, email, why, actor string) (store.SuppressionRemoval, error) {
	why = strings.TrimSpace(why)
	bad := map[string]string{}
	canonical, err := e.canonicalEmail(email)
	if err != nil {
		bad["email"] = "is not a valid email address"
	}
	switch {
	case why == "":
		bad["reason"] = "is required: say why the address may be emailed again"
	case len(why) > unsuppressMaxWhy:
		bad["reason"] = fmt.Sprintf("must be at most %d characters", unsuppressMaxWhy)
	}
	if len(bad) > 0 {
		return store.SuppressionRemoval{}, &ValidationError{Fields: bad}
	}
	var r store.SuppressionRemoval
	err = e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		// A bounce being recorded for the address meanwhile takes turns
		// with the removal, as two bounces do.
		if err := q.LockIdentities(ctx, workspaceID, "bounces:"+canonical); err != nil {
			return err
		}
		var err error
		if r, err = q.RemoveSuppression(ctx, workspaceID, canonical, actor, why, e.now()); err != nil {
			return err
		}
		lead, err := e.bouncedLead(ctx, q, workspaceID, canonical, nil)
		if err != nil || lead == nil {
			return err
		}
		return q.InsertAuditEntries(ctx, workspaceID, store.AuditEntry{
			LeadID: lead.ID, At: r.RemovedAt, Actor: actor, Action: store.AuditSuppressionRemoved,
			Field: "suppression", OldValue: r.Reason, NewValue: "removed: " + why,
			Detail: map[string]any{"email": canonical, "removal_id": r.ID, "reason": why,
				"suppressed_at": r.SuppressedAt},
		})
	})
	if err != nil {
		return store.SuppressionRemoval{}, fmt.Errorf("remove suppression: %w", err)
	}
	e.log.InfoContext(ctx, "suppression removed", "workspace_id", workspaceID, "removal_id", r.ID,
		"reason", r.Reason, "actor", actor)
	return r, nil
}
