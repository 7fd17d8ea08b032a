package store

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// AccountFilter narrows a list of accounts. Zero fields do not filter.
type AccountFilter struct {
	// Q matches a part of the name, ignoring case.
	Q string
	Page
}

// ListAccounts pages through the workspace's accounts, newest first.
func (q *Queries) ListAccounts(ctx context.Context, workspaceID uuid.UUID, f AccountFilter) ([]Account, error) {
	w := newListQuery(workspaceID)
	if f.Q != "" {
		w.add(`lower(name) LIKE ?`, likePattern(strings.ToLower(f.Q)))
	}
	rows, _ := q.db.Query(ctx, `SELECT `+accountColumns+` FROM accounts`+w.page(f.Page), w.args...)
	as, err := pgx.CollectRows(rows, pgx.RowToStructByName[Account])
	return as, interpret(err, "list accounts")
}

// AccountContacts pages through the contacts of an account, newest first.
func (q *Queries) AccountContacts(ctx context.Context, workspaceID, accountID uuid.UUID, p Page) ([]Contact, error) {
	w := newListQuery(workspaceID)
	w.add("account_id = ?", accountID)
	rows, _ := q.db.Query(ctx, `SELECT `+contactColumns+` FROM contacts`+w.page(p), w.args...)
	cs, err := pgx.CollectRows(rows, pgx.RowToStructByName[Contact])
	return cs, interpret(err, "account contacts")
}
