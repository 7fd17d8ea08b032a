package store

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Kinds of TimelineItem.
const (
	TimelineResponse     = "response"
	TimelineEmailSent    = "email_sent"
	TimelineEmailOpened  = "email_opened"
	TimelineEmailClicked = "email_clicked"
	TimelineStatus       = "status"
	TimelineScore        = "score"
	TimelineAudit        = "audit"
	TimelineHandoff      = "handoff"
	TimelineDecision     = "decision"
)

// TimelineItem is one thing that happened to a lead, as the console's lead
// and handoff pages list them: a response, an email sent, opened or
// clicked, a status change, a change of its score or grade, an audit
// entry, a handoff's event, a qualification decision.
type TimelineItem struct {
	At   time.Time `db:"at"`
	Kind string    `db:"kind"`
	// Title and Detail say what happened in the kind's own terms: a
	// response's form and status, an email's subject and address, a status
	// change's new and old status, a score change's old and new score
	// ("35 → 50", or "50" when only the grade moved) and grade ("B", or
	// "C → B" when it moved), an audit entry's action and field, a handoff
	// event's action and reason, a decision's outcome and reason.
	Title  string `db:"title"`
	Detail string `db:"detail"`
	// Actor is who or what did it: a person's name, else as recorded
	// ("worker:qualify", "api_key:<id>"); for a score change, what moved
	// it ("email clicked", "decay", "recompute").
	Actor string     `db:"actor"`
	RefID *uuid.UUID `db:"ref_id"`
}

// statusTwinWindow is how far apart a status change's history row (stamped
// by the database's clock) and its audit entry (stamped by the process's,
// in the same transaction) may be and still be one change.
const statusTwinWindow = "5 seconds"

// LeadTimeline returns the latest limit things that happened to a lead,
// newest first. Each source is bounded on its own index before the merge,
// so a lead with a long history costs limit rows per source. A status
// change shows once: its audit entry, which says who made it, stands for
// the history row of the same change; history rows without one (the
// lead's creation) show on their own. Actors who are people of the
// workspace are shown by name.
func (q *Queries) LeadTimeline(ctx context.Context, workspaceID, leadID uuid.UUID, limit int) ([]TimelineItem, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT t.at, t.kind, t.title, t.detail, coalesce(u.name, t.actor) AS actor, t.ref_id FROM (
			(SELECT r.received_at AS at, 'response' AS kind, coalesce(nullif(f.name, ''), f.key, '') AS title,
			        r.status || ' · ' || r.verdict AS detail, '' AS actor, r.id AS ref_id
			 FROM responses r LEFT JOIN forms f ON f.id = r.form_id
			 WHERE r.workspace_id = $1 AND r.lead_id = $2 ORDER BY r.received_at DESC LIMIT $3)
			UNION ALL
			(SELECT m.sent_at, 'email_sent', m.subject, m.to_email, '', m.id
			 FROM messages m WHERE m.workspace_id = $1 AND m.lead_id = $2 AND m.sent_at IS NOT NULL
			 ORDER BY m.created_at DESC LIMIT $3)
			UNION ALL
			(SELECT m.opened_at, 'email_opened', m.subject, m.to_email, '', m.id
			 FROM messages m WHERE m.workspace_id = $1 AND m.lead_id = $2 AND m.opened_at IS NOT NULL
			 ORDER BY m.created_at DESC LIMIT $3)
			UNION ALL
			(SELECT m.clicked_at, 'email_clicked', m.subject, m.to_email, '', m.id
			 FROM messages m WHERE m.workspace_id = $1 AND m.lead_id = $2 AND m.clicked_at IS NOT NULL
			 ORDER BY m.created_at DESC LIMIT $3)
			UNION ALL
			(SELECT h.at, 'status', h.to_status, h.from_status, '', NULL::uuid
			 FROM lead_status_history h WHERE h.workspace_id = $1 AND h.lead_id = $2
			   AND NOT EXISTS (SELECT 1 FROM lead_audit a
			     WHERE a.lead_id = $2 AND a.workspace_id = $1 AND a.action = 'status_changed'
			       AND a.new_value = h.to_status
			       AND a.at BETWEEN h.at - interval '`+statusTwinWindow+`' AND h.at + interval '`+statusTwinWindow+`')
			 ORDER BY h.at DESC LIMIT $3)
			UNION ALL
			(SELECT s.at, 'score',
			        CASE WHEN s.old_score IS NULL OR s.old_score = s.score THEN s.score::text ELSE s.old_score || ' → ' || s.score END,
			        CASE WHEN s.old_grade <> '' AND s.old_grade <> s.grade
			             THEN s.old_grade || ' → ' || coalesce(nullif(s.grade, ''), 'none') ELSE s.grade END,
			        CASE s.cause WHEN 'engagement' THEN coalesce(nullif(replace(s.event_kind, '_', ' '), ''), 'engagement')
			             WHEN 'fit' THEN 'fit changed' WHEN 'rules' THEN 'scoring rules changed'
			             ELSE s.cause END,
			        NULL::uuid
			 FROM lead_score_history s WHERE s.workspace_id = $1 AND s.lead_id = $2
			 ORDER BY s.at DESC, s.id DESC LIMIT $3)
			UNION ALL
			(SELECT a.at, 'audit', a.action,
			        CASE WHEN a.field = '' THEN '' ELSE a.field || ': ' || a.old_value || ' → ' || a.new_value END,
			        a.actor, a.response_id
			 FROM lead_audit a WHERE a.workspace_id = $1 AND a.lead_id = $2
			 ORDER BY a.id DESC LIMIT $3)
			UNION ALL
			(SELECT e.at, 'handoff', e.action, coalesce(e.detail->>'reason', ''), e.actor, h.id
			 FROM handoff_events e JOIN handoffs h ON h.id = e.handoff_id
			 WHERE h.workspace_id = $1 AND h.lead_id = $2 ORDER BY e.at DESC LIMIT $3)
			UNION ALL
			(SELECT d.created_at, 'decision', d.outcome, d.reason, d.actor, NULL::uuid
			 FROM qualification_decisions d WHERE d.workspace_id = $1 AND d.lead_id = $2
			 ORDER BY d.created_at DESC LIMIT $3)
		) t
		LEFT JOIN users u ON u.workspace_id = $1 AND u.id = CASE
			WHEN t.actor ~ '^user:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN substr(t.actor, 6)::uuid END
		ORDER BY t.at DESC LIMIT $3`,
		workspaceID, leadID, max(limit, 1))
	items, err := pgx.CollectRows(rows, pgx.RowToStructByName[TimelineItem])
	return items, interpret(err, "lead timeline")
}

// DuplicatePair is a possible duplicate seen from one lead: the other lead
// (or contact) it was flagged against, and why.
type DuplicatePair struct {
	ID             uuid.UUID  `db:"id"`
	OtherLeadID    *uuid.UUID `db:"other_lead_id"`
	MatchContactID *uuid.UUID `db:"match_contact_id"`
	Similarity     float32    `db:"similarity"`
	Status         string     `db:"status"`
	Reason         string     `db:"reason"`
	CreatedAt      time.Time  `db:"created_at"`
}

// LeadDuplicatePairs returns up to limit possible duplicates a lead takes
// part in, on either side, open ones first, oldest first.
func (q *Queries) LeadDuplicatePairs(ctx context.Context, workspaceID, leadID uuid.UUID, limit int) ([]DuplicatePair, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT id, CASE WHEN lead_id = $2 THEN match_lead_id ELSE lead_id END AS other_lead_id,
		       match_contact_id, similarity, status, reason, created_at
		FROM possible_duplicates
		WHERE workspace_id = $1 AND (lead_id = $2 OR match_lead_id = $2)
		ORDER BY status <> 'open', created_at, id LIMIT $3`,
		workspaceID, leadID, max(limit, 1))
	ps, err := pgx.CollectRows(rows, pgx.RowToStructByName[DuplicatePair])
	return ps, interpret(err, "lead duplicate pairs")
}

// LeadSearch narrows the console's list of leads. Zero fields do not filter.
type LeadSearch struct {
	// Q is a substring of, or trigram-similar to, the name and company, or a
	// substring of the email.
	Q                     string
	Status, Grade, Source string
	OwnerID               uuid.UUID
	MinScore, MaxScore    *int
	Page
}

// SearchLeads pages through the workspace's live leads, newest first.
func (q *Queries) SearchLeads(ctx context.Context, workspaceID uuid.UUID, f LeadSearch) ([]Lead, error) {
	w := newListQuery(workspaceID)
	w.add("merged_into IS NULL")
	if f.Q != "" {
		needle := strings.ToLower(f.Q)
		w.add("(fuzzy_key LIKE ? OR lower(email) LIKE ? OR ? <% fuzzy_key)",
			likePattern(needle), likePattern(needle), needle)
	}
	if f.Status != "" {
		w.add("status = ?", f.Status)
	}
	if f.Grade != "" {
		w.add("grade = ?", f.Grade)
	}
	if f.Source != "" {
		w.add("lead_source = ?", f.Source)
	}
	if f.OwnerID != uuid.Nil {
		w.add("owner_id = ?", f.OwnerID)
	}
	if f.MinScore != nil {
		w.add("score >= ?", *f.MinScore)
	}
	if f.MaxScore != nil {
		w.add("score <= ?", *f.MaxScore)
	}
	rows, _ := q.db.Query(ctx, `SELECT `+leadColumns+` FROM leads`+w.page(f.Page), w.args...)
	ls, err := pgx.CollectRows(rows, pgx.RowToStructByName[Lead])
	return ls, interpret(err, "search leads")
}

// IntakeByForm is one form's responses since a moment. Leads counts the
// responses that made a new lead (created, or linked to a known contact);
// one merged into an existing lead is not a new lead.
type IntakeByForm struct {
	// FormID is nil for the responses of another channel than web, which
	// are counted by Channel.
	FormID   uuid.UUID `db:"form_id"`
	Channel  string    `db:"channel"`
	FormName string    `db:"form_name"`
	Total    int       `db:"total"`
	Leads    int       `db:"leads"`
	Spam     int       `db:"spam"`
	Failed   int       `db:"failed"`
}

// IntakeSince counts the workspace's responses received since since, by
// form, busiest first (at most limit forms).
func (q *Queries) IntakeSince(ctx context.Context, workspaceID uuid.UUID, since time.Time, limit int) ([]IntakeByForm, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT r.form_id, r.channel, coalesce(nullif(f.name, ''), f.key, '') AS form_name, count(*)::int AS total,
		       (count(*) FILTER (WHERE r.outcome IN ('created', 'linked_contact')))::int AS leads,
		       (count(*) FILTER (WHERE r.verdict = 'spam'))::int AS spam,
		       (count(*) FILTER (WHERE r.status = 'failed'))::int AS failed
		FROM responses r LEFT JOIN forms f ON f.id = r.form_id
		WHERE r.workspace_id = $1 AND r.received_at >= $2
		GROUP BY r.form_id, r.channel, f.name, f.key ORDER BY total DESC, r.form_id, r.channel LIMIT $3`,
		workspaceID, since, max(limit, 1))
	is, err := pgx.CollectRows(rows, pgx.RowToStructByName[IntakeByForm])
	return is, interpret(err, "intake since")
}

// ContactLeads returns up to limit live leads linked to a contact, newest
// first.
func (q *Queries) ContactLeads(ctx context.Context, workspaceID, contactID uuid.UUID, limit int) ([]Lead, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+leadColumns+` FROM leads
		WHERE workspace_id = $1 AND contact_id = $2 AND merged_into IS NULL ORDER BY id DESC LIMIT $3`,
		workspaceID, contactID, max(limit, 1))
	ls, err := pgx.CollectRows(rows, pgx.RowToStructByName[Lead])
	return ls, interpret(err, "contact leads")
}

// EventAttendee is a lead registered for an event, or on its waitlist.
type EventAttendee struct {
	LeadID    uuid.UUID `db:"lead_id"`
	FirstName string    `db:"first_name"`
	LastName  string    `db:"last_name"`
	Email     string    `db:"email"`
	Company   string    `db:"company"`
	Status    string    `db:"status"`
	CreatedAt time.Time `db:"created_at"`
}

// EventAttendees returns up to limit of an event's registrations with the
// given status, in the order they came (a waitlist's order is its queue).
func (q *Queries) EventAttendees(ctx context.Context, workspaceID, eventID uuid.UUID, status string, limit int) ([]EventAttendee, error) {
	rows, _ := q.db.Query(ctx, `
		SELECT r.lead_id, l.first_name, l.last_name, l.email, l.company, r.status, r.created_at
		FROM event_registrations r JOIN leads l ON l.workspace_id = r.workspace_id AND l.id = r.lead_id
		WHERE r.workspace_id = $1 AND r.event_id = $2 AND r.status = $3
		ORDER BY r.created_at, r.id LIMIT $4`,
		workspaceID, eventID, status, max(limit, 1))
	as, err := pgx.CollectRows(rows, pgx.RowToStructByName[EventAttendee])
	return as, interpret(err, "event attendees")
}
