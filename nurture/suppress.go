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
