package capture

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"leadflow/store"
)

// fuzzyMatchLimit caps the possible duplicates flagged for one new lead: past
// a handful, a reviewer learns nothing more.
const fuzzyMatchLimit = 10

// fuzzyNameFloor is the trigram similarity of folded names below which no
// pair is weighed, and fuzzyCandidateLimit how many are: the trigram index
// does this first cut.
const (
	fuzzyNameFloor      = 0.3
	fuzzyCandidateLimit = 50
)

// maxLeadCustomFields bounds the custom fields one lead collects across its
// submissions.
const maxLeadCustomFields = 200

// How a response found its lead, kept in the audit trail for reviewers.
const (
	matchedByEmail        = "email"
	matchedByIdentity     = "identity"
	matchedByPhone        = "phone"
	matchedByContact      = "contact"
	matchedByContactEmail = "contact_email"
	// joinedByEmailAndPhone: one submission named two leads of one person,
	// its email the one's and its phone the other's.
	joinedByEmailAndPhone = "email_and_phone"
	// matchedByPhoneAndName: a new address came with the lead's own phone
	// and full name (see phoneAndNameLead).
	matchedByPhoneAndName = store.IdentityByPhoneAndName
)

// process does Process's work inside its transaction.
func (p *Processor) process(ctx context.Context, q *store.Queries, responseID uuid.UUID) (Outcome, error) {
	resp, err := q.LockResponseToProcess(ctx, responseID)
	if err != nil {
		return Outcome{}, err
	}
	if resp.Status != store.ResponsePending || resp.Verdict == store.VerdictSpam {
		return outcomeOf(resp), nil
	}
	var f Fields
	if err := json.Unmarshal(resp.Fields, &f); err != nil {
		return Outcome{}, fmt.Errorf("%w: %v", errUnreadableFields, err)
	}
	// A response from another channel than a form has no form: nothing to
	// confirm, no event to register for, no form's defaults.
	var form store.Form
	if resp.FormID != uuid.Nil {
		if form, err = q.GetForm(ctx, resp.WorkspaceID, resp.FormID); err != nil {
			return Outcome{}, err
		}
	}
	if form.DoubleOptIn && resp.ConfirmedAt == nil {
		return p.awaitConfirmation(ctx, q, resp)
	}
	r := &resolution{
		q:      q,
		now:    p.now(),
		resp:   resp,
		form:   form,
		person: personFromResponse(resp, f, form),
	}
	if err := r.lockAndMatch(ctx); err != nil {
		return Outcome{}, err
	}
	if r.lead == nil && listOnly(resp, f) {
		kept, err := q.MarkResponseProcessedWithoutLead(ctx, resp.WorkspaceID, resp.ID, OutcomeListOnly, r.now)
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{ResponseID: kept.ID, WorkspaceID: kept.WorkspaceID, Status: kept.Status,
			Result: OutcomeListOnly, ReceivedAt: kept.ReceivedAt}, nil
	}
	if r.lead != nil && r.join != nil {
		if err := r.joinLeads(ctx); err != nil {
			return Outcome{}, err
		}
	}
	if r.lead == nil {
		err = r.createLead(ctx, p.fuzzyThreshold)
	} else {
		err = r.mergeResponse(ctx)
	}
	if err != nil {
		return Outcome{}, err
	}
	if err := r.flagSharedIdentities(ctx); err != nil {
		return Outcome{}, err
	}
	if err := r.register(ctx); err != nil {
		return Outcome{}, err
	}
	if err := r.recordEngagement(ctx); err != nil {
		return Outcome{}, err
	}
	processed, err := q.MarkResponseProcessed(ctx, resp.WorkspaceID, resp.ID, r.lead.ID, r.result, r.now)
	if err != nil {
		return Outcome{}, err
	}
	if p.enroller != nil {
		if err := p.enroller.EnrollFromResponse(ctx, q, processed, r.lead.ID, r.madeRegistration); err != nil {
			return Outcome{}, fmt.Errorf("enroll from response: %w", err)
		}
	}
	return Outcome{
		ResponseID:   resp.ID,
		WorkspaceID:  resp.WorkspaceID,
		Status:       store.ResponseProcessed,
		Result:       r.result,
		LeadID:       r.lead.ID,
		Registration: r.registration,
		ReceivedAt:   resp.ReceivedAt,
	}, nil
}

// listOnly reports that a response is a list subscription that makes no
// lead: someone who subscribes to a list is an audience, not yet a prospect.
// The subscription joins its person's lead when there is one (a lead or a
// contact's lead, matched as any response is); otherwise it becomes a lead
// only when it names a purchase interest (product_interest). The response is
// kept either way, and the person's next response of any other channel
// makes the lead.
func listOnly(resp store.Response, f Fields) bool {
	return resp.Channel == store.ChannelList && strings.TrimSpace(f.ProductInterest) == ""
}

// awaitConfirmation parks an unconfirmed double opt-in response and asks its
// person to confirm, in the processing transaction: the confirmation email is
// queued exactly when the response starts waiting.
func (p *Processor) awaitConfirmation(ctx context.Context, q *store.Queries, resp store.Response) (Outcome, error) {
	resp, err := q.MarkResponseAwaitingConfirmation(ctx, resp.WorkspaceID, resp.ID)
	if err != nil {
		return Outcome{}, err
	}
	if p.enroller != nil {
		if err := p.enroller.RequestConfirmation(ctx, q, resp); err != nil {
			return Outcome{}, fmt.Errorf("request confirmation: %w", err)
		}
	}
	return Outcome{ResponseID: resp.ID, WorkspaceID: resp.WorkspaceID, Status: resp.Status}, nil
}

// resolution is one response being resolved to its lead.
type resolution struct {
	q    *store.Queries
	now  time.Time
	resp store.Response
	form store.Form
	// person is what the response says about the person, shaped as a lead.
	person store.Lead

	// Found or made along the way.
	contact   *store.Contact
	lead      *store.Lead
	matchedBy string
	// emailMatched: the lead answers to the submission's own email, so the
	// submission may change its profile, not only fill its blanks.
	emailMatched bool
	// inferredIdentity: the submission's new address is tied to the lead by
	// phone and name, not given as the lead's own: kept as an inferred
	// identity, which finds the lead but never rewrites it.
	inferredIdentity bool
	// join is a second lead of the same person that this submission ties
	// to lead safely: merged into it before the response is. joinedBy says
	// how (joinedByEmailAndPhone, or matchedByPhoneAndName for a lead with
	// an address of its own, whose addresses then become inferred ones).
	join     *store.Lead
	joinedBy string
	// phoneLeads are the live leads with the submission's phone number.
	phoneLeads []store.Lead
	// others are leads and contacts that share the submission's phone but
	// are not (safely) its person: flagged as possible duplicates.
	others       []sharedIdentity
	result       string
	registration string
	registered   bool
	// madeRegistration is the registration this response made, if any.
	madeRegistration *store.EventRegistration

	// A person resolved without a response (a referral made by hand):
	// actor signs the audit trail instead of the worker, origin stands for
	// the form in it, and fillOnly keeps what they say from overwriting a
	// lead's values even when it was found by its own address.
	actor    string
	origin   map[string]any
	fillOnly bool
	// filled names the blank fields the merge filled.
	filled []string
}

// originDetail starts an audit entry's detail with where the person came
// from: the response's form, or the origin of a person resolved without one.
func (r *resolution) originDetail() map[string]any {
	if r.origin != nil {
		return maps.Clone(r.origin)
	}
	return r.responseOrigin()
}

// responseOrigin says where a response came from: its form, or for another
// channel the channel and who recorded it.
func (r *resolution) responseOrigin() map[string]any {
	if r.form.ID != uuid.Nil {
		return map[string]any{"form_id": r.form.ID}
	}
	d := map[string]any{"channel": r.resp.Channel}
	if r.resp.RecordedBy != "" {
		d["recorded_by"] = r.resp.RecordedBy
	}
	return d
}

// responseID is the response being resolved, nil for a person without one.
func (r *resolution) responseID() *uuid.UUID {
	if r.resp.ID == uuid.Nil {
		return nil
	}
	return &r.resp.ID
}

// personFromResponse shapes a response's normalised fields as a lead, the
// form it came through filling in what the submission left out.
func personFromResponse(resp store.Response, f Fields, form store.Form) store.Lead {
	email := strings.ToLower(strings.TrimSpace(f.Email))
	l := store.Lead{
		WorkspaceID: resp.WorkspaceID,
		FirstName:   f.FirstName,
		LastName:    f.LastName,
		Email:       email,
		// Normalisation already made the canonical form; lower-casing again
		// costs nothing and keeps matching case-blind whatever wrote it.
		EmailCanonical:  strings.ToLower(strings.TrimSpace(cmp.Or(f.EmailCanonical, email))),
		Phone:           strings.TrimSpace(f.Phone),
		PhoneUnverified: f.PhoneUnverified,
		Company:         f.Company,
		Title:           f.Title,
		City:            f.City,
		State:           f.State,
		Country:         f.Country,
		LeadSource:      cmp.Or(f.LeadSource, resp.LeadSource),
		Description:     f.Description,
		Campaign:        cmp.Or(resp.Campaign, f.CampaignID, form.Campaign),
		UTM:             resp.UTM,
		Custom:          resp.Custom,
		Status:          store.LeadNew,
	}
	if interest := strings.TrimSpace(f.ProductInterest); interest != "" {
		l.PrimaryInterest = interest
		l.Interests = []string{interest}
	}
	if f.Consent {
		// Consent dates from when the person gave it, not from when a worker
		// got round to it.
		at := resp.ReceivedAt
		l.Consent = true
		l.ConsentText = cmp.Or(f.ConsentText, form.ConsentText)
		l.ConsentAt = &at
	}
	return l
}

func emailKey(canonical string) string {
	if canonical == "" {
		return ""
	}
	return "email:" + canonical
}

// phoneKey locks a number whatever its extension: everyone on one
// switchboard resolves one at a time.
func phoneKey(phone string) string {
	number, _, _ := strings.Cut(phone, ";")
	if number == "" {
		return ""
	}
	return "phone:" + number
}

// lockAndMatch takes the person's identity locks and finds their lead and
// contact, if any.
//
// An email is an identity: the lead that answers to it (its own address or
// one it used before) is the person's, and so is the contact with it. A
// phone only suggests one, since a shared office number is many people's:
// it finds a lead only when nothing tells the two apart (the lead has no
// other email, their names agree), and a contact only when the names agree
// or there is no other email to disagree. A phone that names someone it
// cannot safely be gets the pair flagged as a possible duplicate instead.
// A name and an employer alone find no one, even with no email on one side
// (a call-back request): a colleague of the same name gives both, and only
// a person can tell the two apart, so likeness flags the pair for review.
func (r *resolution) lockAndMatch(ctx context.Context) error {
	ws := r.resp.WorkspaceID
	email, phone := r.person.EmailCanonical, r.person.Phone

	// Known contacts bring their own email and phone. Look them up before
	// locking so their identities are locked too, in the same sorted order
	// as everyone else's: a lead found or made through a contact then
	// cannot race one made from the contact's own email.
	var byEmail *store.Contact
	var byPhone []store.Contact
	var err error
	if email != "" {
		if byEmail, err = optional(r.q.MatchContactByEmail(ctx, ws, email)); err != nil {
			return err
		}
	}
	if phone != "" {
		if byPhone, err = r.q.MatchContactsByPhone(ctx, ws, phone); err != nil {
			return err
		}
	}
	keys := []string{emailKey(email), phoneKey(phone)}
	if byEmail != nil {
		keys = append(keys, emailKey(byEmail.EmailCanonical), phoneKey(byEmail.Phone))
	}
	for _, c := range byPhone {
		keys = append(keys, emailKey(c.EmailCanonical))
	}
	if err := r.q.LockIdentities(ctx, ws, keys...); err != nil {
		return err
	}

	var phoneLeads []store.Lead
	if phone != "" {
		if phoneLeads, err = r.q.MatchLeadsByPhone(ctx, ws, phone); err != nil {
			return err
		}
	}
	r.phoneLeads = phoneLeads
	if email != "" {
		if r.lead, err = optional(r.q.MatchLeadByEmail(ctx, ws, email)); err != nil {
			return err
		}
		if r.lead != nil {
			r.matchedBy, r.emailMatched = matchedByEmail, true
			if r.lead.EmailCanonical != email {
				r.matchedBy = matchedByIdentity
				// An address only inferred to be the lead's finds it, but
				// what comes from it fills blanks: a phone and a name known
				// to someone else must not lead to rewriting the lead.
				by, err := r.q.LeadIdentityInferredBy(ctx, ws, email)
				if err != nil {
					return err
				}
				r.emailMatched = by == ""
			}
		}
	}
	r.contact = byEmail
	if r.contact == nil {
		r.contact = r.phoneContact(byPhone)
	}
	if r.lead == nil && r.contact != nil {
		if err := r.matchThroughContact(ctx); err != nil {
			return err
		}
	}
	if r.lead != nil && r.lead.ContactID != nil && r.contact != nil && *r.lead.ContactID != r.contact.ID {
		// The lead is another contact's already: this one is only alike.
		r.flagContact(*r.contact, store.DuplicateSharedIdentity)
		r.contact = nil
	}
	var samePerson *store.Lead
	if r.lead != nil && r.emailMatched {
		if samePerson, err = r.phoneAndNameJoin(ctx, phoneLeads, byPhone); err != nil {
			return err
		}
	}
	for _, l := range phoneLeads {
		switch {
		case r.lead != nil && l.ID == r.lead.ID:
		case r.lead == nil && r.phoneFindsLead(l):
			r.lead, r.matchedBy = &l, matchedByPhone
		case r.lead != nil && r.matchedBy != matchedByPhone && r.join == nil && r.canJoin(l):
			r.join, r.joinedBy = &l, joinedByEmailAndPhone
		case samePerson != nil && l.ID == samePerson.ID && r.join == nil:
			r.join, r.joinedBy = &l, matchedByPhoneAndName
		default:
			r.flagLead(l, store.DuplicateSharedPhone)
		}
	}
	if r.lead == nil && r.contact == nil && email != "" {
		l, err := r.phoneAndNameLead(ctx, phoneLeads, byPhone)
		if err != nil {
			return err
		}
		if l != nil {
			r.lead, r.matchedBy, r.inferredIdentity = l, matchedByPhoneAndName, true
		}
	}
	return nil
}

// phoneAndNameLead picks the lead that a submission with an address no one
// has is, by its phone and name: the lead with exactly its phone (the same
// extension, or none on both), whose number no other lead or contact has
// (not a switchboard), giving the same full name (folded, nicknames
// allowed, no typos; see gaveName), not linked to a contact (a contact's
// addresses are the contact's to know), and whose employer nothing
// contradicts (another company, another work domain, another mailbox at its
// work domain: a colleague of the same name). The address becomes an
// inferred identity of the lead; the lead's own email never changes.
func (r *resolution) phoneAndNameLead(ctx context.Context, phoneLeads []store.Lead, phoneContacts []store.Contact) (*store.Lead, error) {
	p := r.person
	if p.Phone == "" || len(phoneLeads) != 1 || len(phoneContacts) != 0 {
		return nil, nil
	}
	l := phoneLeads[0]
	switch {
	case l.Phone != p.Phone, l.EmailCanonical == "", l.ContactID != nil, l.MergedInto != nil,
		employerOf(factsOf(l), factsOf(p)).contradicted:
		return nil, nil
	}
	if ok, err := r.gaveName(ctx, l, p.FirstName, p.LastName); err != nil || !ok {
		return nil, err
	}
	return &l, nil
}

// phoneAndNameJoin picks the second lead of the person of a submission
// found by its own address, when the submission gives that lead's phone:
// the same evidence as phoneAndNameLead, seen from the other side. The
// person wrote from one address, then from another with their phone, and
// now from the first with the same phone. The lead must have exactly the
// submission's phone, a number no other lead (but the submission's own,
// with that same phone) and no contact has; an address of its own; no
// contact; the submission's full name as one it was given; and no employer
// that the submission or its lead contradicts. It is merged into the
// submission's lead, its addresses kept as inferred identities. Another
// submission resolving the lead's own address at this very moment leaves
// the two apart (and flagged): no lock is waited for out of order.
func (r *resolution) phoneAndNameJoin(ctx context.Context, phoneLeads []store.Lead, phoneContacts []store.Contact) (*store.Lead, error) {
	p, k := r.person, *r.lead
	if p.Phone == "" || len(phoneContacts) != 0 {
		return nil, nil
	}
	var found *store.Lead
	for _, l := range phoneLeads {
		switch {
		case l.ID == k.ID && l.Phone == p.Phone:
		case l.ID == k.ID, found != nil:
			// The lead on another extension of the number, or a number
			// more people gave: a switchboard.
			return nil, nil
		default:
			found = &l
		}
	}
	if found == nil {
		return nil, nil
	}
	l := *found
	switch {
	case l.Phone != p.Phone, l.EmailCanonical == "", l.EmailCanonical == k.EmailCanonical, l.ContactID != nil,
		l.MergedInto != nil,
		compareNames(p.FirstName, p.LastName, k.FirstName, k.LastName) == namesDifferent,
		employerOf(factsOf(l), factsOf(p)).contradicted, employerOf(factsOf(l), factsOf(k)).contradicted:
		return nil, nil
	}
	if ok, err := r.gaveName(ctx, l, p.FirstName, p.LastName); err != nil || !ok {
		return nil, err
	}
	if ok, err := r.q.TryLockIdentity(ctx, r.resp.WorkspaceID, emailKey(l.EmailCanonical)); err != nil || !ok {
		return nil, err
	}
	return &l, nil
}

// gaveName reports whether lead l goes by the full name first last, as a
// join on a phone needs (namesStrong: no typo, no initial, no swap): its own
// name, or a spelling one of its submissions gave, since a lead's name is
// the latest one its own address sent, a typo included. Its own name must
// not be someone else's.
func (r *resolution) gaveName(ctx context.Context, l store.Lead, first, last string) (bool, error) {
	if compareNames(first, last, l.FirstName, l.LastName) == namesDifferent {
		return false, nil
	}
	if namesStrong(first, last, l.FirstName, l.LastName) {
		return true, nil
	}
	names, err := r.q.LeadGivenNames(ctx, r.resp.WorkspaceID, l.ID)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(names, func(n store.PersonName) bool {
		return namesStrong(first, last, n.FirstName, n.LastName)
	}), nil
}

// matchThroughContact finds the lead of a matched contact when the response
// itself matched none: the contact's linked lead, else a lead answering to
// the contact's email. A contact is one person; it never gets a second lead.
func (r *resolution) matchThroughContact(ctx context.Context) error {
	ws := r.resp.WorkspaceID
	var err error
	if r.lead, err = optional(r.q.MatchLeadByContact(ctx, ws, r.contact.ID)); err != nil || r.lead != nil {
		r.matchedBy = matchedByContact
		return err
	}
	if c := r.contact.EmailCanonical; c != "" && c != r.person.EmailCanonical {
		r.lead, err = optional(r.q.MatchLeadByEmail(ctx, ws, c))
		r.matchedBy = matchedByContactEmail
		if err == nil && r.lead != nil && r.lead.ContactID != nil && *r.lead.ContactID != r.contact.ID {
			r.lead = nil
		}
	}
	return err
}

// phoneContact picks, of the contacts with the submission's phone, the one
// that is its person: the names agree and they are not two colleagues of
// one name (two mailboxes at one work domain), or nothing disagrees and
// there is no second email to tell them apart. A submission with an address
// of its own needs a number that points at the contact: the same extension,
// or a number no one else gave; on a shared switchboard, a name from
// another address may be a namesake. When two contacts would do, it picks
// neither. The others alike enough are flagged.
func (r *resolution) phoneContact(contacts []store.Contact) *store.Contact {
	p := r.person
	var fits []store.Contact
	for _, c := range contacts {
		names := compareNames(p.FirstName, p.LastName, c.FirstName, c.LastName)
		otherEmail := p.EmailCanonical != "" && c.EmailCanonical != "" && c.EmailCanonical != p.EmailCanonical
		pointsAt := !otherEmail || (c.Phone == p.Phone && strings.Contains(p.Phone, ";")) || !r.sharedNumber(c, contacts)
		switch {
		case (names == namesSame && pointsAt && !twoMailboxesAtOneDomain(c.EmailCanonical, p.EmailCanonical)) ||
			(names == namesUnknown && !otherEmail && c.Phone == p.Phone):
			fits = append(fits, c)
		case names != namesDifferent:
			r.flagContact(c, store.DuplicateSharedPhone)
		}
	}
	if len(fits) == 1 {
		return &fits[0]
	}
	for _, c := range fits {
		r.flagContact(c, store.DuplicateSharedPhone)
	}
	return nil
}

// sharedNumber reports whether the submission's number (whatever its
// extension) is given by someone other than contact c: another contact, or
// a lead not linked to c.
func (r *resolution) sharedNumber(c store.Contact, contacts []store.Contact) bool {
	if len(contacts) > 1 {
		return true
	}
	for _, l := range r.phoneLeads {
		if l.ContactID == nil || *l.ContactID != c.ID {
			return true
		}
	}
	return false
}

// phoneFindsLead reports whether a lead with the submission's phone is the
// submission's person when no email said so: never a lead with another
// email (a phone match must not re-point a lead to a new address), never a
// lead of another contact, and never one whose name is someone else's.
func (r *resolution) phoneFindsLead(l store.Lead) bool {
	p := r.person
	if p.EmailCanonical != "" && l.EmailCanonical != "" && l.EmailCanonical != p.EmailCanonical {
		return false
	}
	if r.contact != nil && l.ContactID != nil && *l.ContactID != r.contact.ID {
		return false
	}
	names := compareNames(p.FirstName, p.LastName, l.FirstName, l.LastName)
	if l.Phone != p.Phone {
		// The same switchboard, another extension (or none): only the
		// name says it is the same person.
		return names == namesSame
	}
	return names != namesDifferent
}

// canJoin reports whether the submission safely ties lead to l, a lead with
// its phone: l has no email of its own (so nobody's address is re-pointed),
// no name that differs from the submission's or the lead's, and no other
// contact.
func (r *resolution) canJoin(l store.Lead) bool {
	if l.EmailCanonical != "" || l.MergedInto != nil {
		return false
	}
	if l.ContactID != nil && r.lead.ContactID != nil && *l.ContactID != *r.lead.ContactID {
		return false
	}
	p, k := r.person, r.lead
	names := compareNames(p.FirstName, p.LastName, l.FirstName, l.LastName)
	if l.Phone != p.Phone && names != namesSame {
		return false
	}
	return names != namesDifferent && compareNames(k.FirstName, k.LastName, l.FirstName, l.LastName) != namesDifferent
}

// flagLead notes a lead that shares an identity with the submission but is
// not (safely) its person, for review; a lead whose name is clearly someone
// else's is a colleague on the same number, not a duplicate, and so is one
// with another mailbox at the submission's work domain (as likeness has it:
// a person fills in forms from one work address).
func (r *resolution) flagLead(l store.Lead, reason string) {
	p := r.person
	if compareNames(p.FirstName, p.LastName, l.FirstName, l.LastName) == namesDifferent ||
		twoMailboxesAtOneDomain(p.EmailCanonical, l.EmailCanonical) {
		return
	}
	id := l.ID
	r.others = append(r.others, sharedIdentity{
		FuzzyMatch: store.FuzzyMatch{MatchLeadID: &id, Reason: reason},
		other:      leadFacts{l.FirstName, l.LastName, l.EmailCanonical, l.Company},
	})
}

func (r *resolution) flagContact(c store.Contact, reason string) {
	if twoMailboxesAtOneDomain(r.person.EmailCanonical, c.EmailCanonical) {
		return
	}
	id := c.ID
	r.others = append(r.others, sharedIdentity{
		FuzzyMatch: store.FuzzyMatch{MatchContactID: &id, Reason: reason},
		other:      leadFacts{c.FirstName, c.LastName, c.EmailCanonical, c.Company},
	})
}

// sharedIdentity is a possible duplicate found by a shared identity, and
// what it is known by.
type sharedIdentity struct {
	store.FuzzyMatch
	other leadFacts
}

// leadFacts are what likeness weighs of a lead or a contact.
type leadFacts struct {
	FirstName, LastName, EmailCanonical, Company string
}

func factsOf(l store.Lead) leadFacts {
	return leadFacts{l.FirstName, l.LastName, l.EmailCanonical, l.Company}
}

// flagSharedIdentities records the possible duplicates matching found, now
// that the submission's lead exists.
func (r *resolution) flagSharedIdentities(ctx context.Context) error {
	ws := r.resp.WorkspaceID
	for _, m := range r.others {
		if (m.MatchLeadID != nil && *m.MatchLeadID == r.lead.ID) ||
			(m.MatchContactID != nil && r.lead.ContactID != nil && *m.MatchContactID == *r.lead.ContactID) {
			continue
		}
		o := m.other
		company, err := r.q.CompanySimilarity(ctx, r.lead.Company, o.Company)
		if err != nil {
			return err
		}
		// Sharing an identity is the reason; the likeness orders the queue.
		nameSim := float32(0.5)
		if compareNames(r.lead.FirstName, r.lead.LastName, o.FirstName, o.LastName) == namesSame {
			nameSim = 1
		}
		m.Similarity = float32(likeness(factsOf(*r.lead), o, nameSim, company))
		if _, err := r.q.InsertPossibleDuplicate(ctx, ws, r.lead.ID, m.FuzzyMatch); err != nil {
			return err
		}
	}
	return nil
}

// joinLeads merges the second lead the submission named into its lead, as a
// manual merge would, signed by the worker.
func (r *resolution) joinLeads(ctx context.Context) error {
	ws := r.resp.WorkspaceID
	var inferred []string
	if r.joinedBy == matchedByPhoneAndName {
		// The joined lead's addresses were its own; in the survivor they
		// are the person's only by phone and name.
		ids, err := r.q.LeadIdentities(ctx, ws, r.join.ID)
		if err != nil {
			return err
		}
		inferred = append(inferred, r.join.EmailCanonical)
		for _, id := range ids {
			inferred = append(inferred, id.EmailCanonical)
		}
	}
	kept, err := joinLeadRecords(ctx, r.q, ws, *r.lead, *r.join, cmp.Or(r.actor, ProcessActor), r.now,
		map[string]any{"matched_by": r.joinedBy}, r.responseID())
	if err != nil {
		return err
	}
	if len(inferred) > 0 {
		if _, err := r.q.InferLeadIdentities(ctx, ws, kept.ID, inferred, store.IdentityByPhoneAndName); err != nil {
			return err
		}
	}
	r.lead = &kept
	return nil
}

// employerFacts is what likeness weighs of the new lead. A lead that names
// no employer (no company, no work address) but gave a phone other leads
// have takes their company when they agree on one: a switchboard is one
// employer's, and a number another lead gave tells where that lead works.
// byPhone reports that the company came from the phone.
func (r *resolution) employerFacts(l store.Lead) (f leadFacts, byPhone bool) {
	f = factsOf(l)
	if f.Company != "" || workDomain(f.EmailCanonical) != "" {
		return f, false
	}
	company := ""
	for _, o := range r.phoneLeads {
		switch {
		case o.ID == l.ID || compactCompany(o.Company) == "":
		case company == "":
			company = o.Company
		case compactCompany(company) != compactCompany(o.Company):
			return f, false
		}
	}
	f.Company = company
	return f, company != ""
}

// createLead makes the person's lead: from the response, completed from the
// contact when there is one; or, matching no one, flagged against lookalikes.
func (r *resolution) createLead(ctx context.Context, fuzzyThreshold float64) error {
	l := r.person
	l.CreatedAt, l.UpdatedAt = r.now, r.now
	r.result = OutcomeCreated
	if r.contact != nil {
		mergeInto(&l, leadFromContact(*r.contact), false)
		l.ContactID = &r.contact.ID
		r.result = OutcomeLinkedContact
	}
	lead, err := r.q.InsertLead(ctx, l)
	if err != nil {
		return err
	}
	r.lead = &lead
	if _, err := r.q.AddLeadIdentity(ctx, lead.WorkspaceID, lead.ID, lead.Email, lead.EmailCanonical, r.now); err != nil {
		return err
	}
	entries := []store.AuditEntry{r.audit(store.AuditCreated, r.originDetail())}
	if r.contact != nil {
		e := r.audit(store.AuditContactLinked, map[string]any{"matched_by": r.matchedBy})
		e.NewValue = r.contact.ID.String()
		entries = append(entries, e)
	}
	if err := r.q.InsertAuditEntries(ctx, lead.WorkspaceID, entries...); err != nil {
		return err
	}
	if lead.FirstName == "" && lead.LastName == "" {
		// A company alone says too little to call two people alike.
		return nil
	}
	candidates, err := r.q.FuzzyCandidates(ctx, lead.WorkspaceID, lead.ID, fuzzyNameFloor, fuzzyCandidateLimit)
	if err != nil {
		return err
	}
	facts, byPhone := r.employerFacts(lead)
	var matches []store.FuzzyMatch
	for _, c := range candidates {
		if c.MatchContactID != nil && lead.ContactID != nil && *c.MatchContactID == *lead.ContactID {
			// The lead's own contact: known, not a lookalike.
			continue
		}
		company := c.CompanySimilarity
		if byPhone {
			if company, err = r.q.CompanySimilarity(ctx, facts.Company, c.Company); err != nil {
				return err
			}
		}
		score := likeness(facts, leadFacts{c.FirstName, c.LastName, c.EmailCanonical, c.Company},
			c.NameSimilarity, company)
		if score >= fuzzyThreshold {
			matches = append(matches, store.FuzzyMatch{MatchLeadID: c.MatchLeadID, MatchContactID: c.MatchContactID,
				Similarity: float32(score), Reason: store.DuplicateSimilarName})
		}
	}
	slices.SortStableFunc(matches, func(a, b store.FuzzyMatch) int { return cmp.Compare(b.Similarity, a.Similarity) })
	for _, m := range matches[:min(len(matches), fuzzyMatchLimit)] {
		if _, err := r.q.InsertPossibleDuplicate(ctx, lead.WorkspaceID, lead.ID, m); err != nil {
			return err
		}
	}
	return nil
}

// mergeResponse merges the response into the lead it matched, and links the
// contact if it was not yet. What the response may change depends on how
// it found the lead: by its own email (or one the lead used before), it
// overwrites the person's fields with their old values in the audit trail;
// by phone or through a contact, it only fills blanks. An email is never
// overwritten: a new address is added to the lead's identities. Interests
// accumulate.
func (r *resolution) mergeResponse(ctx context.Context) error {
	l, person := *r.lead, r.person
	filled, changes := mergeInto(&l, person, r.emailMatched && !r.fillOnly)
	r.filled = filled
	linked := false
	if r.contact != nil && l.ContactID == nil {
		l.ContactID = &r.contact.ID
		linked = true
	}
	l.UpdatedAt = r.now
	lead, err := r.q.UpdateLeadProfile(ctx, l)
	if err != nil {
		return err
	}
	r.lead = &lead
	r.result = OutcomeMerged

	detail := r.originDetail()
	detail["matched_by"] = r.matchedBy
	if len(filled) > 0 {
		detail["filled"] = filled
	}
	entries := []store.AuditEntry{r.audit(store.AuditResponseMerged, detail)}
	for _, c := range changes {
		e := r.audit(store.AuditFieldOverwritten, nil)
		e.Field, e.OldValue, e.NewValue = c.field, c.old, c.new
		entries = append(entries, e)
	}
	if linked {
		e := r.audit(store.AuditContactLinked, map[string]any{"matched_by": r.matchedBy})
		e.NewValue = r.contact.ID.String()
		entries = append(entries, e)
	}
	add := r.q.AddLeadIdentity
	if r.inferredIdentity {
		add = func(ctx context.Context, ws, lead uuid.UUID, email, canonical string, at time.Time) (bool, error) {
			return r.q.AddInferredLeadIdentity(ctx, ws, lead, email, canonical, store.IdentityByPhoneAndName, at)
		}
	}
	added, err := add(ctx, lead.WorkspaceID, lead.ID, person.Email, person.EmailCanonical, r.now)
	if err != nil {
		return err
	}
	if added && person.EmailCanonical != lead.EmailCanonical {
		e := r.audit(store.AuditIdentityAdded, map[string]any{"matched_by": r.matchedBy})
		e.Field, e.NewValue = "email", person.Email
		entries = append(entries, e)
	}
	return r.q.InsertAuditEntries(ctx, lead.WorkspaceID, entries...)
}

// register gives the lead its one registration for the form's event: a place
// while the event has room, the waitlist once it is full. A person who
// registers again keeps the registration they have, unless they had
// cancelled it: then it is theirs again, as a new registration would be
// (a place if one is free, else the back of the waitlist), and confirmed
// again.
func (r *resolution) register(ctx context.Context) error {
	if r.form.Kind != store.FormEventRegistration || r.form.EventID == nil {
		return nil
	}
	ws := r.resp.WorkspaceID
	// The event row lock serialises everyone counting this event's places.
	ev, err := r.q.LockEvent(ctx, ws, *r.form.EventID)
	if err != nil {
		return err
	}
	existing, err := optional(r.q.LeadRegistration(ctx, ws, ev.ID, r.lead.ID))
	if err != nil {
		return err
	}
	if existing != nil && existing.Status != store.RegistrationCancelled {
		r.registration = existing.Status
		return nil
	}
	status := store.RegistrationRegistered
	if ev.Capacity != nil {
		n, err := r.q.CountRegistered(ctx, ws, ev.ID)
		if err != nil {
			return err
		}
		if n >= *ev.Capacity {
			status = store.RegistrationWaitlisted
		}
	}
	var reg store.EventRegistration
	if existing != nil {
		reg, err = r.q.RenewRegistration(ctx, ws, existing.ID, r.resp.ID, status, r.now)
	} else {
		reg, err = r.q.InsertRegistration(ctx, store.EventRegistration{
			WorkspaceID: ws,
			EventID:     ev.ID,
			LeadID:      r.lead.ID,
			ResponseID:  r.resp.ID,
			Status:      status,
			CreatedAt:   r.now,
		})
	}
	if err != nil {
		return err
	}
	r.registration = reg.Status
	r.registered = true
	r.madeRegistration = &reg
	return nil
}

// recordEngagement records the submission for scoring, once per response.
func (r *resolution) recordEngagement(ctx context.Context) error {
	e := store.EngagementEvent{
		WorkspaceID: r.resp.WorkspaceID,
		LeadID:      r.lead.ID,
		Kind:        store.EngagementFormSubmitted,
		SourceID:    r.resp.ID,
		OccurredAt:  r.resp.ReceivedAt,
		Detail:      r.responseOrigin(),
	}
	if r.registered {
		// Registering counts once; a resubmission is an ordinary submission.
		e.Kind = store.EngagementEventRegistered
		e.Detail["event_id"] = r.form.EventID
		e.Detail["status"] = r.registration
	}
	_, err := r.q.InsertEngagementEvent(ctx, e)
	return err
}

// audit starts an audit entry for this resolution: signed by the worker and
// naming the response, or by the person who referred someone by hand.
func (r *resolution) audit(action string, detail map[string]any) store.AuditEntry {
	return store.AuditEntry{
		LeadID:     r.lead.ID,
		At:         r.now,
		Actor:      cmp.Or(r.actor, ProcessActor),
		Action:     action,
		ResponseID: r.responseID(),
		Detail:     detail,
	}
}

// fieldChange is one overwritten value.
type fieldChange struct {
	field, old, new string
}

// mergeInto brings src's values into dst. Blank fields of dst are filled
// (and named in filled); when overwrite is set, a differing non-blank value
// replaces dst's (and is returned as a change, keeping the old value). The
// email is never overwritten: an address is an identity, and a second one
// is added beside it, not put in its place.
// Attribution (lead source, campaign, UTM) is first touch: filled, never
// overwritten. Interests accumulate; the first one recorded stays primary.
// Consent given is kept; a later consent refreshes its time and text.
func mergeInto(dst *store.Lead, src store.Lead, overwrite bool) (filled []string, changes []fieldChange) {
	set := func(field string, d *string, s string, overwritable bool) {
		switch {
		case s == "" || *d == s:
		case *d == "":
			*d = s
			filled = append(filled, field)
		case overwrite && overwritable:
			changes = append(changes, fieldChange{field, *d, s})
			*d = s
		}
	}
	if dst.Email == "" && src.EmailCanonical != "" {
		set("email", &dst.Email, src.Email, false)
		dst.EmailCanonical = src.EmailCanonical
	}
	set("first_name", &dst.FirstName, src.FirstName, true)
	set("last_name", &dst.LastName, src.LastName, true)
	set("phone", &dst.Phone, src.Phone, true)
	if dst.Phone != "" {
		// A number that parses supersedes one kept as typed.
		dst.PhoneUnverified = ""
	} else {
		set("phone_unverified", &dst.PhoneUnverified, src.PhoneUnverified, true)
	}
	set("company", &dst.Company, src.Company, true)
	set("title", &dst.Title, src.Title, true)
	set("city", &dst.City, src.City, true)
	set("state", &dst.State, src.State, true)
	set("country", &dst.Country, src.Country, true)
	set("description", &dst.Description, src.Description, true)
	set("lead_source", &dst.LeadSource, src.LeadSource, false)
	set("campaign", &dst.Campaign, src.Campaign, false)

	for _, interest := range src.Interests {
		if !slices.ContainsFunc(dst.Interests, func(s string) bool { return strings.EqualFold(s, interest) }) {
			dst.Interests = append(dst.Interests, interest)
			filled = append(filled, "interests")
		}
	}
	if dst.PrimaryInterest == "" {
		set("primary_interest", &dst.PrimaryInterest, cmp.Or(src.PrimaryInterest, firstOf(dst.Interests)), false)
	}

	if src.Consent {
		if !dst.Consent {
			dst.Consent = true
			filled = append(filled, "consent")
		}
		set("consent_text", &dst.ConsentText, src.ConsentText, true)
		if src.ConsentAt != nil && (dst.ConsentAt == nil || src.ConsentAt.After(*dst.ConsentAt)) {
			dst.ConsentAt = src.ConsentAt
		}
	}

	if len(dst.UTM) == 0 && len(src.UTM) > 0 {
		dst.UTM = maps.Clone(src.UTM)
		filled = append(filled, "utm")
	}
	if len(src.Custom) > 0 {
		custom := maps.Clone(dst.Custom)
		if custom == nil {
			custom = map[string]string{}
		}
		for _, k := range slices.Sorted(maps.Keys(src.Custom)) {
			v, ok := custom[k]
			if !ok && len(custom) >= maxLeadCustomFields {
				// Each submission is capped by its form; this bounds what
				// many submissions add up to on one lead.
				continue
			}
			set("custom."+k, &v, src.Custom[k], true)
			custom[k] = v
		}
		dst.Custom = custom
	}
	if dst.ContactID == nil && src.ContactID != nil {
		dst.ContactID = src.ContactID
		filled = append(filled, "contact_id")
	}
	return slices.Compact(filled), changes
}

// leadFromContact shapes a contact as a lead, to complete a lead made for it.
func leadFromContact(c store.Contact) store.Lead {
	return store.Lead{
		FirstName:      c.FirstName,
		LastName:       c.LastName,
		Email:          c.Email,
		EmailCanonical: c.EmailCanonical,
		Phone:          c.Phone,
		Company:        c.Company,
		Title:          c.Title,
		Country:        c.Country,
	}
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// optional turns a lookup's ErrNotFound into a nil result.
func optional[T any](v T, err error) (*T, error) {
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}
