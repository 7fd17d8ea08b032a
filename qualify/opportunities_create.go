package qualify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"leadflow/store"
)

// OpportunityInput is an opportunity sales makes from scratch: for an
// account (an existing one by AccountID, or a new one), perhaps one of its
// contacts, with no lead or response behind it. Nil fields take their
// defaults: stage qualification, the stage's probability, an amount of 0,
// a close in 90 days, the acting person as owner, out of the forecast.
type OpportunityInput struct {
	AccountID         *uuid.UUID       `json:"account_id"`
	Account           *NewAccountInput `json:"account"`
	ContactID         *uuid.UUID       `json:"contact_id"`
	Name              *string          `json:"name"`
	Amount            *Amount          `json:"amount"`
	Stage             *string          `json:"stage"`
	Probability       *int             `json:"probability"`
	ExpectedCloseDate *string          `json:"expected_close_date"`
	OwnerID           *uuid.UUID       `json:"owner_id"`
	// InForecast is a sales admin's decision, as on a change.
	InForecast *bool `json:"in_forecast"`
}

// NewAccountInput is the account an opportunity made from scratch is for,
// when it is not one the workspace has by ID.
type NewAccountInput struct {
	Name   string `json:"name"`
	Domain string `json:"domain"`
}

// maxAccountName bounds an account's name, as the opportunity's.
const maxAccountName = 200

// validate checks the input's own fields, before anything is read.
func (in OpportunityInput) validate() (NewAccountInput, error) {
	bad := map[string]string{}
	if in.Name == nil {
		bad["name"] = "is required"
	}
	checkOpportunityFields(bad, "", in.Name, in.Amount, in.Stage, in.Probability, in.ExpectedCloseDate)
	var acct NewAccountInput
	switch {
	case in.AccountID != nil && in.Account != nil:
		bad["account_id"] = "give account_id or account, not both"
		bad["account"] = "give account_id or account, not both"
	case in.AccountID == nil && in.Account == nil:
		bad["account_id"] = "account_id or account is required"
	case in.Account != nil:
		acct.Name = strings.Join(strings.Fields(in.Account.Name), " ")
		switch {
		case acct.Name == "":
			bad["account.name"] = "must not be empty"
		case len(acct.Name) > maxAccountName:
			bad["account.name"] = fmt.Sprintf("must be at most %d characters", maxAccountName)
		}
		if in.Account.Domain != "" {
			d, ok := normalizeDomain(in.Account.Domain)
			if !ok {
				bad["account.domain"] = "must be a domain name, like example.com"
			}
			acct.Domain = d
		}
	}
	if len(bad) > 0 {
		return acct, &ValidationError{Fields: bad}
	}
	return acct, nil
}

// normalizeDomain reads a domain as people write it ("Example.com",
// "https://www.example.com/") into how accounts keep it ("example.com").
func normalizeDomain(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", false
		}
		s = u.Hostname()
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "www."), ".")
	if len(s) > 253 || !strings.Contains(s, ".") {
		return "", false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return "", false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return "", false
			}
		}
	}
	return s, true
}

// CreateOpportunity makes an opportunity from scratch, in one transaction,
// with its first stage recorded. It has no lead (the funnel tells such
// opportunities from converted leads' by that) and no handoff.
//
// A new account is matched as conversions match them, so that it is not a
// second one: by its domain, else by its name ignoring case; a matched
// account without a domain learns the one given. The contact must be one of
// the account's. The owner (the acting person by default) must be someone w
// may give work to (see MayWork), and in_forecast is a sales admin's to set
// (*ForbiddenError otherwise). References the workspace does not have are a
// *ValidationError on their field.
func (e *Engine) CreateOpportunity(ctx context.Context, workspaceID uuid.UUID, w Worker, actor string, in OpportunityInput) (OpportunityDetail, error) {
	acct, err := in.validate()
	if err != nil {
		return OpportunityDetail{}, err
	}
	if in.InForecast != nil {
		ok, err := e.IsSalesAdmin(ctx, workspaceID, w)
		if err != nil {
			return OpportunityDetail{}, err
		}
		if !ok {
			return OpportunityDetail{}, &ForbiddenError{"in_forecast may be set only by a sales admin: an admin key, or a key acting as a sales_admin user"}
		}
	}
	owner := in.OwnerID
	if owner == nil && w.UserID != uuid.Nil {
		owner = &w.UserID
	}
	if owner != nil {
		if _, err := e.cfg.Store.GetUser(ctx, workspaceID, *owner); errors.Is(err, store.ErrNotFound) {
			return OpportunityDetail{}, invalid("owner_id", "is not a user of this workspace")
		} else if err != nil {
			return OpportunityDetail{}, err
		}
	}
	if err := e.MayWork(ctx, workspaceID, w, owner, nil); err != nil {
		return OpportunityDetail{}, err
	}
	now := e.now().UTC()
	var id uuid.UUID
	err = e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		var account store.Account
		var err error
		if in.AccountID != nil {
			account, err = q.GetAccount(ctx, workspaceID, *in.AccountID)
			if errors.Is(err, store.ErrNotFound) {
				return invalid("account_id", "is not an account of this workspace")
			}
		} else {
			account, err = ensureAccount(ctx, q, workspaceID, acct, now)
		}
		if err != nil {
			return err
		}
		o := store.Opportunity{
			WorkspaceID: workspaceID, AccountID: account.ID, Name: strings.TrimSpace(*in.Name),
			Amount: "0", Stage: store.StageQualification, Probability: defaultProbability,
			OwnerID: owner, CreatedAt: now,
		}
		if in.ContactID != nil {
			c, err := q.GetContact(ctx, workspaceID, *in.ContactID)
			if errors.Is(err, store.ErrNotFound) {
				return invalid("contact_id", "is not a contact of this workspace")
			}
			if err != nil {
				return err
			}
			if c.AccountID == nil || *c.AccountID != account.ID {
				return invalid("contact_id", "must be a contact of the opportunity's account")
			}
			o.ContactID = c.ID
		}
		closeDate := now.Add(defaultCloseAfter).Format(time.DateOnly)
		o.ExpectedCloseDate = &closeDate
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
		if in.InForecast != nil {
			o.InForecast = *in.InForecast
		}
		opp, err := q.InsertOpportunity(ctx, o)
		if errors.Is(err, store.ErrInvalidReference) {
			return fmt.Errorf("%w: %w", err, invalid("owner_id", "is not a user of this workspace"))
		}
		if err != nil {
			return err
		}
		id = opp.ID
		_, err = q.InsertStageChange(ctx, store.StageChange{OpportunityID: opp.ID, ToStage: opp.Stage, Actor: actor, At: now})
		return err
	})
	if err != nil {
		return OpportunityDetail{}, fmt.Errorf("create opportunity: %w", err)
	}
	e.log.Info("opportunity_created", "opportunity_id", id, "workspace_id", workspaceID)
	return e.Opportunity(ctx, workspaceID, id)
}

// ensureAccount finds the workspace's account of a domain, else of a name
// ignoring case, else makes it; advisory locks on both keys make concurrent
// requests for one company agree (as findOrCreateAccount does for
// conversions).
func ensureAccount(ctx context.Context, q *store.Queries, workspaceID uuid.UUID, in NewAccountInput, now time.Time) (store.Account, error) {
	if in.Domain != "" {
		if err := q.LockAccountKey(ctx, workspaceID, "domain:"+in.Domain); err != nil {
			return store.Account{}, err
		}
		a, err := q.AccountByDomain(ctx, workspaceID, in.Domain)
		if !errors.Is(err, store.ErrNotFound) {
			return a, err
		}
	}
	if err := q.LockAccountKey(ctx, workspaceID, "name:"+strings.ToLower(in.Name)); err != nil {
		return store.Account{}, err
	}
	a, err := q.AccountByName(ctx, workspaceID, in.Name)
	switch {
	case err == nil && a.Domain == "" && in.Domain != "":
		return q.SetAccountDomain(ctx, workspaceID, a.ID, in.Domain)
	case !errors.Is(err, store.ErrNotFound):
		return a, err
	}
	return q.InsertAccount(ctx, store.Account{WorkspaceID: workspaceID, Name: in.Name, Domain: in.Domain, CreatedAt: now})
}
