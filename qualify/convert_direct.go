package qualify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"leadflow/store"
)

// A direct conversion is sales converting a lead without a handoff: the
// account owner who already knows the person. It is the accept's
// conversion (convertLead), without the handoff:
//
//   - who may: the rule of deciding on a handoff (MayWork) with the lead's
//     owner: the owner, a sales_manager of a team the owner is in, a
//     sales_admin, an admin key. A lead nobody owns is a sales admin's.
//   - a lead with an open handoff is a conflict: the handoff is accepted
//     (or rejected) instead, so that it is decided once, with its SLA and
//     its webhooks, and never left open on a converted lead.
//   - a converted or merged lead is a conflict; the lead row is locked
//     first, so two concurrent conversions make one account, one contact
//     and one opportunity, and the second one is the conflict.

// ConvertInput is what sales sends with a direct conversion. AccountID and
// Account (a new one) are one choice; neither leaves the account to the
// matching. ContactID is used only when no contact is the lead's person
// already.
type ConvertInput struct {
	AccountID *uuid.UUID
	Account   *NewAccount
	ContactID *uuid.UUID
	// CreateOpportunity: nil means true.
	CreateOpportunity *bool
	Opportunity       *NewOpportunity
}

// NewAccount is the account sales asks a conversion to make.
type NewAccount struct {
	Name   string
	Domain string
}

// DirectConversion is what a direct conversion made: the converted lead,
// its account and contact, and the opportunity (nil when none was asked
// for).
type DirectConversion struct {
	Lead        store.Lead
	Account     store.Account
	Contact     store.Contact
	Opportunity *store.Opportunity
}

// choice checks the input's account and contact choice.
func (in ConvertInput) choice() (conversionChoice, error) {
	bad := map[string]string{}
	c := conversionChoice{AccountID: in.AccountID, ContactID: in.ContactID}
	if in.Account != nil {
		if in.AccountID != nil {
			bad["account"] = "give account_id or account, not both"
		}
		a := store.Account{Name: strings.TrimSpace(in.Account.Name), Domain: strings.ToLower(strings.TrimSpace(in.Account.Domain))}
		switch {
		case a.Name == "":
			bad["account.name"] = "must not be empty"
		case len(a.Name) > 200:
			bad["account.name"] = "must be at most 200 characters"
		}
		if a.Domain != "" && (!strings.Contains(a.Domain, ".") || strings.ContainsAny(a.Domain, "@/ ") || len(a.Domain) > 253) {
			bad["account.domain"] = "must be a domain like example.com"
		}
		c.NewAccount = &a
	}
	if len(bad) > 0 {
		return conversionChoice{}, &ValidationError{Fields: bad}
	}
	return c, nil
}

// ConvertLead converts a lead directly, in one transaction, for w (see the
// rule above): the account chosen, asked for or matched, the contact that
// is the person (never a second one), and, unless asked not to, an
// opportunity owned by the lead's owner (else by w). The lead moves to
// converted and leaves every sequence.
func (e *Engine) ConvertLead(ctx context.Context, workspaceID, leadID uuid.UUID, w Worker, actor string, in ConvertInput) (DirectConversion, error) {
	create := in.CreateOpportunity == nil || *in.CreateOpportunity
	if !create && in.Opportunity != nil {
		return DirectConversion{}, invalid("opportunity", "must be absent when create_opportunity is false")
	}
	var want NewOpportunity
	if in.Opportunity != nil {
		want = *in.Opportunity
	}
	if err := want.validate(); err != nil {
		return DirectConversion{}, err
	}
	choice, err := in.choice()
	if err != nil {
		return DirectConversion{}, err
	}
	now := e.now().UTC()
	var out DirectConversion
	err = e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		lead, err := q.LockLead(ctx, workspaceID, leadID)
		if err != nil {
			return err
		}
		if err := e.MayWork(ctx, workspaceID, w, lead.OwnerID, nil); err != nil {
			return err
		}
		if err := convertible(ctx, q, lead); err != nil {
			return err
		}
		owner := lead.OwnerID
		if owner == nil && w.UserID != uuid.Nil {
			owner = &w.UserID
		}
		c, moved, _, err := e.convertLead(ctx, q, lead, conversionPlan{
			Owner: owner, Choice: choice, Create: create, Opportunity: want, Actor: actor, Now: now,
		})
		if err != nil {
			return err
		}
		out = DirectConversion{Lead: moved, Account: c.Account, Contact: c.Contact, Opportunity: c.Opportunity}
		return nil
	})
	if err != nil {
		return DirectConversion{}, fmt.Errorf("convert lead: %w", err)
	}
	attrs := []any{"lead_id", leadID, "workspace_id", workspaceID, "account_id", out.Account.ID, "contact_id", out.Contact.ID}
	if out.Opportunity != nil {
		attrs = append(attrs, "opportunity_id", out.Opportunity.ID)
	}
	e.log.Info("lead_converted", attrs...)
	return out, nil
}

// convertible says why a lead cannot be converted directly now: merged,
// converted, or with an open handoff (a conflict each), or nil.
func convertible(ctx context.Context, q *store.Queries, lead store.Lead) error {
	switch {
	case lead.MergedInto != nil:
		return conflict("lead", "was merged into "+lead.MergedInto.String()+": convert that lead")
	case lead.Status == store.LeadConverted:
		return conflict("lead", "is converted already")
	}
	open, err := q.LeadHasOpenHandoff(ctx, lead.WorkspaceID, lead.ID)
	if err != nil {
		return err
	}
	if open {
		return conflict("lead", "has an open handoff: accept the handoff to convert the lead")
	}
	return nil
}

// ConvertPreview is what a direct conversion of the lead would match or
// make, as the accept page shows it: the account and contact (a zero ID is
// a new one, made with the name shown) and the opportunity's defaults.
// Blocked says why the lead cannot be converted now ("" when it can).
type ConvertPreview struct {
	Lead store.Lead
	AcceptPreview
	Blocked string
}

// PreviewConvert reads what ConvertLead would do with the lead for w,
// writing nothing. Who may see it is who may convert.
func (e *Engine) PreviewConvert(ctx context.Context, workspaceID, leadID uuid.UUID, w Worker) (ConvertPreview, error) {
	st := e.cfg.Store
	lead, err := st.GetLead(ctx, workspaceID, leadID)
	if err != nil {
		return ConvertPreview{}, err
	}
	if err := e.MayWork(ctx, workspaceID, w, lead.OwnerID, nil); err != nil {
		return ConvertPreview{}, err
	}
	owner := lead.OwnerID
	if owner == nil && w.UserID != uuid.Nil {
		owner = &w.UserID
	}
	// The accept's preview, for a handoff that would be the lead's.
	pv, err := e.PreviewAccept(ctx, workspaceID, store.Handoff{WorkspaceID: workspaceID, LeadID: lead.ID, OwnerID: owner})
	if err != nil {
		return ConvertPreview{}, err
	}
	out := ConvertPreview{Lead: lead, AcceptPreview: pv}
	if err := convertible(ctx, st.Queries, lead); err != nil {
		if fe, ok := errors.AsType[*ValidationError](err); ok {
			out.Blocked = "The lead " + fe.Fields["lead"] + "."
		} else {
			return ConvertPreview{}, err
		}
	}
	return out, nil
}
