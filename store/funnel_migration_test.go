package store_test

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	"leadflow/store"
	"leadflow/store/storetest"
)

// Migration 00022 rolls back to lead_funnel as 00013 made it, and forward
// again to durations computed for the rows already there.
func TestMigration22RollsBackAndForward(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.NewStore(t)
	w := newFunnelWorld(t, st, 3)
	w.build(150)
	raw, err := fs.ReadFile(store.Migrations(), "00022_funnel_durations.sql")
	if err != nil {
		t.Fatal(err)
	}
	up, down, ok := strings.Cut(string(raw), "-- +goose Down")
	if !ok {
		t.Fatal("no Down section")
	}
	if _, err := st.Pool.Exec(ctx, down); err != nil {
		t.Fatalf("down: %v", err)
	}
	var n int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_name = 'lead_funnel' AND column_name LIKE '%\_secs'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after down lead_funnel has %d duration columns (%v), want 0", n, err)
	}
	// The triggers keep working without the columns.
	w.moved(w.leads[3], store.LeadNurturing, w.at())
	if _, err := st.Pool.Exec(ctx, up); err != nil {
		t.Fatalf("up again: %v", err)
	}
	var wrong, filled int
	if err := st.Pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE lead_secs IS DISTINCT FROM extract(epoch FROM created_at - response_at)::float8
				OR nurturing_secs IS DISTINCT FROM extract(epoch FROM nurturing_at - created_at)::float8
				OR converted_secs IS DISTINCT FROM extract(epoch FROM converted_at - opportunity_at)::float8),
			count(*) FILTER (WHERE lead_secs IS NOT NULL AND nurturing_secs IS NOT NULL)
		FROM lead_funnel WHERE workspace_id = $1`, w.ws).Scan(&wrong, &filled); err != nil {
		t.Fatal(err)
	}
	if wrong != 0 || filled == 0 {
		t.Errorf("after up again %d rows have wrong durations, %d have both a lead's and nurturing's", wrong, filled)
	}
}
