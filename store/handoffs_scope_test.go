package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"leadflow/store"
	"leadflow/store/storetest"
)

// scopedHandoffs is how many handoffs TestHandoffScopeUsesIndexes loads:
// years of a sales floor of 20 teams of 10 reps, each with a manager.
const scopedHandoffs = 60_000

// TestHandoffScopeUsesIndexes explains what a rep's, a manager's and a
// sales admin's lists and reads of handoffs run, and fails on a plan that
// reads every handoff of the workspace, or that reads far more handoffs than
// a rep or manager owns.
func TestHandoffScopeUsesIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.NewStore(t)
	ws := store.NewID()
	conn, err := st.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// The handoffs' leads and decisions are left out: their references are
	// not what the plans read.
	exec(`SET session_replication_role = replica`)
	exec(`INSERT INTO workspaces (id, name) VALUES ($1, 'scoped')`, ws)
	// Users 0-199 are reps, 200-219 the managers of teams 0-19.
	exec(`INSERT INTO users (id, workspace_id, name, email, role)
		SELECT md5('u' || k)::uuid, $1, 'User ' || k, 'u' || k || '@example.com',
			CASE WHEN k < 200 THEN 'sales_rep' ELSE 'sales_manager' END
		FROM generate_series(0, 219) k`, ws)
	exec(`INSERT INTO teams (id, workspace_id, name, manager_id)
		SELECT md5('t' || k)::uuid, $1, 'Team ' || k, md5('u' || (200 + k))::uuid FROM generate_series(0, 19) k`, ws)
	exec(`INSERT INTO team_members (team_id, user_id, weight)
		SELECT md5('t' || (k / 10))::uuid, md5('u' || k)::uuid, 1 FROM generate_series(0, 199) k`)
	// Handoffs over two years, oldest first (their IDs in time order, as
	// store.NewID makes them); 3% still open, 1% with no owner.
	exec(`INSERT INTO handoffs (id, workspace_id, lead_id, decision_id, owner_id, team_id, status, sla_due_at, created_at)
		SELECT (lpad(to_hex(i), 12, '0') || '7' || substr(md5('h' || i), 1, 19))::uuid,
			$1, md5('l' || i)::uuid, md5('d' || i)::uuid,
			CASE WHEN i % 100 = 0 THEN NULL ELSE md5('u' || (i % 200))::uuid END,
			md5('t' || ((i % 200) / 10))::uuid,
			CASE WHEN i > $2 * 0.97 THEN 'open' WHEN i % 3 = 0 THEN 'rejected' ELSE 'accepted' END,
			now() - ($2 - i) * interval '15 minutes' + interval '1 day', now() - ($2 - i) * interval '15 minutes'
		FROM generate_series(1, $2) i`, ws, scopedHandoffs)
	// A new team: its one rep has five handoffs, the newest.
	exec(`INSERT INTO users (id, workspace_id, name, email, role)
		VALUES (md5('u220')::uuid, $1, 'New manager', 'u220@example.com', 'sales_manager'),
		       (md5('u221')::uuid, $1, 'New rep', 'u221@example.com', 'sales_rep')`, ws)
	exec(`INSERT INTO teams (id, workspace_id, name, manager_id) VALUES (md5('t20')::uuid, $1, 'New team', md5('u220')::uuid)`, ws)
	exec(`INSERT INTO team_members (team_id, user_id, weight) VALUES (md5('t20')::uuid, md5('u221')::uuid, 1)`)
	exec(`INSERT INTO handoffs (id, workspace_id, lead_id, decision_id, owner_id, team_id, status, sla_due_at, created_at)
		SELECT (lpad(to_hex($2 + i), 12, '0') || '7' || substr(md5('h' || ($2 + i)), 1, 19))::uuid,
			$1, md5('l' || ($2 + i))::uuid, md5('d' || ($2 + i))::uuid, md5('u221')::uuid, md5('t20')::uuid,
			'open', now() + interval '1 day', now()
		FROM generate_series(1, 5) i`, ws, scopedHandoffs)
	// The open handoffs' leads, which the console's list shows.
	exec(`INSERT INTO leads (id, workspace_id, email) SELECT lead_id, workspace_id, lead_id || '@example.com' FROM handoffs WHERE status = 'open'`)
	exec(`SET session_replication_role = DEFAULT`)
	conn.Release()
	if _, err := st.Pool.Exec(ctx, `VACUUM ANALYZE handoffs, users, teams, team_members`); err != nil {
		t.Fatal(err)
	}

	rep := store.WorkScope{UserID: uuid.MustParse(md5UUID(t, st, "u7"))}
	manager := store.WorkScope{UserID: uuid.MustParse(md5UUID(t, st, "u203")), Managed: true}
	newManager := store.WorkScope{UserID: uuid.MustParse(md5UUID(t, st, "u220")), Managed: true}
	all := store.WorkScope{All: true}
	page := store.Page{Limit: 51}
	var some uuid.UUID // a handoff of the manager's team
	if err := st.Pool.QueryRow(ctx, `SELECT id FROM handoffs WHERE owner_id = $1 ORDER BY id LIMIT 1`, md5UUID(t, st, "u35")).Scan(&some); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		call func(q *store.Queries)
		// read bounds the rows the plan may read (index entries of a bitmap
		// count): a rep owns 300, a team 3,000 (about 90 of them open),
		// which a manager's list reads through two bitmaps and the heap.
		read float64
	}{
		// A rep's list reads its page in order on handoffs_owner_id (00031).
		{"rep's list", func(q *store.Queries) { q.ListHandoffs(ctx, ws, store.HandoffFilter{Scope: rep, Page: page}) }, 60},
		// The bitmap of open handoffs (about 1,800) is read, never their rows.
		{"rep's open list", func(q *store.Queries) {
			q.ListHandoffs(ctx, ws, store.HandoffFilter{Scope: rep, Status: store.HandoffOpen, Page: page})
		}, 2_200},
		{"manager's list", func(q *store.Queries) { q.ListHandoffs(ctx, ws, store.HandoffFilter{Scope: manager, Page: page}) }, 9_300},
		{"manager's unassigned", func(q *store.Queries) {
			q.ListHandoffs(ctx, ws, store.HandoffFilter{Scope: manager, Unassigned: true, Page: page})
		}, 9_300},
		{"new team's manager's list", func(q *store.Queries) {
			q.ListHandoffs(ctx, ws, store.HandoffFilter{Scope: newManager, Page: page})
		}, 50},
		{"sales admin's list", func(q *store.Queries) { q.ListHandoffs(ctx, ws, store.HandoffFilter{Scope: all, Page: page}) }, 100},
		// The console lists open handoffs only (about 1,800 here), with their
		// leads: they read within those.
		{"rep's console list", func(q *store.Queries) { q.OpenHandoffsBySLA(ctx, ws, rep, nil, 26) }, 6_000},
		{"manager's console list", func(q *store.Queries) { q.OpenHandoffsBySLA(ctx, ws, manager, nil, 26) }, 6_000},
		{"new team's console list", func(q *store.Queries) { q.OpenHandoffsBySLA(ctx, ws, newManager, nil, 26) }, 6_000},
		{"manager's read", func(q *store.Queries) { q.GetHandoffInScope(ctx, ws, some, manager) }, 1},
	} {
		cp := rowRunner{pool: st.Pool}
		c.call(store.QueriesOn(&cp))
		p, err := explain(ctx, st.Pool, cp.sql, cp.args)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		p.query = hotQuery{name: c.name}
		t.Logf("%s", p)
		if slices.ContainsFunc(p.scans, func(s string) bool { return strings.HasPrefix(s, "Seq Scan on handoffs") }) {
			t.Errorf("%s reads every handoff: %s", c.name, p)
		}
		if p.read > c.read+readSlack {
			t.Errorf("%s reads %.0f rows to return %.0f, want at most %.0f: %s", c.name, p.read, p.actualRows, c.read, p)
		}
	}
}

// md5UUID is the uuid md5(s) names, as the load makes them.
func md5UUID(t *testing.T, st *store.Store, s string) string {
	t.Helper()
	var id string
	if err := st.Pool.QueryRow(context.Background(), `SELECT md5($1)::uuid::text`, s).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// rowRunner captures the last query a store method sends, as capturer
// does, but runs its single-row queries for real: a list that first reads
// a manager's teams gets them.
type rowRunner struct {
	capturer
	pool *pgxpool.Pool
}

func (r *rowRunner) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return r.pool.QueryRow(ctx, sql, args...)
}
