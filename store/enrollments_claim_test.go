package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"leadflow/store"
)

// The scheduler's claim reads the enrollments it can take, not those on
// the queue right now: among 20,000 finished enrollments, 300 due ones on
// the queue and 8 it may take (never put there, or their lease ran out),
// it takes the 8, reading at most a few rows for each.
func TestClaimDueEnrollmentsReadsOnlyClaimable(t *testing.T) {
	t.Parallel()
	b := setupBacklog(t)
	ctx := context.Background()
	seq := store.NewID()
	b.exec(`INSERT INTO sequences (id, workspace_id, name, status) VALUES ($1, $2, 'A', 'active')`, seq, b.ws)
	cutoff := b.now.Add(-time.Minute)
	// Leads 1-300 are on the queue (claimed 10 s ago), 301-305 never
	// claimed, 306-308 claimed before the lease cutoff; all due.
	b.exec(`INSERT INTO leads (id, workspace_id, email, email_canonical)
		SELECT md5('l' || i)::uuid, $1, 'l' || i || '@example.com', 'l' || i || '@example.com' FROM generate_series(1, 308) i`, b.ws)
	b.exec(`INSERT INTO enrollments (id, workspace_id, sequence_id, lead_id, state, step_key, next_run_at, enqueued_at)
		SELECT md5('e' || i)::uuid, $1, $2, md5('l' || i)::uuid, 'active', 'step1', $3::timestamptz - i * interval '1 second',
			CASE WHEN i <= 300 THEN $3::timestamptz - interval '10 seconds' WHEN i > 305 THEN $4::timestamptz - interval '1 second' END
		FROM generate_series(1, 308) i`, b.ws, seq, b.now, cutoff)
	// And the table's bulk: finished enrollments, never due again.
	b.exec(`INSERT INTO enrollments (id, workspace_id, sequence_id, lead_id, state, step_key, created_at)
		SELECT md5('c' || i)::uuid, $1, $2, md5('l' || (1 + i % 308))::uuid, 'completed', '', $3::timestamptz - i * interval '1 minute'
		FROM generate_series(1, 20000) i`, b.ws, seq, b.now)
	b.exec(`ANALYZE enrollments`)

	var c capturer
	store.QueriesOn(&c).ClaimDueEnrollments(ctx, b.now, cutoff, 1000)
	p, err := explain(ctx, b.st.Pool, c.sql, c.args)
	if err != nil {
		t.Fatal(err)
	}
	if p.actualRows != 8 || p.read > 3*8+readSlack {
		t.Errorf("claim read %.0f rows of big tables to take %.0f: %s", p.read, p.actualRows, p)
	}

	ds, err := b.st.ClaimDueEnrollments(ctx, b.now, cutoff, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var got []uuid.UUID
	for _, d := range ds {
		got = append(got, d.ID)
	}
	rows, _ := b.st.Pool.Query(ctx, `SELECT md5('e' || i)::uuid FROM generate_series(301, 308) i`)
	want, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		t.Fatal(err)
	}
	sortIDs := func(ids []uuid.UUID) {
		slices.SortFunc(ids, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
	}
	sortIDs(got)
	sortIDs(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claimed (-want +got):\n%s", diff)
	}
}
