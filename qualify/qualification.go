package qualify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"leadflow/store"
)

// criteriaEligible are the statuses from which the criteria qualify a lead:
// a lead already qualified, accepted, converted or disqualified is left to
// people.
var criteriaEligible = []string{store.LeadNew, store.LeadNurturing, store.LeadContacted, store.LeadRecycled}

// Sales call bounds.
const (
	maxCallText   = 1000
	maxBANTLength = 500
)

// leadEngagementKinds are the events that are the lead's own doing: what
// counts as new engagement after sales rejected a lead. An email sent to it,
// a bounce or an unsubscribe is not.
var leadEngagementKinds = []string{
	store.EngagementFormSubmitted, store.EngagementEventRegistered, store.EngagementEventAttended, store.EngagementEmailOpened,
	store.EngagementEmailClicked, "page_viewed",
}

// rejectionHold says why a lead sales rejected may not be qualified by the
// criteria yet ("" when it may): sales' decision stands until the
// workspace's cooldown has passed since the rejection and the lead has
// engaged again since. A qualification call is sales' own new decision and
// is not held. events are the lead's engagement events.
func rejectionHold(ctx context.Context, q *store.Queries, l store.Lead, events []store.EngagementEvent, now time.Time) (string, error) {
	rejected, err := q.LastRejection(ctx, l.WorkspaceID, l.ID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	settings, err := q.GetAssignmentSettings(ctx, l.WorkspaceID)
	if err != nil {
		return "", err
	}
	until := rejected.Add(time.Duration(settings.RequalifyCooldownSeconds) * time.Second)
	if now.Before(until) {
		return "sales rejected the lead; the criteria may qualify it again from " + until.UTC().Format(time.RFC3339), nil
	}
	engaged := slices.ContainsFunc(events, func(ev store.EngagementEvent) bool {
		return ev.OccurredAt.After(rejected) && slices.Contains(leadEngagementKinds, ev.Kind)
	})
	if !engaged {
		return "sales rejected the lead; it has not engaged since " + rejected.UTC().Format(time.RFC3339), nil
	}
	return "", nil
}

// qualifyByCriteria qualifies a locked lead that meets the active criteria:
// it records the decision with the values the criteria read, moves the lead
// to marketing_qualified and hands it off, all in q's transaction. A lead
// that does not qualify records nothing, so rescoring never piles up
// decisions. A lead sales rejected waits (see rejectionHold); events are
// the lead's engagement events.
func (e *Engine) qualifyByCriteria(ctx context.Context, q *store.Queries, l store.Lead, events []store.EngagementEvent, c *compiledCriteria, now time.Time) (store.Lead, error) {
	if l.MergedInto != nil || !slices.Contains(criteriaEligible, l.Status) || strings.TrimSpace(l.PrimaryInterest) == "" {
		return l, nil
	}
	ok, vals, err := c.evaluate(l)
	if err != nil {
		// A runtime fault (an index out of range, a blown budget) is the
		// expression's, not the lead's: the caller takes the version out
		// of service.
		return l, &criteriaFailure{criteria: c.criteria, leadID: l.ID, err: err}
	}
	if !ok {
		return l, nil
	}
	open, err := q.LeadHasOpenHandoff(ctx, l.WorkspaceID, l.ID)
	if err != nil || open {
		return l, err
	}
	if hold, err := rejectionHold(ctx, q, l, events, now); err != nil || hold != "" {
		return l, err
	}
	id, version := c.criteria.ID, c.criteria.Version
	d := store.QualificationDecision{
		WorkspaceID: l.WorkspaceID, LeadID: l.ID, CriteriaID: &id, CriteriaVersion: &version,
		Outcome: store.DecisionQualified, Values: vals, Actor: WorkerActor, CreatedAt: now,
	}
	l, _, _, err = e.qualify(ctx, q, l, d, now)
	if err == nil {
		e.log.Info("lead_qualified", "lead_id", l.ID, "workspace_id", l.WorkspaceID, "criteria_id", id, "criteria_version", version)
	}
	return l, err
}

// qualify records a qualifying decision (the criteria's or a sales call's),
// moves the locked lead to marketing_qualified, audits the move and hands
// the lead off, in q's transaction.
func (e *Engine) qualify(ctx context.Context, q *store.Queries, l store.Lead, d store.QualificationDecision, now time.Time) (store.Lead, store.QualificationDecision, store.Handoff, error) {
	d, err := q.InsertQualificationDecision(ctx, d)
	if err != nil {
		return l, d, store.Handoff{}, err
	}
	moved, err := e.moveStatus(ctx, q, l, store.LeadMarketingQualified, "", d, now)
	if err != nil {
		return l, d, store.Handoff{}, err
	}
	h, err := e.handOff(ctx, q, moved, d)
	if err != nil {
		return l, d, store.Handoff{}, fmt.Errorf("hand off lead: %w", err)
	}
	return moved, d, h, nil
}

// moveStatus sets a lead's status (and the reason for it), auditing a
// change with the decision that made it.
func (e *Engine) moveStatus(ctx context.Context, q *store.Queries, l store.Lead, status, reason string, d store.QualificationDecision, now time.Time) (store.Lead, error) {
	if l.Status == status && l.StatusReason == reason {
		return l, nil
	}
	moved, err := q.MoveLeadToStatus(ctx, l.WorkspaceID, l.ID, status, reason, now)
	if err != nil {
		return l, err
	}
	if l.Status == status {
		return moved, nil
	}
	detail := map[string]any{"decision_id": d.ID, "outcome": d.Outcome}
	if d.CriteriaID != nil {
		detail["criteria_id"], detail["criteria_version"] = *d.CriteriaID, *d.CriteriaVersion
	}
	if reason != "" {
		detail["reason"] = reason
	}
	err = q.InsertAuditEntries(ctx, l.WorkspaceID, store.AuditEntry{
		LeadID: l.ID, At: now, Actor: d.Actor, Action: store.AuditStatusChanged,
		Field: "status", OldValue: l.Status, NewValue: status, Detail: detail,
	})
	return moved, err
}

// Evaluation is what the active criteria make of a lead as it stands (its
// stored score and grade): whether it would qualify, and why not.
type Evaluation struct {
	CriteriaID      *uuid.UUID     `json:"criteria_id"`
	CriteriaVersion *int           `json:"criteria_version"`
	Qualifies       bool           `json:"qualifies"`
	Values          map[string]any `json:"values"`
	// Blocked says what keeps the lead from being qualified by the
	// criteria, whatever they say: its status, a missing primary interest,
	// an open handoff, no active criteria.
	Blocked string `json:"blocked,omitempty"`
}

// Evaluate previews the active criteria on a lead without deciding
// anything.
func (e *Engine) Evaluate(ctx context.Context, workspaceID, leadID uuid.UUID) (Evaluation, error) {
	q := e.cfg.Store.Queries
	l, err := q.GetLead(ctx, workspaceID, leadID)
	if err != nil {
		return Evaluation{}, err
	}
	var ev Evaluation
	c, err := q.ActiveCriteria(ctx, workspaceID)
	if errors.Is(err, store.ErrNotFound) {
		ev.Blocked = "the workspace has no active criteria"
		return ev, nil
	}
	if err != nil {
		return Evaluation{}, err
	}
	ev.CriteriaID, ev.CriteriaVersion = &c.ID, &c.Version
	compiled, err := compileCriteria(c)
	if err != nil {
		return Evaluation{}, fmt.Errorf("compile criteria: %w", err)
	}
	if ev.Qualifies, ev.Values, err = compiled.evaluate(l); err != nil {
		ev.Blocked = err.Error()
		return ev, nil
	}
	open, err := q.LeadHasOpenHandoff(ctx, workspaceID, leadID)
	if err != nil {
		return Evaluation{}, err
	}
	switch {
	case l.MergedInto != nil:
		ev.Blocked = "the lead was merged into another"
	case !slices.Contains(criteriaEligible, l.Status):
		ev.Blocked = "the criteria do not qualify a lead that is " + l.Status
	case strings.TrimSpace(l.PrimaryInterest) == "":
		ev.Blocked = "the lead has no primary purchase interest"
	case open:
		ev.Blocked = "the lead has an open handoff"
	}
	if ev.Blocked == "" {
		events, err := q.ScoringEvents(ctx, workspaceID, leadID)
		if err != nil {
			return Evaluation{}, err
		}
		if ev.Blocked, err = rejectionHold(ctx, q, l, events, e.now()); err != nil {
			return Evaluation{}, err
		}
	}
	return ev, nil
}

// Decisions returns a lead's qualification decisions, oldest first: why it
// was handed over, or closed, or put off.
func (e *Engine) Decisions(ctx context.Context, workspaceID, leadID uuid.UUID) ([]store.QualificationDecision, error) {
	if _, err := e.cfg.Store.GetLead(ctx, workspaceID, leadID); err != nil {
		return nil, err
	}
	return e.cfg.Store.LeadQualificationDecisions(ctx, workspaceID, leadID)
}

// Call outcomes of inside sales' qualification calls.
var callOutcomes = []string{store.DecisionDeadEnd, store.DecisionMaybe, store.DecisionOpportunity}

// Call is what inside sales learnt on a qualification call. Nil fields are
// left as they are on the lead.
type Call struct {
	// Outcome is dead_end (the lead is disqualified, with Reason), maybe
	// (contacted, to be called again at FollowUpAt) or opportunity (qualify
	// now and hand off).
	Outcome    string
	Reason     string
	FollowUpAt *time.Time
	Budget     *string
	Authority  *string
	Need       *string
	Timeline   *string
	// PrimaryInterest sets the lead's primary purchase interest, which a
	// lead must have to qualify.
	PrimaryInterest *string
}

// CallResult is what a qualification call did.
type CallResult struct {
	Decision store.QualificationDecision `json:"decision"`
	Lead     store.Lead                  `json:"lead"`
	// Handoff is the lead's new handoff when the call qualified it.
	Handoff *store.Handoff `json:"handoff"`
	// Opportunity is the one a call on a converted lead made (outcome
	// opportunity): a converted lead is not handed off again.
	Opportunity *store.Opportunity `json:"opportunity"`
}

// validate trims the call and names every fault.
func (c *Call) validate(now time.Time) error {
	bad := map[string]string{}
	c.Outcome, c.Reason = strings.TrimSpace(c.Outcome), strings.TrimSpace(c.Reason)
	switch {
	case c.Outcome == "":
		bad["outcome"] = "is required: one of " + strings.Join(callOutcomes, ", ")
	case !slices.Contains(callOutcomes, c.Outcome):
		bad["outcome"] = "must be one of " + strings.Join(callOutcomes, ", ")
	}
	if len(c.Reason) > maxCallText {
		bad["reason"] = fmt.Sprintf("at most %d characters", maxCallText)
	} else if c.Outcome == store.DecisionDeadEnd && c.Reason == "" {
		bad["reason"] = "is required for a dead end"
	}
	if c.Outcome == store.DecisionMaybe && c.FollowUpAt == nil {
		bad["follow_up_at"] = "is required for maybe"
	} else if c.FollowUpAt != nil && !c.FollowUpAt.After(now) {
		bad["follow_up_at"] = "must be in the future"
	}
	for name, v := range map[string]*string{
		"budget": c.Budget, "authority": c.Authority, "need": c.Need, "timeline": c.Timeline,
		"primary_interest": c.PrimaryInterest,
	} {
		if v == nil {
			continue
		}
		*v = strings.TrimSpace(*v)
		if len(*v) > maxBANTLength {
			bad[name] = fmt.Sprintf("at most %d characters", maxBANTLength)
		}
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	return nil
}

// conflict is an ErrConflict naming what conflicts.
func conflict(field, message string) error {
	return fmt.Errorf("%w: %w", store.ErrConflict, invalid(field, message))
}

// RecordCall records inside sales' qualification call on a lead, by actor:
// the lead's budget, authority, need and timeline, a decision with them,
// and the outcome's status (dead_end -> disqualified with the reason; maybe
// -> contacted until the follow-up date; opportunity -> marketing_qualified
// and handed off). A call on a converted lead is recorded on its contact
// (recordConvertedCall). A merged lead, or one with an open handoff
// (decided by accepting or rejecting it), is ErrConflict.
func (e *Engine) RecordCall(ctx context.Context, workspaceID, leadID uuid.UUID, call Call, actor string) (CallResult, error) {
	now := e.now()
	if err := call.validate(now); err != nil {
		return CallResult{}, err
	}
	var res CallResult
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		l, err := q.LockLead(ctx, workspaceID, leadID)
		if err != nil {
			return err
		}
		switch {
		case l.MergedInto != nil:
			return conflict("lead", "was merged into "+l.MergedInto.String())
		case l.Status == store.LeadConverted:
			res, err = e.recordConvertedCall(ctx, q, l, call, actor, now)
			return err
		}
		open, err := q.LeadHasOpenHandoff(ctx, workspaceID, leadID)
		if err != nil {
			return err
		}
		if open {
			return conflict("lead", "has an open handoff: accept or reject it")
		}
		if l, err = e.recordCallFields(ctx, q, l, call, actor, now); err != nil {
			return err
		}
		if call.Outcome == store.DecisionOpportunity && l.PrimaryInterest == "" {
			return invalid("primary_interest", "the lead has no primary purchase interest: a lead needs one to qualify")
		}

		d := store.QualificationDecision{
			WorkspaceID: workspaceID, LeadID: leadID, Outcome: call.Outcome, Actor: actor,
			Reason: call.Reason, CreatedAt: now,
			Values: map[string]any{
				"budget": l.Budget, "authority": l.Authority, "need": l.Need, "timeline": l.Timeline,
				"primary_interest": l.PrimaryInterest, "score": l.Score, "grade": l.Grade,
			},
		}
		if l.FollowUpAt != nil {
			d.Values["follow_up_at"] = l.FollowUpAt.UTC().Format(time.RFC3339)
		}
		if call.Outcome == store.DecisionOpportunity {
			_, decision, h, err := e.qualify(ctx, q, l, d, now)
			if err != nil {
				return err
			}
			// The handoff gave the lead its owner.
			l, err = q.GetLead(ctx, workspaceID, leadID)
			res = CallResult{Decision: decision, Lead: l, Handoff: &h}
			return err
		}
		if d, err = q.InsertQualificationDecision(ctx, d); err != nil {
			return err
		}
		status := store.LeadContacted
		if call.Outcome == store.DecisionDeadEnd {
			status = store.LeadDisqualified
		}
		moved, err := e.moveStatus(ctx, q, l, status, call.Reason, d, now)
		res = CallResult{Decision: d, Lead: moved}
		return err
	})
	if err != nil {
		return CallResult{}, err
	}
	e.log.Info("qualification_call_recorded", "lead_id", leadID, "workspace_id", workspaceID, "outcome", call.Outcome)
	return res, nil
}

// recordCallFields writes what the call learnt on the lead, auditing every
// value it changes. The follow-up date is the call's (none clears it).
func (e *Engine) recordCallFields(ctx context.Context, q *store.Queries, l store.Lead, call Call, actor string, now time.Time) (store.Lead, error) {
	f := store.LeadQualificationFields{
		Budget: l.Budget, Authority: l.Authority, Need: l.Need, Timeline: l.Timeline,
		PrimaryInterest: l.PrimaryInterest, FollowUpAt: call.FollowUpAt,
	}
	var audit []store.AuditEntry
	set := func(field string, dst *string, v *string) {
		if v == nil || *v == *dst {
			return
		}
		audit = append(audit, store.AuditEntry{
			LeadID: l.ID, At: now, Actor: actor, Action: store.AuditFieldOverwritten,
			Field: field, OldValue: *dst, NewValue: *v,
		})
		*dst = *v
	}
	set("budget", &f.Budget, call.Budget)
	set("authority", &f.Authority, call.Authority)
	set("need", &f.Need, call.Need)
	set("timeline", &f.Timeline, call.Timeline)
	set("primary_interest", &f.PrimaryInterest, call.PrimaryInterest)
	sameFollowUp := (f.FollowUpAt == nil) == (l.FollowUpAt == nil) &&
		(f.FollowUpAt == nil || f.FollowUpAt.Equal(*l.FollowUpAt))
	if len(audit) == 0 && sameFollowUp {
		return l, nil
	}
	out, err := q.SetLeadQualificationFields(ctx, l.WorkspaceID, l.ID, f, now)
	if err != nil {
		return l, err
	}
	return out, q.InsertAuditEntries(ctx, l.WorkspaceID, audit...)
}

// recordConvertedCall records a call on a converted lead: it is a call with
// the contact the lead became, so the decision names the contact and its
// account, and the lead keeps its status (it is not qualified, handed off
// or disqualified again). Outcome opportunity makes one opportunity for the
// contact's account, owned by the lead's owner (else the caller), with the
// decision's id: the lead's own when it has none yet, else one of the
// contact's alone. One call makes one opportunity at most.
func (e *Engine) recordConvertedCall(ctx context.Context, q *store.Queries, l store.Lead, call Call, actor string, now time.Time) (CallResult, error) {
	if l.ContactID == nil {
		return CallResult{}, conflict("lead", "is converted without a contact")
	}
	contact, err := q.LockContact(ctx, l.WorkspaceID, *l.ContactID)
	if err != nil {
		return CallResult{}, err
	}
	if call.Outcome == store.DecisionOpportunity && contact.AccountID == nil {
		return CallResult{}, conflict("lead", "its contact has no account to make an opportunity for")
	}
	if l, err = e.recordCallFields(ctx, q, l, call, actor, now); err != nil {
		return CallResult{}, err
	}
	d := store.QualificationDecision{
		WorkspaceID: l.WorkspaceID, LeadID: l.ID, Outcome: call.Outcome, Actor: actor,
		Reason: call.Reason, CreatedAt: now,
		Values: map[string]any{
			"budget": l.Budget, "authority": l.Authority, "need": l.Need, "timeline": l.Timeline,
			"primary_interest": l.PrimaryInterest, "score": l.Score, "grade": l.Grade,
			"contact_id": contact.ID.String(), "account_id": contact.AccountID,
		},
	}
	if l.FollowUpAt != nil {
		d.Values["follow_up_at"] = l.FollowUpAt.UTC().Format(time.RFC3339)
	}
	var opp *store.Opportunity
	if call.Outcome == store.DecisionOpportunity {
		account, err := q.GetAccount(ctx, l.WorkspaceID, *contact.AccountID)
		if err != nil {
			return CallResult{}, err
		}
		owner := l.OwnerID
		if owner == nil {
			if id, err := uuid.Parse(strings.TrimPrefix(actor, "user:")); err == nil && strings.HasPrefix(actor, "user:") {
				owner = &id
			}
		}
		has, err := q.LeadHasOpportunity(ctx, l.WorkspaceID, l.ID)
		if err != nil {
			return CallResult{}, err
		}
		source := l
		if has {
			// The lead has its opportunity: this one is the contact's.
			source.ID = uuid.Nil
		}
		o, err := e.openOpportunity(ctx, q, nil, owner, source, account, contact, NewOpportunity{}, actor, now)
		if err != nil {
			return CallResult{}, err
		}
		opp = &o
		d.Values["opportunity_id"] = o.ID.String()
	}
	if d, err = q.InsertQualificationDecision(ctx, d); err != nil {
		return CallResult{}, err
	}
	return CallResult{Decision: d, Lead: l, Opportunity: opp}, nil
}
