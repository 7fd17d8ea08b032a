package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// collectFacts reads what PostgreSQL holds about one scenario's form and
// people, and what the sink delivered to them. The queries read the schema
// directly: the suite checks the system of record, not what the API says of
// it.
func collectFacts(ctx context.Context, db *pgxpool.Pool, formID string, posts []post, sink *mailSink) (facts, error) {
	f := facts{Committed: map[string]bool{}, Leads: map[string]map[string]bool{}}
	var ids, emails []string
	for _, p := range posts {
		if p.answered2xx() && p.ResponseID != "" {
			ids = append(ids, p.ResponseID)
		}
		emails = append(emails, p.Email)
	}
	slices.Sort(emails)
	emails = slices.Compact(emails)
	people := map[string]bool{}
	for _, e := range emails {
		people[e] = true
	}

	// Which 2xx answers were committed.
	rows, _ := db.Query(ctx, `SELECT id::text FROM responses WHERE id = ANY($1::text[]::uuid[])`, ids)
	committed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return f, fmt.Errorf("committed responses: %w", err)
	}
	for _, id := range committed {
		f.Committed[id] = true
	}

	// Responses of the form not processed yet, whatever their poster heard.
	err = db.QueryRow(ctx, `SELECT count(*) FROM responses WHERE form_id = $1 AND status NOT IN ('processed', 'held')`, formID).Scan(&f.Stuck)
	if err != nil {
		return f, fmt.Errorf("stuck responses: %w", err)
	}

	// The live lead each processed response went to, and the live leads
	// holding each person's address.
	type personLead struct {
		Email string
		Lead  string
	}
	rows, _ = db.Query(ctx, `
		SELECT r.fields->>'email_canonical' AS email, COALESCE(l.merged_into, l.id)::text AS lead
		FROM responses r JOIN leads l ON l.id = r.lead_id
		WHERE r.form_id = $1
		UNION
		SELECT email_canonical, id::text FROM leads
		WHERE merged_into IS NULL AND email_canonical = ANY($2::text[])`, formID, emails)
	pls, err := pgx.CollectRows(rows, pgx.RowToStructByName[personLead])
	if err != nil {
		return f, fmt.Errorf("leads: %w", err)
	}
	for _, pl := range pls {
		if f.Leads[pl.Email] == nil {
			f.Leads[pl.Email] = map[string]bool{}
		}
		f.Leads[pl.Email][pl.Lead] = true
	}

	// Messages to the scenario's people not yet recorded as sent.
	err = db.QueryRow(ctx, `SELECT count(*) FROM messages WHERE status = 'queued' AND lower(to_email) = ANY($1::text[])`, emails).Scan(&f.QueuedMessages)
	if err != nil {
		return f, fmt.Errorf("queued messages: %w", err)
	}

	for _, d := range sink.Deliveries() {
		if people[d.To] {
			f.Deliveries = append(f.Deliveries, d)
		}
	}
	return f, nil
}
