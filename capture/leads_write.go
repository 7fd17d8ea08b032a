package capture

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nyaruka/phonenumbers"

	"leadflow/store"
)

// LeadSourceReferral is the lead source of a lead someone referred by hand,
// unless the referral names another.
const LeadSourceReferral = "referral"

// leadReasonMaxLen bounds a status change's reason and a consent's text.
const leadReasonMaxLen = 2000

// LeadReferrer resolves a referred person to their lead, as a response is;
// the response processor satisfies it.
type LeadReferrer interface {
	Refer(ctx context.Context, workspaceID uuid.UUID, person store.Lead, origin map[string]any, actor string) (Referral, error)
}

// Unsuppressor takes an address off the suppression list, recording who and
// why; nurture's engine satisfies it.
type Unsuppressor interface {
	RemoveSuppression(ctx context.Context, workspaceID uuid.UUID, email, why, actor string) (store.SuppressionRemoval, error)
}

// Referral is what resolving a referred person did.
type Referral struct {
	Lead store.Lead
	// Result is OutcomeCreated, OutcomeLinkedContact (a lead made for a
	// known contact) or OutcomeMerged (the person's lead existed).
	Result string
	// Filled names the blank fields of an existing lead the referral filled.
	Filled []string
}

// Refer resolves a person someone referred by hand to exactly one lead, by
// the same identity rules as a response and under the same identity locks,
// in one transaction: an existing lead (or contact) is found, never
// duplicated. What a referral says only fills a lead's blanks: it comes
// from someone other than the person, so it never overwrites what the
// person said. origin is kept in the audit trail in place of a form.
func (p *Processor) Refer(ctx context.Context, workspaceID uuid.UUID, person store.Lead, origin map[string]any, actor string) (Referral, error) {
	var out Referral
	run := func() error {
		return p.store.InTx(ctx, func(q *store.Queries) error {
			r := &resolution{
				q:        q,
				now:      p.now(),
				resp:     store.Response{WorkspaceID: workspaceID},
				person:   person,
				actor:    actor,
				origin:   origin,
				fillOnly: true,
			}
			r.person.WorkspaceID = workspaceID
			r.person.Status = store.LeadNew
			if err := r.lockAndMatch(ctx); err != nil {
				return err
			}
			if r.lead != nil && r.join != nil {
				if err := r.joinLeads(ctx); err != nil {
					return err
				}
			}
			var err error
			if r.lead == nil {
				// A new lead's first touch is the referral; an existing
				// lead's attribution stays its own.
				r.person.LeadSource = cmp.Or(r.person.LeadSource, LeadSourceReferral)
				err = r.createLead(ctx, p.fuzzyThreshold)
			} else {
				err = r.mergeResponse(ctx)
			}
			if err != nil {
				return err
			}
			if err := r.flagSharedIdentities(ctx); err != nil {
				return err
			}
			out = Referral{Lead: *r.lead, Result: r.result, Filled: r.filled}
			return nil
		})
	}
	err := run()
	if errors.Is(err, store.ErrConflict) {
		// As in Process: a fresh transaction sees the winner.
		err = run()
	}
	if err != nil {
		return Referral{}, fmt.Errorf("refer lead: %w", err)
	}
	p.logger.InfoContext(ctx, "lead referred", "workspace_id", workspaceID, "lead_id", out.Lead.ID,
		"outcome", out.Result, "actor", actor)
	return out, nil
}

// LeadEdit is a change by hand to a lead's editable fields: a nil field is
// left as it is. Values are normalised as a submission's are.
type LeadEdit struct {
	FirstName, LastName, Email, Phone, Company, Title, City, State, Country,
	LeadSource, Description, PrimaryInterest *string
	// OwnerSet: OwnerID (nil: nobody) replaces the owner.
	OwnerSet bool
	OwnerID  *uuid.UUID
	// Custom sets each named custom field; a nil value removes it.
	Custom map[string]*string
}

// leadChange is one field a person changed.
type leadChange struct {
	field, old, new string
}

// EditLead changes a lead's fields by hand, each changed field an audit
// entry signed by actor with its old and new value; values equal to the
// lead's change nothing and write nothing. An email is an identity: the
// new address becomes the lead's and the old one stays one of its
// identities (so its person is still found by it); an address another
// lead answers to is store.ErrConflict. A merged lead is store.ErrConflict:
// its survivor is the one to edit.
func (a *API) EditLead(ctx context.Context, workspaceID, id uuid.UUID, e LeadEdit, actor string) (store.Lead, error) {
	var out store.Lead
	err := a.store.InTx(ctx, func(q *store.Queries) error {
		l, err := q.LockLead(ctx, workspaceID, id)
		if err != nil {
			return err
		}
		if l.MergedInto != nil {
			return fmt.Errorf("lead was merged into %s: %w", l.MergedInto, store.ErrConflict)
		}
		next, changes, bad := applyLeadEdit(l, e)
		if len(bad) > 0 {
			return &ValidationError{Fields: bad}
		}
		if len(changes) == 0 && !ownerChanges(l, e) {
			out = l
			return nil
		}
		now := a.now()
		var entries []store.AuditEntry
		if next.EmailCanonical != l.EmailCanonical {
			added, err := a.takeEmail(ctx, q, l, next, now)
			if err != nil {
				return err
			}
			if added {
				entries = append(entries, store.AuditEntry{LeadID: l.ID, At: now, Actor: actor,
					Action: store.AuditIdentityAdded, Field: "email", NewValue: next.Email,
					Detail: map[string]any{"by": "edit"}})
			}
		}
		if len(changes) > 0 {
			next.UpdatedAt = now
			if next, err = q.UpdateLeadProfile(ctx, next); err != nil {
				return err
			}
		}
		for _, c := range changes {
			entries = append(entries, store.AuditEntry{LeadID: l.ID, At: now, Actor: actor,
				Action: store.AuditFieldOverwritten, Field: c.field, OldValue: c.old, NewValue: c.new,
				Detail: map[string]any{"by": "edit"}})
		}
		if ownerChanges(l, e) {
			if next, err = q.SetLeadOwner(ctx, workspaceID, l.ID, e.OwnerID, now); err != nil {
				if errors.Is(err, store.ErrInvalidReference) {
					return fmt.Errorf("%w: %w", err, &ValidationError{Fields: map[string]string{"owner_id": "is not a person of this workspace"}})
				}
				return err
			}
			entries = append(entries, store.AuditEntry{LeadID: l.ID, At: now, Actor: actor,
				Action: store.AuditOwnerAssigned, Field: "owner_id", OldValue: idString(l.OwnerID),
				NewValue: idString(e.OwnerID), Detail: map[string]any{"by": "edit"}})
		}
		out = next
		return q.InsertAuditEntries(ctx, workspaceID, entries...)
	})
	if err != nil {
		return store.Lead{}, fmt.Errorf("edit lead: %w", err)
	}
	return out, nil
}

// takeEmail gives lead l the address of next, under the identity locks
// responses take, refusing an address another live lead answers to. It
// reports whether the address is a new identity of the lead.
func (a *API) takeEmail(ctx context.Context, q *store.Queries, l, next store.Lead, now time.Time) (bool, error) {
	ws := l.WorkspaceID
	if err := q.LockIdentities(ctx, ws, emailKey(l.EmailCanonical), emailKey(next.EmailCanonical)); err != nil {
		return false, err
	}
	other, err := optional(q.MatchLeadByEmail(ctx, ws, next.EmailCanonical))
	if err != nil {
		return false, err
	}
	if other != nil && other.ID != l.ID {
		return false, fmt.Errorf("%w: %w", store.ErrConflict,
			&ValidationError{Fields: map[string]string{"email": "another lead answers to this address: " + other.ID.String()}})
	}
	return q.AddLeadIdentity(ctx, ws, l.ID, next.Email, next.EmailCanonical, now)
}

func ownerChanges(l store.Lead, e LeadEdit) bool {
	return e.OwnerSet && idString(l.OwnerID) != idString(e.OwnerID)
}

func idString(id *uuid.UUID) string {
	if id == nil {
		return ""
	}
	return id.String()
}

// applyLeadEdit returns l with e applied and normalised, the fields that
// changed, and the fields at fault.
func applyLeadEdit(l store.Lead, e LeadEdit) (store.Lead, []leadChange, map[string]string) {
	next := l
	next.Custom = maps.Clone(l.Custom)
	bad := map[string]string{}
	var changes []leadChange
	set := func(field string, dst *string, v *string, normalize func(string) string) {
		if v == nil {
			return
		}
		s := normalize(*v)
		if len(s) > apiMaxTextLen {
			bad[field] = fmt.Sprintf("must be at most %d characters", apiMaxTextLen)
			return
		}
		if s != *dst {
			changes = append(changes, leadChange{field, *dst, s})
			*dst = s
		}
	}
	set("first_name", &next.FirstName, e.FirstName, NormalizeName)
	set("last_name", &next.LastName, e.LastName, NormalizeName)
	set("company", &next.Company, e.Company, NormalizeLine)
	set("title", &next.Title, e.Title, NormalizeLine)
	set("city", &next.City, e.City, NormalizeLine)
	set("state", &next.State, e.State, NormalizeLine)
	set("country", &next.Country, e.Country, NormalizeLine)
	set("lead_source", &next.LeadSource, e.LeadSource, NormalizeLine)
	set("primary_interest", &next.PrimaryInterest, e.PrimaryInterest, NormalizeLine)
	if e.Description != nil {
		d := strings.TrimSpace(*e.Description)
		if len(d) > leadReasonMaxLen {
			bad["description"] = fmt.Sprintf("must be at most %d characters", leadReasonMaxLen)
		} else if d != next.Description {
			changes = append(changes, leadChange{"description", next.Description, d})
			next.Description = d
		}
	}
	if next.PrimaryInterest != "" && !slices.ContainsFunc(next.Interests, func(s string) bool {
		return strings.EqualFold(s, next.PrimaryInterest)
	}) {
		next.Interests = append(slices.Clone(next.Interests), next.PrimaryInterest)
	}
	if e.Email != nil {
		switch email, canonical, err := NormalizeEmail(*e.Email); {
		case strings.TrimSpace(*e.Email) == "" && next.Email == "":
		case strings.TrimSpace(*e.Email) == "":
			bad["email"] = "cannot be removed: an address is an identity"
		case err != nil:
			bad["email"] = err.Error()
		case email != next.Email:
			changes = append(changes, leadChange{"email", next.Email, email})
			next.Email, next.EmailCanonical = email, canonical
		}
	}
	if e.Phone != nil {
		switch raw := strings.TrimSpace(*e.Phone); {
		case raw != "" && raw == next.PhoneUnverified:
			// The number kept as typed, sent back as it is: no change.
		case raw == "":
			if next.Phone != "" || next.PhoneUnverified != "" {
				changes = append(changes, leadChange{"phone", cmp.Or(next.Phone, next.PhoneUnverified), ""})
				next.Phone, next.PhoneUnverified = "", ""
			}
		default:
			phone, err := NormalizePhone(raw, phoneRegion(next.Country))
			switch {
			case err != nil:
				bad["phone"] = err.Error()
			case phone != next.Phone:
				changes = append(changes, leadChange{"phone", cmp.Or(next.Phone, next.PhoneUnverified), phone})
				next.Phone, next.PhoneUnverified = phone, ""
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(e.Custom)) {
		v := e.Custom[k]
		key := strings.TrimSpace(k)
		field := "custom." + key
		old, had := next.Custom[key]
		switch {
		case key == "" || len(key) > apiMaxTextLen:
			bad["custom"] = fmt.Sprintf("names must be 1 to %d characters", apiMaxTextLen)
		case v == nil:
			if had {
				changes = append(changes, leadChange{field, old, ""})
				delete(next.Custom, key)
			}
		case len(*v) > leadReasonMaxLen:
			bad[field] = fmt.Sprintf("must be at most %d characters", leadReasonMaxLen)
		case !had && len(next.Custom) >= maxLeadCustomFields:
			bad[field] = fmt.Sprintf("a lead holds at most %d custom fields", maxLeadCustomFields)
		case !had || old != *v:
			if next.Custom == nil {
				next.Custom = map[string]string{}
			}
			changes = append(changes, leadChange{field, old, *v})
			next.Custom[key] = *v
		}
	}
	return next, changes, bad
}

// phoneRegion is the region a phone number without a country code is read
// in: the lead's country when it names one, else the default.
func phoneRegion(country string) string {
	region := strings.ToUpper(strings.TrimSpace(country))
	if phonenumbers.GetSupportedRegions()[region] {
		return region
	}
	return store.DefaultFormRegion
}

// Status moves a person may make by hand. Qualification and acceptance
// belong to the criteria and to handoffs, conversion to converting.
var leadStatusesByHand = []string{store.LeadNew, store.LeadNurturing, store.LeadContacted,
	store.LeadDisqualified, store.LeadRecycled}

// ChangeLeadStatus moves a lead to status by hand, with the reason, which
// is required and kept on the lead and in its audit trail. Only the moves
// in leadStatusesByHand are allowed, and none from converted; moving a
// lead to the status it has changes nothing. A lead disqualified leaves its
// sequences.
func (a *API) ChangeLeadStatus(ctx context.Context, workspaceID, id uuid.UUID, status, reason, actor string) (store.Lead, error) {
	reason = strings.TrimSpace(reason)
	bad := map[string]string{}
	if !slices.Contains(leadStatusesByHand, status) {
		bad["status"] = "must be one of " + strings.Join(leadStatusesByHand, ", ") +
			": qualification, acceptance and conversion have their own flows"
	}
	switch {
	case reason == "":
		bad["reason"] = "is required: say why the status changes"
	case len(reason) > leadReasonMaxLen:
		bad["reason"] = fmt.Sprintf("must be at most %d characters", leadReasonMaxLen)
	}
	if len(bad) > 0 {
		return store.Lead{}, &ValidationError{Fields: bad}
	}
	var out store.Lead
	err := a.store.InTx(ctx, func(q *store.Queries) error {
		l, err := q.LockLead(ctx, workspaceID, id)
		if err != nil {
			return err
		}
		switch {
		case l.MergedInto != nil:
			return fmt.Errorf("lead was merged into %s: %w", l.MergedInto, store.ErrConflict)
		case l.Status == store.LeadConverted:
			return &ValidationError{Fields: map[string]string{"status": "a converted lead keeps its status"}}
		case l.Status == status:
			out = l
			return nil
		}
		now := a.now()
		if out, err = q.MoveLeadToStatus(ctx, workspaceID, id, status, reason, now); err != nil {
			return err
		}
		// A disqualified lead is not nurtured: it leaves its sequences in
		// the same transaction, as a converted one does.
		if status == store.LeadDisqualified {
			if _, err := q.ExitEnrollmentsForLead(ctx, workspaceID, id, store.ExitDisqualified, now); err != nil {
				return err
			}
		}
		return q.InsertAuditEntries(ctx, workspaceID, store.AuditEntry{
			LeadID: id, At: now, Actor: actor, Action: store.AuditStatusChanged,
			Field: "status", OldValue: l.Status, NewValue: status,
			Detail: map[string]any{"reason": reason, "by": "hand"},
		})
	})
	if err != nil {
		return store.Lead{}, fmt.Errorf("change lead status: %w", err)
	}
	return out, nil
}

// Resubscribe lets a suppressed lead be emailed again, only with new
// consent: consentText (what the person agreed to) and consentSource (where
// and how they gave it) are required and recorded on the lead and in its
// audit trail, then the address's suppression is removed, signed by actor.
// A hard bounce is refused: the address does not take mail, and consent
// does not change that; the lead needs a new address (EditLead). A lead
// that is not suppressed is store.ErrConflict.
func (a *API) Resubscribe(ctx context.Context, workspaceID, id uuid.UUID, consentText, consentSource, actor string) (store.Lead, error) {
	consentText, consentSource = strings.TrimSpace(consentText), strings.TrimSpace(consentSource)
	bad := map[string]string{}
	for name, v := range map[string]string{"consent_text": consentText, "consent_source": consentSource} {
		switch {
		case v == "":
			bad[name] = "is required: a lead is resubscribed only with new recorded consent"
		case len(v) > leadReasonMaxLen:
			bad[name] = fmt.Sprintf("must be at most %d characters", leadReasonMaxLen)
		}
	}
	if len(bad) > 0 {
		return store.Lead{}, &ValidationError{Fields: bad}
	}
	var out store.Lead
	var sup store.Suppression
	err := a.store.InTx(ctx, func(q *store.Queries) error {
		l, err := q.LockLead(ctx, workspaceID, id)
		if err != nil {
			return err
		}
		if l.MergedInto != nil {
			return fmt.Errorf("lead was merged into %s: %w", l.MergedInto, store.ErrConflict)
		}
		s, err := optional(q.GetSuppression(ctx, workspaceID, l.EmailCanonical))
		switch {
		case err != nil:
			return err
		case l.EmailCanonical == "" || s == nil:
			return fmt.Errorf("lead is not suppressed: %w", store.ErrConflict)
		case s.Reason == store.SuppressBounced:
			return fmt.Errorf("%w: %w", store.ErrConflict, &ValidationError{Fields: map[string]string{
				"email": "the address bounced: give the lead a new address instead"}})
		}
		sup = *s
		now := a.now()
		old := l.ConsentText
		l.Consent, l.ConsentText, l.ConsentAt, l.UpdatedAt = true, consentText, &now, now
		if out, err = q.UpdateLeadProfile(ctx, l); err != nil {
			return err
		}
		return q.InsertAuditEntries(ctx, workspaceID, store.AuditEntry{
			LeadID: id, At: now, Actor: actor, Action: store.AuditConsentRecorded,
			Field: "consent_text", OldValue: old, NewValue: consentText,
			Detail: map[string]any{"consent_source": consentSource, "suppression": s.Reason,
				"suppressed_at": s.CreatedAt},
		})
	})
	if err != nil {
		return store.Lead{}, fmt.Errorf("resubscribe lead: %w", err)
	}
	// The consent is committed first: should the removal fail, the lead is
	// still suppressed and resubscribing again records consent again.
	why := "resubscribed with consent from " + consentSource
	if _, err := a.unsuppress.RemoveSuppression(ctx, workspaceID, out.Email, why, actor); err != nil &&
		!errors.Is(err, store.ErrNotFound) {
		return store.Lead{}, fmt.Errorf("resubscribe lead: %w", err)
	}
	a.log.InfoContext(ctx, "lead resubscribed", "workspace_id", workspaceID, "lead_id", id,
		"suppression", sup.Reason, "actor", actor)
	return out, nil
}
