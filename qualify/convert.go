package qualify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"leadflow/embed/metrics"
	"leadflow/store"
)

// Webhook events of a handoff's decision.
const (
	EventHandoffAccepted = "handoff.accepted"
	EventHandoffRejected = "handoff.rejected"
)

// Opportunity defaults of a conversion.
const (
	defaultProbability = 10
	defaultCloseAfter  = 90 * 24 * time.Hour
)

// AcceptInput is what sales sends with an accept.
type AcceptInput struct {
	// CreateOpportunity: nil means true.
	CreateOpportunity *bool `json:"create_opportunity"`
	// Opportunity overrides the new opportunity's defaults.
	Opportunity *NewOpportunity `json:"opportunity"`
	// Owner, when set, is the owner the decision was allowed for: a
	// handoff reassigned since (by the SLA, by a manager) is a conflict, so
	// the former owner cannot decide it.
	Owner *uuid.UUID `json:"-"`
}

// NewOpportunity is what sales may set on the opportunity an accept makes;
// nil fields take their defaults.
type NewOpportunity struct {
	Name              *string `json:"name"`
	Amount            *Amount `json:"amount"`
	Stage             *string `json:"stage"`
	Probability       *int    `json:"probability"`
	ExpectedCloseDate *string `json:"expected_close_date"`
}

// Conversion is what an accept made: the decided handoff, the account and
// contact the lead became, and the opportunity (nil when none was asked for).
type Conversion struct {
	Handoff     store.Handoff      `json:"handoff"`
	Account     store.Account      `json:"account"`
	Contact     store.Contact      `json:"contact"`
	Opportunity *store.Opportunity `json:"opportunity"`
}

// Accept converts the lead of an open handoff, in one transaction, into an
// account (matched by the lead's company email domain or company name, else
// new), a contact (the lead's own, else the one with its email, else new:
// never a second one) and, unless asked not to, an opportunity owned by the
// handoff's owner. The lead goes through sales_accepted to converted and
// leaves every sequence; webhooks hear handoff.accepted. A handoff no
// longer open is store.ErrConflict, and nothing changes.
func (e *Engine) Accept(ctx context.Context, workspaceID, handoffID uuid.UUID, actor string, in AcceptInput) (Conversion, error) {
	create := in.CreateOpportunity == nil || *in.CreateOpportunity
	if !create && in.Opportunity != nil {
		return Conversion{}, invalid("opportunity", "must be absent when create_opportunity is false")
	}
	var want NewOpportunity
	if in.Opportunity != nil {
		want = *in.Opportunity
	}
	if err := want.validate(); err != nil {
		return Conversion{}, err
	}
	now := e.now().UTC()
	var out Conversion
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		h, lead, err := lockOpenHandoff(ctx, q, workspaceID, handoffID, in.Owner)
		if err != nil {
			return err
		}
		var detail map[string]any
		out, lead, detail, err = e.convertLead(ctx, q, lead, conversionPlan{
			Handoff: &h, Owner: h.OwnerID, Create: create, Opportunity: want, Actor: actor, Now: now,
		})
		if err != nil {
			return err
		}
		if out.Handoff, err = q.DecideHandoff(ctx, workspaceID, h.ID, store.HandoffAccepted, "", actor, now); err != nil {
			return err
		}
		if err := q.RecordHandoffDecisionEvent(ctx, h.ID, store.HandoffEventAccepted, h.OwnerID, actor, detail, now); err != nil {
			return err
		}
		users, err := ownerUsers(ctx, q, workspaceID, h.OwnerID)
		if err != nil {
			return err
		}
		payload := handoffPayload(EventHandoffAccepted, now, out.Handoff, lead, userRef(users, h.OwnerID), map[string]any{
			"account": out.Account, "contact": out.Contact, "opportunity": out.Opportunity,
		})
		_, err = q.QueueWebhookEvent(ctx, workspaceID, EventHandoffAccepted, EventHandoffAccepted+":"+h.ID.String(), payload, now)
		return err
	})
	if err != nil {
		return Conversion{}, fmt.Errorf("accept handoff: %w", err)
	}
	attrs := []any{"handoff_id", handoffID, "lead_id", out.Handoff.LeadID, "account_id", out.Account.ID, "contact_id", out.Contact.ID}
	if out.Opportunity != nil {
		attrs = append(attrs, "opportunity_id", out.Opportunity.ID)
	}
	metrics.Handoff(metrics.HandoffAccepted)
	e.log.Info("handoff_accepted", attrs...)
	return out, nil
}

// conversionPlan is what one conversion of a lead is asked to do: through
// an accepted handoff (Handoff set) or directly; the opportunity's owner;
// sales' choice of account and contact (none: the matching decides); and
// the opportunity to make, if any.
type conversionPlan struct {
	Handoff     *store.Handoff
	Owner       *uuid.UUID
	Choice      conversionChoice
	Create      bool
	Opportunity NewOpportunity
	Actor       string
	Now         time.Time
}

// conversionChoice is sales' choice for a direct conversion. AccountID
// names an existing account; NewAccount (name and domain) asks for a new
// one; ContactID names the contact the lead is. Zero values leave it to
// the matching of an accept.
type conversionChoice struct {
	AccountID  *uuid.UUID
	NewAccount *store.Account
	ContactID  *uuid.UUID
}

// convertLead is the one conversion, in q's transaction, of a locked lead:
// the account and contact it becomes (convertPerson), the opportunity
// unless none was asked for, the lead's moves to converted (through
// sales_accepted when a handoff is accepted), their audit, and the lead's
// exit from every sequence. It returns what it made, the moved lead and
// the detail its audit recorded.
func (e *Engine) convertLead(ctx context.Context, q *store.Queries, lead store.Lead, plan conversionPlan) (Conversion, store.Lead, map[string]any, error) {
	ws, now, actor := lead.WorkspaceID, plan.Now, plan.Actor
	account, contact, err := e.convertPerson(ctx, q, lead, plan.Choice, actor, now)
	if err != nil {
		return Conversion{}, lead, nil, err
	}
	out := Conversion{Account: account, Contact: contact}
	var handoffID *uuid.UUID
	statuses := []string{store.LeadConverted}
	if plan.Handoff != nil {
		handoffID = &plan.Handoff.ID
		statuses = []string{store.LeadSalesAccepted, store.LeadConverted}
	}
	if plan.Create {
		opp, err := e.openOpportunity(ctx, q, handoffID, plan.Owner, lead, account, contact, plan.Opportunity, actor, now)
		if err != nil {
			return Conversion{}, lead, nil, err
		}
		out.Opportunity = &opp
	}
	var audit []store.AuditEntry
	for _, status := range statuses {
		moved, err := q.MoveLeadToStatus(ctx, ws, lead.ID, status, "", now)
		if err != nil {
			return Conversion{}, lead, nil, err
		}
		entry := store.AuditEntry{
			LeadID: lead.ID, At: now, Actor: actor, Action: store.AuditStatusChanged,
			Field: "status", OldValue: lead.Status, NewValue: status,
		}
		if handoffID != nil {
			entry.Detail = map[string]any{"handoff_id": *handoffID}
		}
		audit = append(audit, entry)
		lead = moved
	}
	detail := map[string]any{"account_id": account.ID, "contact_id": contact.ID}
	if handoffID != nil {
		detail["handoff_id"] = *handoffID
	} else {
		detail["direct"] = true
	}
	if out.Opportunity != nil {
		detail["opportunity_id"] = out.Opportunity.ID
	}
	audit = append(audit, store.AuditEntry{
		LeadID: lead.ID, At: now, Actor: actor, Action: store.AuditConverted, Detail: detail,
	})
	if err := q.InsertAuditEntries(ctx, ws, audit...); err != nil {
		return Conversion{}, lead, nil, err
	}
	if _, err := q.ExitEnrollmentsForLead(ctx, ws, lead.ID, store.ExitConverted, now); err != nil {
		return Conversion{}, lead, nil, err
	}
	return out, lead, detail, nil
}

// lockOpenHandoff locks a handoff and its lead for a decision. The lead is
// locked first, as everything else that changes a lead and its handoffs
// does, so that a decision and a qualification never wait on each other in
// a circle.
func lockOpenHandoff(ctx context.Context, q *store.Queries, workspaceID, handoffID uuid.UUID, owner *uuid.UUID) (store.Handoff, store.Lead, error) {
	h, err := q.GetHandoff(ctx, workspaceID, handoffID)
	if err != nil {
		return store.Handoff{}, store.Lead{}, err
	}
	lead, err := q.LockLead(ctx, workspaceID, h.LeadID)
	if err != nil {
		return store.Handoff{}, store.Lead{}, err
	}
	if h, err = q.LockHandoffToDecide(ctx, workspaceID, handoffID); err != nil {
		return store.Handoff{}, store.Lead{}, err
	}
	if h.Status != store.HandoffOpen {
		return store.Handoff{}, store.Lead{}, &decidedError{status: h.Status}
	}
	if owner != nil && (h.OwnerID == nil || *h.OwnerID != *owner) {
		return store.Handoff{}, store.Lead{}, &reassignedError{}
	}
	return h, lead, nil
}

// reassignedError is a decision on a handoff that was given to another
// owner after the decision was allowed: a conflict.
type reassignedError struct{}

func (e *reassignedError) Error() string { return "handoff reassigned meanwhile" }
func (e *reassignedError) Unwrap() error { return store.ErrConflict }
func (e *reassignedError) FieldErrors() map[string]string {
	return map[string]string{"owner_id": "the handoff was reassigned to another owner meanwhile: reload it"}
}

// decidedError is a decision on a handoff already decided: a conflict,
// whose fields say what it was.
type decidedError struct{ status string }

func (e *decidedError) Error() string { return "handoff is already " + e.status }
func (e *decidedError) Unwrap() error { return store.ErrConflict }
func (e *decidedError) FieldErrors() map[string]string {
	return map[string]string{"status": "the handoff is already " + e.status}
}

// convertPerson finds or makes the lead's account and contact and links
// them, the lead to its contact and the contact to its account. The
// contact is the lead's own, else the one with its email, else the one
// sales chose, else new: never a second one of a person. The account is the
// contact's, else the one sales chose or asked for, else the matching's.
func (e *Engine) convertPerson(ctx context.Context, q *store.Queries, lead store.Lead, choice conversionChoice, actor string, now time.Time) (store.Account, store.Contact, error) {
	ws := lead.WorkspaceID
	var contact *store.Contact
	switch {
	case lead.ContactID != nil:
		c, err := q.LockContact(ctx, ws, *lead.ContactID)
		if err != nil {
			return store.Account{}, store.Contact{}, err
		}
		contact = &c
	case lead.EmailCanonical != "":
		c, err := q.MatchContactByEmail(ctx, ws, lead.EmailCanonical)
		if err == nil {
			contact = &c
		} else if !errors.Is(err, store.ErrNotFound) {
			return store.Account{}, store.Contact{}, err
		}
	}
	if choice.ContactID != nil {
		switch {
		case contact != nil && contact.ID != *choice.ContactID:
			return store.Account{}, store.Contact{}, invalid("contact_id", "the lead is the contact "+contact.ID.String()+" already: it is used, never a second one")
		case contact == nil:
			c, err := q.LockContact(ctx, ws, *choice.ContactID)
			if errors.Is(err, store.ErrNotFound) {
				return store.Account{}, store.Contact{}, invalid("contact_id", "is not a contact of this workspace")
			}
			if err != nil {
				return store.Account{}, store.Contact{}, err
			}
			contact = &c
		}
	}
	var account store.Account
	var err error
	switch {
	case contact != nil && contact.AccountID != nil:
		// A known person's organisation is already decided.
		if choice.AccountID != nil && *choice.AccountID != *contact.AccountID || choice.NewAccount != nil {
			return store.Account{}, store.Contact{}, invalid("account_id", "the contact works for the account "+contact.AccountID.String()+": it is used")
		}
		account, err = q.GetAccount(ctx, ws, *contact.AccountID)
	case choice.AccountID != nil:
		account, err = q.GetAccount(ctx, ws, *choice.AccountID)
		if errors.Is(err, store.ErrNotFound) {
			return store.Account{}, store.Contact{}, invalid("account_id", "is not an account of this workspace")
		}
	case choice.NewAccount != nil:
		account, err = newChosenAccount(ctx, q, ws, *choice.NewAccount, now)
	default:
		account, err = findOrCreateAccount(ctx, q, lead, now)
	}
	if err != nil {
		return store.Account{}, store.Contact{}, err
	}
	if contact == nil {
		// EnsureContact rather than an insert: a response of the same person
		// may be making the contact right now.
		c, _, err := q.EnsureContact(ctx, store.Contact{
			WorkspaceID: ws, FirstName: lead.FirstName, LastName: lead.LastName, Email: lead.Email,
			EmailCanonical: lead.EmailCanonical, Phone: lead.Phone, Company: lead.Company,
			Title: lead.Title, Country: lead.Country, AccountID: &account.ID,
		})
		if err != nil {
			return store.Account{}, store.Contact{}, err
		}
		contact = &c
	}
	if contact.AccountID == nil {
		c, err := q.SetContactAccount(ctx, ws, contact.ID, account.ID, now)
		if err != nil {
			return store.Account{}, store.Contact{}, err
		}
		contact = &c
	}
	if lead.ContactID == nil || *lead.ContactID != contact.ID {
		if _, err := q.LinkLeadContact(ctx, ws, lead.ID, contact.ID, now); err != nil {
			return store.Account{}, store.Contact{}, err
		}
		err := q.InsertAuditEntries(ctx, ws, store.AuditEntry{
			LeadID: lead.ID, At: now, Actor: actor, Action: store.AuditContactLinked,
			Field: "contact_id", NewValue: contact.ID.String(),
		})
		if err != nil {
			return store.Account{}, store.Contact{}, err
		}
	}
	return account, *contact, nil
}

// newChosenAccount makes the account sales asked for by name and domain; a
// domain the workspace has an account of already is named, to choose that
// one instead.
func newChosenAccount(ctx context.Context, q *store.Queries, ws uuid.UUID, a store.Account, now time.Time) (store.Account, error) {
	a.Name, a.Domain = strings.TrimSpace(a.Name), strings.ToLower(strings.TrimSpace(a.Domain))
	if a.Domain != "" {
		if err := q.LockAccountKey(ctx, ws, "domain:"+a.Domain); err != nil {
			return store.Account{}, err
		}
		found, err := q.AccountByDomain(ctx, ws, a.Domain)
		if err == nil {
			return store.Account{}, invalid("account.domain", "is the domain of the account "+found.Name+" ("+found.ID.String()+"): choose it by account_id")
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Account{}, err
		}
	}
	return q.InsertAccount(ctx, store.Account{WorkspaceID: ws, Name: a.Name, Domain: a.Domain, CreatedAt: now})
}

// findOrCreateAccount finds the lead's organisation by its email domain
// (unless it is a free mail domain, which names no organisation), then by
// company name ignoring case, and otherwise makes it. Advisory locks on the
// domain and the name make concurrent conversions of one company agree.
func findOrCreateAccount(ctx context.Context, q *store.Queries, lead store.Lead, now time.Time) (store.Account, error) {
	ws := lead.WorkspaceID
	domain := companyDomain(lead.Email)
	company := strings.TrimSpace(lead.Company)
	if domain != "" {
		if err := q.LockAccountKey(ctx, ws, "domain:"+domain); err != nil {
			return store.Account{}, err
		}
		a, err := q.AccountByDomain(ctx, ws, domain)
		if !errors.Is(err, store.ErrNotFound) {
			return a, err
		}
	}
	if company != "" {
		if err := q.LockAccountKey(ctx, ws, "name:"+strings.ToLower(company)); err != nil {
			return store.Account{}, err
		}
		a, err := q.AccountByName(ctx, ws, company)
		switch {
		case err == nil && a.Domain == "" && domain != "":
			// Learn the company's domain: its next people match by it.
			return q.SetAccountDomain(ctx, ws, a.ID, domain)
		case !errors.Is(err, store.ErrNotFound):
			return a, err
		}
	}
	name := cmpOr(company, domain, strings.TrimSpace(lead.FirstName+" "+lead.LastName), lead.Email, "Unnamed account")
	return q.InsertAccount(ctx, store.Account{WorkspaceID: ws, Name: name, Domain: domain, CreatedAt: now})
}

// cmpOr is cmp.Or for strings, ignoring blank ones.
func cmpOr(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// companyDomain is the domain of an email address when it names an
// organisation: "" for free mail providers and malformed addresses.
func companyDomain(email string) string {
	_, domain, ok := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@")
	if !ok || domain == "" || !strings.Contains(domain, ".") || strings.Contains(domain, "@") {
		return ""
	}
	if freeMailDomains[domain] {
		return ""
	}
	// yahoo.co.jp, hotmail.fr, gmx.at...: the provider, whatever the country
	// (the rest is a country or generic suffix, not a company's own name).
	if label, rest, _ := strings.Cut(domain, "."); freeMailProviders[label] && isSuffix(rest) {
		return ""
	}
	return domain
}

// isSuffix tells a public suffix like "com", "fr" or "co.uk" from a
// company's domain, roughly: at most two labels of at most three letters.
func isSuffix(s string) bool {
	labels := strings.Split(s, ".")
	if len(labels) > 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 3 {
			return false
		}
	}
	return true
}

// freeMailProviders are providers with a domain per country; their first
// label is enough.
var freeMailProviders = map[string]bool{
	"gmail": true, "googlemail": true, "yahoo": true, "ymail": true, "hotmail": true,
	"outlook": true, "live": true, "msn": true, "aol": true, "gmx": true, "yandex": true,
	"icloud": true, "protonmail": true, "libero": true, "rediffmail": true,
}

// freeMailDomains are other addresses anyone can have.
var freeMailDomains = map[string]bool{
	"me.com": true, "mac.com": true, "proton.me": true, "pm.me": true, "web.de": true,
	"t-online.de": true, "zoho.com": true, "qq.com": true, "163.com": true, "126.com": true,
	"naver.com": true, "fastmail.com": true, "hey.com": true, "btinternet.com": true,
	"comcast.net": true, "orange.fr": true, "free.fr": true, "laposte.net": true,
	"seznam.cz": true, "mail.com": true, "mail.ru": true, "wp.pl": true, "o2.pl": true, "tutanota.com": true, "inbox.com": true,
}

// openOpportunity makes the opportunity of a conversion (of the accepted
// handoff, when there is one), owned by owner and out of the forecast, with
// its first stage recorded.
func (e *Engine) openOpportunity(ctx context.Context, q *store.Queries, handoffID, owner *uuid.UUID, lead store.Lead,
	account store.Account, contact store.Contact, in NewOpportunity, actor string, now time.Time,
) (store.Opportunity, error) {
	company := cmpOr(lead.Company, account.Name)
	name := company
	if lead.PrimaryInterest != "" {
		name = company + " - " + lead.PrimaryInterest
	}
	closeDate := now.Add(defaultCloseAfter).Format(time.DateOnly)
	o := store.Opportunity{
		WorkspaceID: lead.WorkspaceID, AccountID: account.ID, ContactID: contact.ID, LeadID: lead.ID,
		HandoffID: handoffID, Name: name, Amount: "0", Stage: store.StageQualification,
		Probability: defaultProbability, ExpectedCloseDate: &closeDate, OwnerID: owner, CreatedAt: now,
	}
	if in.Name != nil {
		o.Name = strings.TrimSpace(*in.Name)
	}
	if in.Amount != nil {
		o.Amount = string(*in.Amount)
	}
	if in.Stage != nil {
		o.Stage = *in.Stage
		o.Probability = stageProbability(o.Stage, o.Probability)
	}
	if in.Probability != nil {
		o.Probability = *in.Probability
	}
	if in.ExpectedCloseDate != nil {
		o.ExpectedCloseDate = in.ExpectedCloseDate
	}
	opp, err := q.InsertOpportunity(ctx, o)
	if err != nil {
		return store.Opportunity{}, err
	}
	_, err = q.InsertStageChange(ctx, store.StageChange{OpportunityID: opp.ID, ToStage: opp.Stage, Actor: actor, At: now})
	return opp, err
}

// stages are an opportunity's stages, in order.
var stages = []string{
	store.StageQualification, store.StageDiscovery, store.StageProposal,
	store.StageNegotiation, store.StageClosedWon, store.StageClosedLost,
}

// stageProbability is the win probability a move to stage implies: a won
// sale is certain and a lost one is not going to happen; other stages keep
// the probability sales set.
func stageProbability(stage string, current int) int {
	switch stage {
	case store.StageClosedWon:
		return 100
	case store.StageClosedLost:
		return 0
	}
	return current
}

// Amount is money as a decimal string ("1500", "1500.5", "1500.50"). It
// decodes from a JSON string or number, so that clients need not choose,
// and is never a float.
type Amount string

// UnmarshalJSON takes a JSON string or number as it is written.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	switch {
	case strings.HasPrefix(s, `"`):
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*a = Amount(strings.TrimSpace(v))
	case s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9'):
		*a = Amount(s)
	default:
		return &json.UnmarshalTypeError{Value: "non-number", Type: reflect.TypeFor[float64]()}
	}
	return nil
}

// amountPattern is what numeric(14, 2) holds: twelve digits and cents.
var amountPattern = regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]{1,2})?$`)

// check says what is wrong with an amount, or "".
func (a Amount) check() string {
	switch {
	case strings.HasPrefix(string(a), "-"):
		return "must be at least 0"
	case !amountPattern.MatchString(string(a)):
		return "must be a decimal amount with at most 12 digits and 2 decimals, like 1500.00"
	}
	return ""
}

// validate checks the fields sales set on a new opportunity.
func (o NewOpportunity) validate() error {
	bad := map[string]string{}
	checkOpportunityFields(bad, "opportunity.", o.Name, o.Amount, o.Stage, o.Probability, o.ExpectedCloseDate)
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	return nil
}

// checkOpportunityFields adds to bad what is wrong with the fields given.
func checkOpportunityFields(bad map[string]string, prefix string, name *string, amount *Amount, stage *string, probability *int, closeDate *string) {
	if name != nil {
		switch n := strings.TrimSpace(*name); {
		case n == "":
			bad[prefix+"name"] = "must not be empty"
		case len(n) > 200:
			bad[prefix+"name"] = "must be at most 200 characters"
		}
	}
	if amount != nil {
		if msg := amount.check(); msg != "" {
			bad[prefix+"amount"] = msg
		}
	}
	if stage != nil && !slices.Contains(stages, *stage) {
		bad[prefix+"stage"] = "must be one of " + strings.Join(stages, ", ")
	}
	if probability != nil && (*probability < 0 || *probability > 100) {
		bad[prefix+"probability"] = "must be from 0 to 100"
	}
	if closeDate != nil {
		if _, err := time.Parse(time.DateOnly, *closeDate); err != nil {
			bad[prefix+"expected_close_date"] = "must be a date, YYYY-MM-DD"
		}
	}
}

// OpportunityPatch is a change to an opportunity; nil fields stay as they
// are. InForecast is a sales admin's decision: the API checks who asks.
type OpportunityPatch struct {
	Name              *string    `json:"name"`
	Amount            *Amount    `json:"amount"`
	Stage             *string    `json:"stage"`
	Probability       *int       `json:"probability"`
	ExpectedCloseDate *string    `json:"expected_close_date"`
	OwnerID           *uuid.UUID `json:"owner_id"`
	InForecast        *bool      `json:"in_forecast"`
}

// OpportunityDetail is an opportunity with its stage history.
type OpportunityDetail struct {
	store.Opportunity
	StageHistory []store.StageChange `json:"stage_history"`
}

// Opportunity returns an opportunity of the workspace with its stage
// history.
func (e *Engine) Opportunity(ctx context.Context, workspaceID, id uuid.UUID) (OpportunityDetail, error) {
	o, err := e.cfg.Store.GetOpportunity(ctx, workspaceID, id)
	if err != nil {
		return OpportunityDetail{}, err
	}
	h, err := e.cfg.Store.OpportunityStageHistory(ctx, workspaceID, id)
	if err != nil {
		return OpportunityDetail{}, err
	}
	return OpportunityDetail{Opportunity: o, StageHistory: h}, nil
}

// UpdateOpportunity applies a patch in one transaction; a change of stage is
// recorded in the stage history with the actor. An owner who is not a user
// of the workspace is store.ErrInvalidReference.
func (e *Engine) UpdateOpportunity(ctx context.Context, workspaceID, id uuid.UUID, actor string, p OpportunityPatch) (OpportunityDetail, error) {
	bad := map[string]string{}
	checkOpportunityFields(bad, "", p.Name, p.Amount, p.Stage, p.Probability, p.ExpectedCloseDate)
	if len(bad) > 0 {
		return OpportunityDetail{}, &ValidationError{Fields: bad}
	}
	now := e.now().UTC()
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		o, err := q.LockOpportunity(ctx, workspaceID, id)
		if err != nil {
			return err
		}
		from := o.Stage
		if p.Name != nil {
			o.Name = strings.TrimSpace(*p.Name)
		}
		if p.Amount != nil {
			o.Amount = string(*p.Amount)
		}
		if p.Stage != nil {
			o.Stage = *p.Stage
			if o.Stage != from {
				o.Probability = stageProbability(o.Stage, o.Probability)
			}
		}
		if p.Probability != nil {
			o.Probability = *p.Probability
		}
		if p.ExpectedCloseDate != nil {
			o.ExpectedCloseDate = p.ExpectedCloseDate
		}
		if p.OwnerID != nil {
			o.OwnerID = p.OwnerID
		}
		if p.InForecast != nil {
			o.InForecast = *p.InForecast
		}
		o.UpdatedAt = now
		if _, err := q.UpdateOpportunity(ctx, o); err != nil {
			if errors.Is(err, store.ErrInvalidReference) {
				return fmt.Errorf("%w: %w", err, invalid("owner_id", "is not a user of this workspace"))
			}
			return err
		}
		if o.Stage != from {
			_, err := q.InsertStageChange(ctx, store.StageChange{
				OpportunityID: o.ID, FromStage: from, ToStage: o.Stage, Actor: actor, At: now,
			})
			return err
		}
		return nil
	})
	if err != nil {
		return OpportunityDetail{}, fmt.Errorf("update opportunity: %w", err)
	}
	return e.Opportunity(ctx, workspaceID, id)
}

// Opportunities pages through the workspace's opportunities.
func (e *Engine) Opportunities(ctx context.Context, workspaceID uuid.UUID, f store.OpportunityFilter) ([]store.Opportunity, error) {
	if f.Stage != "" && !slices.Contains(stages, f.Stage) {
		return nil, invalid("stage", "must be one of "+strings.Join(stages, ", "))
	}
	return e.cfg.Store.ListOpportunities(ctx, workspaceID, f)
}
