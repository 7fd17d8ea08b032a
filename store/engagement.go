package store

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Engagement event kinds recorded by capture.
const (
	EngagementFormSubmitted   = "form_submitted"
	EngagementEventRegistered = "event_registered"
)

// EngagementEvent is something a lead did; scoring reads these.
type EngagementEvent struct {
	ID          uuid.UUID      `db:"id"`
	WorkspaceID uuid.UUID      `db:"workspace_id"`
	LeadID      uuid.UUID      `db:"lead_id"`
	Kind        string         `db:"kind"`
	SourceID    uuid.UUID      `db:"source_id"`
	OccurredAt  time.Time      `db:"occurred_at"`
	Detail      map[string]any `db:"detail"`
}

// InsertEngagementEvent records an engagement event once: the same kind from
// the same source for the same lead is a no-op. It reports whether a row was
// added.
func (q *Queries) InsertEngagementEvent(ctx context.Context, e EngagementEvent) (bool, error) {
	if e.ID == uuid.Nil {
		e.ID = NewID()
	}
	detail := e.Detail
	if detail == nil {
		detail = map[string]any{}
	}
	tag, err := q.db.Exec(ctx, `
		INSERT INTO engagement_events (id, workspace_id, lead_id, kind, source_id, occurred_at, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (lead_id, kind, source_id) DO NOTHING`,
		e.ID, e.WorkspaceID, e.LeadID, e.Kind, e.SourceID, timeOrNow(e.OccurredAt), detail)
	return tag.RowsAffected() == 1, interpret(err, "insert engagement event")
}

// MoveEngagementEvents carries one lead's engagement over to another in a
// merge; an event the survivor already has from the same source is dropped.
func (q *Queries) MoveEngagementEvents(ctx context.Context, workspaceID, fromLeadID, toLeadID uuid.UUID) (int64, error) {
	if _, err := q.db.Exec(ctx, `
		DELETE FROM engagement_events e
		WHERE e.workspace_id = $1 AND e.lead_id = $2
		  AND EXISTS (SELECT 1 FROM engagement_events k
		      WHERE k.lead_id = $3 AND k.kind = e.kind AND k.source_id = e.source_id)`,
		workspaceID, fromLeadID, toLeadID); err != nil {
		return 0, interpret(err, "drop duplicate engagement events")
	}
	tag, err := q.db.Exec(ctx, `UPDATE engagement_events SET lead_id = $3 WHERE workspace_id = $1 AND lead_id = $2`,
		workspaceID, fromLeadID, toLeadID)
	return tag.RowsAffected(), interpret(err, "move engagement events")
}
