package qualify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"leadflow/store"
)

// Worker is who decides on sales work (a handoff, an opportunity): the role
// of the API key or console session, and the user it acts as (uuid.Nil for
// a key acting as nobody).
type Worker struct {
	Role   store.Role
	UserID uuid.UUID
}

// ForbiddenError is work the worker may not act on; Reason says why, for
// the person to read. The API answers it 403, as the console does.
type ForbiddenError struct{ Reason string }

func (e *ForbiddenError) Error() string { return "forbidden: " + e.Reason }

// workerUser is the user a worker acts as; none is store.ErrNotFound.
func (e *Engine) workerUser(ctx context.Context, workspaceID uuid.UUID, w Worker) (store.User, error) {
	if w.UserID == uuid.Nil {
		return store.User{}, fmt.Errorf("acting user: %w", store.ErrNotFound)
	}
	return e.cfg.Store.GetUser(ctx, workspaceID, w.UserID)
}

// MayWork checks that w may decide on work held by owner in team. An admin,
// or a sales_admin, may act on everything; a sales_manager on their own work
// and on the work of the teams they manage (the team given, or the team the
// owner is a member of); anyone else (a sales_rep) on their own work only.
// A sales key acting as no user decides nothing: it reads. A refusal is a
// *ForbiddenError.
func (e *Engine) MayWork(ctx context.Context, workspaceID uuid.UUID, w Worker, owner, team *uuid.UUID) error {
	if w.Role == store.RoleAdmin {
		return nil
	}
	u, err := e.workerUser(ctx, workspaceID, w)
	if errors.Is(err, store.ErrNotFound) {
		return &ForbiddenError{"this key acts as no user: create a key with --user to decide on handoffs and opportunities"}
	}
	if err != nil {
		return err
	}
	if u.Role == store.UserSalesAdmin || (owner != nil && *owner == u.ID) {
		return nil
	}
	if u.Role == store.UserSalesManager {
		ok, err := e.cfg.Store.ManagesWork(ctx, workspaceID, u.ID, owner, team)
		if err != nil || ok {
			return err
		}
		return &ForbiddenError{"this belongs to a rep outside the teams you manage"}
	}
	return &ForbiddenError{"this belongs to another owner"}
}

// MayWorkOpportunity is MayWork for an opportunity: its owner's, or the
// team's of the handoff it came from.
func (e *Engine) MayWorkOpportunity(ctx context.Context, workspaceID uuid.UUID, w Worker, o store.Opportunity) error {
	var team *uuid.UUID
	if o.HandoffID != nil {
		h, err := e.cfg.Store.GetHandoff(ctx, workspaceID, *o.HandoffID)
		if err != nil {
			return err
		}
		team = h.TeamID
	}
	return e.MayWork(ctx, workspaceID, w, o.OwnerID, team)
}

// IsSalesAdmin tells whether w may decide the forecast: an admin, or a
// sales key or person acting as a sales_admin user.
func (e *Engine) IsSalesAdmin(ctx context.Context, workspaceID uuid.UUID, w Worker) (bool, error) {
	if w.Role == store.RoleAdmin {
		return true, nil
	}
	if w.Role != store.RoleSales {
		return false, nil
	}
	u, err := e.workerUser(ctx, workspaceID, w)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return u.Role == store.UserSalesAdmin, nil
}

// maxReassignTargets bounds the people a handoff can be reassigned to in one
// list.
const maxReassignTargets = 200

// ReassignTargets lists whom w may reassign handoffs to: the members of the
// teams a manager manages, every team's members for a sales admin or an
// admin, nobody for a rep.
func (e *Engine) ReassignTargets(ctx context.Context, workspaceID uuid.UUID, w Worker) ([]store.User, error) {
	manager, ok, err := e.reassigner(ctx, workspaceID, w)
	if err != nil || !ok {
		return nil, err
	}
	return e.cfg.Store.ManagedMembers(ctx, workspaceID, manager, maxReassignTargets)
}

// reassigner says whether w may reassign, and within whose teams (nil:
// every team).
func (e *Engine) reassigner(ctx context.Context, workspaceID uuid.UUID, w Worker) (*uuid.UUID, bool, error) {
	if w.Role == store.RoleAdmin {
		return nil, true, nil
	}
	u, err := e.workerUser(ctx, workspaceID, w)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	switch u.Role {
	case store.UserSalesAdmin:
		return nil, true, nil
	case store.UserSalesManager:
		return &u.ID, true, nil
	}
	return nil, false, nil
}

// Reassign gives an open handoff to another member of the teams w manages,
// with a fresh SLA deadline: the handoff's history records who did it, the
// lead follows its new owner, the new owner is emailed, and webhooks hear
// handoff.reassigned. It tells whether anything changed: a handoff that is
// the new owner's already is left as it is, so a repeated request does
// nothing more.
//
// A handoff w may not read is store.ErrNotFound (ReadHandoff). A rep may
// not reassign (*ForbiddenError). A target who is unknown, deactivated,
// unavailable or outside the teams w manages is a *ValidationError on
// "owner_id"; a handoff already decided is one on "status".
func (e *Engine) Reassign(ctx context.Context, workspaceID, handoffID uuid.UUID, w Worker, actor string, to uuid.UUID) (store.Handoff, bool, error) {
	cur, err := e.WorkHandoff(ctx, workspaceID, w, handoffID)
	if err != nil {
		return store.Handoff{}, false, err
	}
	manager, ok, err := e.reassigner(ctx, workspaceID, w)
	if err != nil {
		return store.Handoff{}, false, err
	}
	if !ok {
		return store.Handoff{}, false, &ForbiddenError{"only a team's manager or a sales admin reassigns handoffs"}
	}
	if cur.OwnerID != nil && *cur.OwnerID == to {
		return cur, false, nil
	}
	if cur.Status != store.HandoffOpen {
		return store.Handoff{}, false, closedHandoff(cur.Status)
	}
	if err := e.checkReassignTarget(ctx, workspaceID, manager, to); err != nil {
		return store.Handoff{}, false, err
	}
	now := e.now()
	var h store.Handoff
	changed := true
	err = e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		lead, err := q.LockLead(ctx, workspaceID, cur.LeadID)
		if err != nil {
			return err
		}
		h, _, err = lockOpenHandoff(ctx, q, workspaceID, handoffID, nil)
		if de, ok := errors.AsType[*decidedError](err); ok {
			return closedHandoff(de.status)
		}
		if err != nil {
			return err
		}
		if h.OwnerID != nil && *h.OwnerID == to {
			changed = false
			return nil
		}
		// The reassignment was allowed for the handoff's owner and team as
		// they were.
		if !sameID(h.OwnerID, cur.OwnerID) || !sameID(h.TeamID, cur.TeamID) {
			return &reassignedError{}
		}
		settings, err := q.GetAssignmentSettings(ctx, workspaceID)
		if err != nil {
			return err
		}
		old := h.OwnerID
		sla := time.Duration(settings.SLASeconds) * time.Second
		if h, err = q.ReassignHandoff(ctx, workspaceID, h.ID, &to, h.TeamID, now.Add(sla)); err != nil {
			return err
		}
		detail := map[string]any{"via": viaManager, "from_owner_id": old, "reassignments": h.Reassignments}
		if err := q.RecordHandoffDecisionEvent(ctx, h.ID, store.HandoffEventReassigned, h.OwnerID, actor, detail, now); err != nil {
			return err
		}
		if lead, err = e.giveLead(ctx, q, lead, h.OwnerID, actor, now); err != nil {
			return err
		}
		users, err := ownerUsers(ctx, q, workspaceID, old, h.OwnerID)
		if err != nil {
			return err
		}
		newOwner, oldOwner := userRef(users, h.OwnerID), userRef(users, old)
		if newOwner != nil {
			if err := e.queueNotice(ctx, q, notice{kind: noticeReassignedByManager, to: *newOwner, handoff: h, lead: lead}, now); err != nil {
				return err
			}
		}
		payload := handoffPayload(EventHandoffReassigned, now, h, lead, newOwner, map[string]any{
			"previous_owner": oldOwner, "escalated": false,
		})
		key := fmt.Sprintf("%s:%s:%d", EventHandoffReassigned, h.ID, h.Reassignments)
		_, err = q.QueueWebhookEvent(ctx, workspaceID, EventHandoffReassigned, key, payload, now)
		return err
	})
	if err != nil {
		return store.Handoff{}, false, fmt.Errorf("reassign handoff: %w", err)
	}
	if changed {
		e.log.Info("handoff_reassigned", "handoff_id", h.ID, "lead_id", h.LeadID, "owner_id", idString(h.OwnerID),
			"reassignments", h.Reassignments, "by", actor)
	}
	return h, changed, nil
}

// checkReassignTarget checks that a handoff may be given to the user: one
// of the workspace, active, available, and a member of a team the manager
// manages (of any team when manager is nil), as ReassignTargets lists them.
func (e *Engine) checkReassignTarget(ctx context.Context, workspaceID uuid.UUID, manager *uuid.UUID, to uuid.UUID) error {
	u, err := e.cfg.Store.GetReassignTarget(ctx, workspaceID, manager, to)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return invalid("owner_id", "there is no such person in this workspace")
	case err != nil:
		return err
	case !u.Active:
		return invalid("owner_id", u.Name+" is deactivated: choose someone who works here")
	case !u.Available:
		return invalid("owner_id", u.Name+" is not available for new work: choose someone else, or make them available first")
	case !u.Member && manager != nil:
		return invalid("owner_id", u.Name+" is not a member of a team you manage")
	case !u.Member:
		return invalid("owner_id", u.Name+" is a member of no team")
	}
	return nil
}

// closedHandoff refuses to reassign a decided handoff.
func closedHandoff(status string) *ValidationError {
	return invalid("status", "the handoff is already "+status+": only an open handoff is reassigned")
}

// AcceptPreview is what accepting a handoff would do with its lead: the
// account and contact it matches (nil ID: a new one is made with the name
// shown), and the opportunity's defaults.
type AcceptPreview struct {
	Account     store.Account
	Contact     store.Contact
	Opportunity store.Opportunity
}

// PreviewAccept reads what Accept would match or make for the handoff's lead,
// changing nothing: the lead's own contact, else the contact with its email,
// else a new one; the contact's account, else the one of the email's company
// domain, else the one of the company name, else a new one.
func (e *Engine) PreviewAccept(ctx context.Context, workspaceID uuid.UUID, h store.Handoff) (AcceptPreview, error) {
	st := e.cfg.Store
	lead, err := st.GetLead(ctx, workspaceID, h.LeadID)
	if err != nil {
		return AcceptPreview{}, err
	}
	var p AcceptPreview
	var contact *store.Contact
	switch {
	case lead.ContactID != nil:
		c, err := st.GetContact(ctx, workspaceID, *lead.ContactID)
		if err != nil {
			return AcceptPreview{}, err
		}
		contact = &c
	case lead.EmailCanonical != "":
		c, err := st.MatchContactByEmail(ctx, workspaceID, lead.EmailCanonical)
		if err == nil {
			contact = &c
		} else if !errors.Is(err, store.ErrNotFound) {
			return AcceptPreview{}, err
		}
	}
	if contact != nil {
		p.Contact = *contact
	} else {
		p.Contact = store.Contact{FirstName: lead.FirstName, LastName: lead.LastName, Email: lead.Email, Company: lead.Company}
	}
	found := false
	if contact != nil && contact.AccountID != nil {
		if p.Account, err = st.GetAccount(ctx, workspaceID, *contact.AccountID); err != nil {
			return AcceptPreview{}, err
		}
		found = true
	}
	domain, company := companyDomain(lead.Email), strings.TrimSpace(lead.Company)
	if !found && domain != "" {
		a, err := st.AccountByDomain(ctx, workspaceID, domain)
		if err == nil {
			p.Account, found = a, true
		} else if !errors.Is(err, store.ErrNotFound) {
			return AcceptPreview{}, err
		}
	}
	if !found && company != "" {
		a, err := st.AccountByName(ctx, workspaceID, company)
		if err == nil {
			p.Account, found = a, true
		} else if !errors.Is(err, store.ErrNotFound) {
			return AcceptPreview{}, err
		}
	}
	if !found {
		p.Account = store.Account{Name: cmpOr(company, domain, strings.TrimSpace(lead.FirstName+" "+lead.LastName), lead.Email, "Unnamed account"), Domain: domain}
	}
	name := cmpOr(lead.Company, p.Account.Name)
	if lead.PrimaryInterest != "" {
		name += " - " + lead.PrimaryInterest
	}
	closeDate := e.now().UTC().Add(defaultCloseAfter).Format(time.DateOnly)
	p.Opportunity = store.Opportunity{Name: name, Amount: "0", Stage: store.StageQualification,
		Probability: defaultProbability, ExpectedCloseDate: &closeDate, OwnerID: h.OwnerID}
	return p, nil
}

// Stages are an opportunity's stages, in order.
func Stages() []string { return append([]string(nil), stages...) }

// ScoreExplanation is why a lead has its score and grade, as the scoring
// rules compute them: the engagement events that give points (each
// decayed by its age) and the fit rules the lead matches.
type ScoreExplanation struct {
	Score, Grade string
	Events       []ScoredEvent
	Fit          []FitRule
	FitPoints    int
	HalfLife     string
}

// ScoredEvent is one engagement event's part of a score.
type ScoredEvent struct {
	Kind       string
	OccurredAt time.Time
	Points     int
	// Now is what the points are worth today, after decay.
	Now float64
}

// maxExplainedEvents bounds the events an explanation lists (newest kept).
const maxExplainedEvents = 50

// ExplainScore says why the lead has its score and grade, by the
// workspace's current scoring rules.
func (e *Engine) ExplainScore(ctx context.Context, workspaceID uuid.UUID, l store.Lead) (ScoreExplanation, error) {
	r, err := e.cfg.Store.ScoringRulesOf(ctx, workspaceID)
	if err != nil {
		return ScoreExplanation{}, err
	}
	rules, err := rulesFrom(r)
	if err != nil {
		return ScoreExplanation{}, err
	}
	events, err := e.cfg.Store.ScoringEvents(ctx, workspaceID, l.ID)
	if err != nil {
		return ScoreExplanation{}, err
	}
	out := ScoreExplanation{Score: fmt.Sprint(l.Score), Grade: l.Grade, HalfLife: formatHalfLife(r.HalfLifeSeconds)}
	now := e.now()
	for i := len(events) - 1; i >= 0 && len(out.Events) < maxExplainedEvents; i-- {
		ev := events[i]
		p := rules.Points[ev.Kind]
		if p == 0 {
			continue
		}
		worth := float64(engagementScore([]store.EngagementEvent{{Kind: ev.Kind, OccurredAt: ev.OccurredAt}}, rules, now))
		out.Events = append(out.Events, ScoredEvent{Kind: ev.Kind, OccurredAt: ev.OccurredAt, Points: p, Now: worth})
	}
	for _, fr := range rules.FitRules {
		if fr.matches(l) {
			out.Fit = append(out.Fit, fr)
			out.FitPoints += fr.Points
		}
	}
	return out, nil
}
