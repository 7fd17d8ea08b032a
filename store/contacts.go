package store

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ContactFilter narrows a list of contacts. Zero fields do not filter.
type ContactFilter struct {
	// EmailCanonical matches the canonical email exactly.
	EmailCanonical string
	// Q matches a substring of, or is trigram-similar to, the name and
	// company, or is a substring of the email.
	Q string
	Page
}

// InsertContact stores a new contact; a zero ID is filled in. A contact whose
// canonical email the workspace already has is ErrConflict.
func (q *Queries) InsertContact(ctx context.Context, c Contact) (Contact, error) {
	if c.ID == uuid.Nil {
		c.ID = NewID()
	}
	rows, _ := q.db.Query(ctx, `
		INSERT INTO contacts (id, workspace_id, first_name, last_name, email, email_canonical, phone,
			company, title, country)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		RETURNING `+contactColumns,
		c.ID, c.WorkspaceID, c.FirstName, c.LastName, c.Email, c.EmailCanonical, c.Phone,
		c.Company, c.Title, c.Country)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Contact])
	return out, interpret(err, "insert contact")
}

// GetContact returns a contact of the workspace.
func (q *Queries) GetContact(ctx context.Context, workspaceID, id uuid.UUID) (Contact, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+contactColumns+` FROM contacts WHERE workspace_id = $1 AND id = $2`,
		workspaceID, id)
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Contact])
	return c, interpret(err, "get contact")
}

// ListContacts pages through the workspace's contacts, newest first.
func (q *Queries) ListContacts(ctx context.Context, workspaceID uuid.UUID, f ContactFilter) ([]Contact, error) {
	w := contactListQuery(workspaceID, f)
	rows, _ := q.db.Query(ctx, `SELECT `+contactColumns+` FROM contacts`+w.page(f.Page), w.args...)
	cs, err := pgx.CollectRows(rows, pgx.RowToStructByName[Contact])
	return cs, interpret(err, "list contacts")
}

// ContactWithAccount is a contact with the name of its account ("" when it
// has none).
type ContactWithAccount struct {
	Contact
	AccountName string `db:"account_name"`
}

// contactWithAccount wraps a query of contactColumns with its account's
// name.
func contactWithAccount(inner string) string {
	return `SELECT c.*, coalesce(a.name, '') AS account_name FROM (` + inner + `) c
		LEFT JOIN accounts a ON a.workspace_id = c.workspace_id AND a.id = c.account_id
		ORDER BY c.id DESC`
}

// GetContactWithAccount returns a contact of the workspace with its account's
// name.
func (q *Queries) GetContactWithAccount(ctx context.Context, workspaceID, id uuid.UUID) (ContactWithAccount, error) {
	rows, _ := q.db.Query(ctx, contactWithAccount(`SELECT `+contactColumns+` FROM contacts
		WHERE workspace_id = $1 AND id = $2`), workspaceID, id)
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[ContactWithAccount])
	return c, interpret(err, "get contact with account")
}

// ListContactsWithAccount is ListContacts with each contact's account name.
func (q *Queries) ListContactsWithAccount(ctx context.Context, workspaceID uuid.UUID, f ContactFilter) ([]ContactWithAccount, error) {
	w := contactListQuery(workspaceID, f)
	rows, _ := q.db.Query(ctx, contactWithAccount(`SELECT `+contactColumns+` FROM contacts`+w.page(f.Page)), w.args...)
	cs, err := pgx.CollectRows(rows, pgx.RowToStructByName[ContactWithAccount])
	return cs, interpret(err, "list contacts with account")
}

// contactListQuery is the conditions of f.
func contactListQuery(workspaceID uuid.UUID, f ContactFilter) *listQuery {
	w := newListQuery(workspaceID)
	if f.EmailCanonical != "" {
		w.add("email_canonical = ?", f.EmailCanonical)
	}
	if f.Q != "" {
		needle := strings.ToLower(f.Q)
		w.add("(fuzzy_key LIKE ? OR lower(email) LIKE ? OR ? <% fuzzy_key)",
			likePattern(needle), likePattern(needle), needle)
	}
	return w
}
