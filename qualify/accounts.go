package qualify

import (
	"context"

	"github.com/google/uuid"

	"leadflow/store"
)

// AccountDetail is an account with a page of its contacts and a page of its
// opportunities, newest first.
type AccountDetail struct {
	Account       store.Account
	Contacts      []store.Contact
	Opportunities []store.Opportunity
}

// Accounts pages through the workspace's accounts.
func (e *Engine) Accounts(ctx context.Context, workspaceID uuid.UUID, f store.AccountFilter) ([]store.Account, error) {
	return e.cfg.Store.ListAccounts(ctx, workspaceID, f)
}

// Account returns an account of the workspace with one page of its
// contacts and one of its opportunities.
func (e *Engine) Account(ctx context.Context, workspaceID, id uuid.UUID, contacts, opportunities store.Page) (AccountDetail, error) {
	a, err := e.cfg.Store.GetAccount(ctx, workspaceID, id)
	if err != nil {
		return AccountDetail{}, err
	}
	cs, err := e.cfg.Store.AccountContacts(ctx, workspaceID, id, contacts)
	if err != nil {
		return AccountDetail{}, err
	}
	os, err := e.cfg.Store.ListOpportunities(ctx, workspaceID, store.OpportunityFilter{AccountID: id, Page: opportunities})
	if err != nil {
		return AccountDetail{}, err
	}
	return AccountDetail{Account: a, Contacts: cs, Opportunities: os}, nil
}

// accountFilter is the accounts list's filter of a search and a page.
func accountFilter(q string, p store.Page) store.AccountFilter {
	return store.AccountFilter{Q: q, Page: p}
}
