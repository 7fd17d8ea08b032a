package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"leadflow/store"
	"leadflow/store/storetest"
)

// bigNow is the "now" of a loaded data set: its two years of history end here.
var bigNow = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)

// bigData is a database loaded with a workspace's two years of leads.
type bigData struct {
	st    *store.Store
	ws    uuid.UUID
	leads int
	// rows counts each big table's rows after the load.
	rows map[string]int64
}

// bigTables are the tables that grow with the number of leads: a sequential
// scan of one of them in a hot query reads the whole backlog.
var bigTables = []string{
	"leads", "responses", "lead_status_history", "enrollments", "messages", "handoffs",
	"handoff_events", "qualification_decisions", "webhook_deliveries", "opportunities",
	"accounts", "contacts", "lead_funnel", "lead_audit", "lead_score_history",
}

// loadBig fills a fresh database with n leads of one workspace, created
// evenly over the two years before bigNow, and what their life left behind:
// responses (one each, a second for a quarter, spam, some awaiting
// confirmation, a few pending), status history (70% nurtured, 15% qualified,
// 6% accepted, 3% with an opportunity, 1.2% converted, 6% disqualified, 2%
// recycled, 1% merged), enrollments and their messages (a few due, in
// flight or deferred; a paused sequence with due enrollments), handoffs
// with their decisions and events (a few open, some escalated and stuck),
// webhook deliveries (a few pending, some for an inactive webhook), scores
// of many ages with their history, the audit trail of each lead's creation
// and status changes (sales' by a person), and a short rescoring queue. It is generated in SQL
// (INSERT ... SELECT over generate_series) with triggers and foreign-key
// checks off, then vacuumed and analysed as a live database would be.
func loadBig(tb testing.TB, n int) bigData {
	tb.Helper()
	ctx := context.Background()
	st := storetest.NewStore(tb)
	ws := store.NewID()
	started := time.Now()
	conn, err := st.Pool.Acquire(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Release()
	exec := func(what, sql string, args ...any) {
		tb.Helper()
		t0 := time.Now()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			tb.Fatalf("load %s: %v", what, err)
		}
		if el := time.Since(t0); el > time.Second {
			tb.Logf("load %s: %s", what, el.Round(time.Millisecond))
		}
	}
	// The load writes rows whose references it guarantees itself; the
	// triggers would write history at now() instead of the generated times.
	exec("session", `SET session_replication_role = replica`)
	exec("session", `SET maintenance_work_mem = '256MB'`)
	exec("session", `SET work_mem = '256MB'`) // the loads sort by time in memory
	// Rows go in faster without the secondary indexes, which are then built
	// in one pass each, as compact as after a REINDEX. Of the trigram
	// indexes only the console's lead search's are built (searchIndexes);
	// the others serve the identity matching, which no query here runs, and
	// are left out to keep the load short.
	searchIndexes := []string{"leads_fuzzy", "leads_email_trgm"}
	type index struct {
		name, def string
		gin       bool
	}
	rows, _ := conn.Query(ctx, `
		SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), am.amname = 'gin'
		FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid
		JOIN pg_am am ON am.oid = x.relam
		WHERE t.relname = ANY($1) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`, bigTables)
	indexes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var ix index
		err := r.Scan(&ix.name, &ix.def, &ix.gin)
		return ix, err
	})
	if err != nil {
		tb.Fatalf("list indexes: %v", err)
	}
	for _, ix := range indexes {
		exec("drop index", `DROP INDEX `+ix.name)
	}
	exec("workspace", `INSERT INTO workspaces (id, name) VALUES ($1, 'big')`, ws)
	exec("forms", `INSERT INTO forms (id, workspace_id, key, name, kind)
		SELECT md5('form' || k)::uuid, $1, 'bigform' || k, 'Form ' || k, 'contact_us' FROM generate_series(0, 4) k`, ws)
	exec("users", `INSERT INTO users (id, workspace_id, name, email, role)
		SELECT md5('user' || k)::uuid, $1, 'Rep ' || k, 'rep' || k || '@example.com', 'sales_rep' FROM generate_series(0, 19) k`, ws)
	exec("teams", `INSERT INTO teams (id, workspace_id, name, manager_id) VALUES (md5('team')::uuid, $1, 'Sales', md5('user0')::uuid)`, ws)
	exec("sequences", `INSERT INTO sequences (id, workspace_id, name, status)
		VALUES (md5('seqA')::uuid, $1, 'Welcome', 'active'), (md5('seqB')::uuid, $1, 'Webinar', 'active'),
		       (md5('seqP')::uuid, $1, 'Paused', 'paused')`, ws)
	exec("webhooks", `INSERT INTO webhooks (id, workspace_id, url, events, secret, active)
		VALUES (md5('hookA')::uuid, $1, 'https://crm.example.com/hook', '{handoff.created}', 's', true),
		       (md5('hookI')::uuid, $1, 'https://old.example.com/hook', '{handoff.created}', 's', false)`, ws)

	// One row per lead with the times it reached each stage (NULL: not yet
	// by bigNow, or never). u picks the lead's path, v its pace.
	exec("plan", `CREATE UNLOGGED TABLE bench_gen (
		i int, id uuid, created timestamptz, u int, v int, src text, camp text, form uuid, merged bool,
		t_nurt timestamptz, t_mq timestamptz, t_sa timestamptz, t_opp timestamptz, t_conv timestamptz,
		t_disq timestamptz, t_recy timestamptz)`)
	exec("plan", `
		INSERT INTO bench_gen
		SELECT i, md5('lead' || i)::uuid, created, u, v,
			(ARRAY['web', 'event', 'partner', 'ads', 'referral'])[1 + (v % 5)],
			(ARRAY['', 'spring', 'summer', 'autumn', 'winter', 'launch'])[1 + (u % 6)],
			md5('form' || (i % 5))::uuid,
			u >= 780 AND u < 790 AND i + 1 < $1,
			CASE WHEN nurt < $2 AND (u < 700 OR u >= 760 AND u < 780) THEN nurt END,
			CASE WHEN mq < $2 AND (u < 150 OR u >= 760 AND u < 780) THEN mq END,
			CASE WHEN sa < $2 AND u < 60 THEN sa END,
			CASE WHEN opp < $2 AND u < 30 THEN opp END,
			CASE WHEN conv < $2 AND u < 12 THEN conv END,
			CASE WHEN created + interval '2 days' < $2 AND u >= 700 AND u < 760 THEN created + interval '2 days' END,
			CASE WHEN mq + interval '5 days' < $2 AND u >= 760 AND u < 780 THEN mq + interval '5 days' END
		FROM (
			SELECT i, created, u, v, nurt, mq, sa, opp, opp + (1 + v % 30) * interval '1 day' AS conv
			FROM (
				SELECT i, created, u, v, nurt, mq, sa, sa + (10 + v % 50) * interval '1 minute' AS opp
				FROM (
					SELECT i, created, u, v, nurt, mq, mq + (1 + v % 48) * interval '1 hour' AS sa
					FROM (
						SELECT i, created, u, v, nurt,
							nurt + (1 + v % 20) * interval '1 day' + (v * 37 % 86400) * interval '1 second' AS mq
						FROM (
							SELECT i, created, u, v, created + interval '1 hour' + v * 3 * interval '1 second' AS nurt
							FROM (
								SELECT i, $2::timestamptz - interval '730 days' + make_interval(secs => i * (730 * 86400 / $1::float8)) AS created,
									abs(hashint4(i)) % 1000 AS u, abs(hashint4(i + 7777777)) % 1000 AS v
								FROM generate_series(0, $1 - 1) i
							) a
						) b
					) c
				) d
			) e
		) f`, n, bigNow)
	exec("plan", `ANALYZE bench_gen`)

	exec("leads", `
		INSERT INTO leads (id, workspace_id, first_name, last_name, email, email_canonical, phone, company,
			title, country, lead_source, campaign, primary_interest, status, score, grade, scored_at,
			merged_into, created_at, updated_at)
		SELECT id, $1, 'First' || (i % 5000), 'Last' || ((v * 7 + i) % 9973),
			'lead' || i || '@example.com', 'lead' || i || '@example.com', '+1555' || lpad((i % 10000000)::text, 7, '0'),
			'Company ' || (i % 20000), 'Manager', 'US', src, camp, 'platform',
			CASE WHEN t_conv IS NOT NULL THEN 'converted' WHEN t_recy IS NOT NULL THEN 'recycled'
				WHEN t_sa IS NOT NULL THEN 'sales_accepted' WHEN t_mq IS NOT NULL THEN 'marketing_qualified'
				WHEN t_disq IS NOT NULL THEN 'disqualified' WHEN t_nurt IS NOT NULL THEN 'nurturing' ELSE 'new' END,
			CASE WHEN v < 600 THEN 1 + v % 90 ELSE 0 END, CASE WHEN v < 600 THEN 'C' ELSE '' END,
			CASE WHEN merged THEN created + interval '1 day'
				WHEN v < 600 THEN greatest(created, $2::timestamptz - (abs(hashint4(i + 3333333)) % (30 * 86400)) * interval '1 second') END,
			CASE WHEN merged THEN md5('lead' || (i + 1))::uuid END,
			created, created
		FROM bench_gen ORDER BY i`, ws, bigNow)

	exec("lead status history", `
		INSERT INTO lead_status_history (workspace_id, lead_id, from_status, to_status, at)
		SELECT $1, id, f, t, at FROM (
			SELECT id, '' AS f, 'new' AS t, created AS at FROM bench_gen
			UNION ALL SELECT id, 'new', 'nurturing', t_nurt FROM bench_gen WHERE t_nurt IS NOT NULL
			UNION ALL SELECT id, 'nurturing', 'marketing_qualified', t_mq FROM bench_gen WHERE t_mq IS NOT NULL
			UNION ALL SELECT id, 'marketing_qualified', 'sales_accepted', t_sa FROM bench_gen WHERE t_sa IS NOT NULL
			UNION ALL SELECT id, 'sales_accepted', 'converted', t_conv FROM bench_gen WHERE t_conv IS NOT NULL
			UNION ALL SELECT id, 'new', 'disqualified', t_disq FROM bench_gen WHERE t_disq IS NOT NULL
			UNION ALL SELECT id, 'marketing_qualified', 'recycled', t_recy FROM bench_gen WHERE t_recy IS NOT NULL
		) h ORDER BY at`, ws)

	exec("responses", `
		INSERT INTO responses (id, workspace_id, form_id, received_at, user_agent, raw, fields, lead_source,
			campaign, verdict, status, outcome, lead_id, processed_at)
		SELECT id, $1, form, at, 'Mozilla/5.0', jsonb_build_object('email', jsonb_build_array(email), 'company', jsonb_build_array('Company')),
			jsonb_build_object('email', email), src, camp, verdict, status,
			CASE WHEN status = 'processed' THEN 'lead_created' ELSE '' END,
			CASE WHEN status = 'processed' THEN lead END, CASE WHEN status = 'processed' THEN at END
		FROM (
			SELECT md5('r1' || i)::uuid AS id, form, created - interval '30 seconds' AS at, 'lead' || i || '@example.com' AS email,
				src, camp, 'ok' AS verdict, 'processed' AS status, id AS lead FROM bench_gen
			UNION ALL
			SELECT md5('r2' || i)::uuid, form, created + (1 + v % 60) * interval '1 day', 'lead' || i || '@example.com',
				src, camp, 'ok', 'processed', id FROM bench_gen
			WHERE v < 250 AND created + (1 + v % 60) * interval '1 day' < $2
			UNION ALL
			SELECT md5('rs' || i)::uuid, form, created + interval '1 hour', 'spam' || i || '@example.net',
				'', '', 'spam', 'held', NULL FROM bench_gen WHERE i % 50 = 0
			UNION ALL
			SELECT md5('ra' || i)::uuid, form, created + interval '2 hours', 'optin' || i || '@example.org',
				src, camp, 'ok', 'awaiting_confirmation', NULL FROM bench_gen WHERE i % 200 = 1
			UNION ALL
			-- The sweeper's work: just posted, or left pending since a Redis outage.
			SELECT md5('rp' || i)::uuid, form, $2::timestamptz - ($3 - i) * interval '1 second', 'new' || i || '@example.org',
				src, camp, 'ok', 'pending', NULL FROM bench_gen WHERE i >= $3 - 150
			UNION ALL
			SELECT md5('ro' || i)::uuid, form, $2::timestamptz - interval '3 hours' + i * interval '1 millisecond', 'old' || i || '@example.org',
				src, camp, 'ok', 'pending', NULL FROM bench_gen WHERE i % 20000 = 7
		) r ORDER BY at`, ws, bigNow, n)

	exec("accounts", `INSERT INTO accounts (id, workspace_id, name, created_at)
		SELECT md5('acct' || i)::uuid, $1, 'Company ' || i, t_opp FROM bench_gen WHERE t_opp IS NOT NULL ORDER BY t_opp`, ws)
	exec("contacts", `INSERT INTO contacts (id, workspace_id, first_name, last_name, email, email_canonical, account_id, created_at)
		SELECT md5('cont' || i)::uuid, $1, 'First', 'Last', 'lead' || i || '@example.com', 'lead' || i || '@example.com',
			md5('acct' || i)::uuid, t_opp FROM bench_gen WHERE t_opp IS NOT NULL ORDER BY t_opp`, ws)
	exec("opportunities", `INSERT INTO opportunities (id, workspace_id, account_id, contact_id, lead_id, handoff_id, name,
			amount, stage, in_forecast, owner_id, created_at, updated_at)
		SELECT md5('opp' || i)::uuid, $1, md5('acct' || i)::uuid, md5('cont' || i)::uuid, id, md5('hand' || i)::uuid,
			'Deal ' || i, 100 * (1 + v), 'qualification', v % 3 = 0, md5('user' || (i % 20))::uuid, t_opp, t_opp
		FROM bench_gen WHERE t_opp IS NOT NULL ORDER BY t_opp`, ws)

	// A handoff per qualification: accepted or rejected once sales acted;
	// open for the last three days' qualifications (some past their SLA);
	// and some older ones escalated to the manager and still open.
	exec("decisions", `INSERT INTO qualification_decisions (id, workspace_id, lead_id, outcome, actor, created_at)
		SELECT md5('dec' || i)::uuid, $1, id, 'qualified', 'worker:score', t_mq FROM bench_gen WHERE t_mq IS NOT NULL ORDER BY t_mq`, ws)
	exec("handoffs", `
		INSERT INTO handoffs (id, workspace_id, lead_id, decision_id, owner_id, team_id, status, sla_due_at,
			reassignments, reason, decided_by, decided_at, created_at)
		SELECT md5('hand' || i)::uuid, $1, id, md5('dec' || i)::uuid, md5('user' || (i % 20))::uuid, md5('team')::uuid, status,
			CASE WHEN stuck THEN t_mq + interval '3 days' ELSE t_mq + interval '1 day' END,
			CASE WHEN stuck THEN 2 ELSE 0 END, CASE WHEN status = 'rejected' THEN 'not now' ELSE '' END,
			CASE WHEN status = 'open' THEN '' ELSE 'user' END,
			CASE WHEN status = 'accepted' THEN t_sa WHEN status = 'rejected' THEN t_mq + interval '1 day' END, t_mq
		FROM (
			SELECT *, CASE WHEN t_sa IS NOT NULL THEN 'accepted' WHEN t_recy IS NOT NULL THEN 'rejected'
					WHEN t_mq > $2::timestamptz - interval '3 days' OR v % 50 = 0 THEN 'open' ELSE 'rejected' END AS status,
				t_sa IS NULL AND t_recy IS NULL AND t_mq <= $2::timestamptz - interval '3 days' AND v % 50 = 0 AS stuck
			FROM bench_gen WHERE t_mq IS NOT NULL
		) g ORDER BY t_mq`, ws, bigNow)
	exec("handoff events", `
		INSERT INTO handoff_events (handoff_id, action, owner_id, actor, at)
		SELECT handoff_id, action, owner_id, actor, at FROM (
			SELECT h.id AS handoff_id, 'created' AS action, h.owner_id, 'worker:score' AS actor, h.created_at AS at FROM handoffs h
			UNION ALL SELECT h.id, h.status, h.owner_id, 'user', h.decided_at FROM handoffs h WHERE h.status <> 'open'
			UNION ALL SELECT h.id, 'escalated', md5('user0')::uuid, 'worker:sla', h.created_at + interval '2 days'
			FROM handoffs h WHERE h.reassignments = 2
		) e ORDER BY at`)
	// What the escalation trigger, off during the load, keeps.
	exec("handoffs escalated", `UPDATE handoffs h SET escalated_at = e.at FROM handoff_events e
		WHERE e.handoff_id = h.id AND e.action = 'escalated'`)
	exec("webhook deliveries", `
		INSERT INTO webhook_deliveries (id, workspace_id, webhook_id, event, dedupe_key, payload, status, attempts,
			next_attempt_at, delivered_at, created_at)
		SELECT md5('del' || h.id)::uuid, $1, md5('hookA')::uuid, 'handoff.created', 'handoff.created:' || h.id,
			jsonb_build_object('handoff_id', h.id, 'lead_id', h.lead_id),
			CASE WHEN h.created_at > $2::timestamptz - interval '10 minutes'
					OR abs(hashtext(h.id::text)) % 97 = 0 AND h.created_at > $2::timestamptz - interval '1 day' THEN 'pending'
				WHEN abs(hashtext(h.id::text)) % 100 = 0 THEN 'failed' ELSE 'delivered' END,
			1, CASE WHEN h.created_at > $2::timestamptz - interval '10 minutes' THEN h.created_at ELSE $2::timestamptz + interval '5 minutes' END,
			h.created_at + interval '1 second', h.created_at
		FROM handoffs h ORDER BY h.created_at`, ws, bigNow)
	// The inactive webhook's deliveries wait for it to be switched back on.
	exec("webhook deliveries", `
		INSERT INTO webhook_deliveries (id, workspace_id, webhook_id, event, dedupe_key, payload, status,
			next_attempt_at, created_at)
		SELECT md5('deli' || h.id)::uuid, $1, md5('hookI')::uuid, 'handoff.created', 'handoff.created:' || h.id,
			'{}', 'pending', h.created_at, h.created_at
		FROM handoffs h WHERE h.created_at > $2::timestamptz - interval '30 days' ORDER BY h.created_at`, ws, bigNow)

	// An enrollment per nurtured lead (a second, finished one for some):
	// exited once qualified, disqualified or merged, completed after 30
	// days, else active with its next step due in the coming days; a few
	// due now, some already put on the queue; 1% in the paused sequence,
	// where they wait, due, for as long as it stays paused.
	exec("enrollments", `
		INSERT INTO enrollments (id, workspace_id, sequence_id, lead_id, state, step_key, next_run_at, enqueued_at,
			exit_reason, enrolled_by, created_at, updated_at)
		SELECT md5('enr' || k || ':' || i)::uuid, $1, seq, id, state,
			CASE WHEN state = 'active' THEN 'step2' ELSE '' END,
			CASE WHEN state <> 'active' THEN NULL
				WHEN seq = md5('seqP')::uuid OR v < 5 THEN $2::timestamptz - (1 + v) * interval '1 minute'
				ELSE $2::timestamptz + (v % 14) * interval '1 day' + (v * 53 % 86400) * interval '1 second' END,
			CASE WHEN state = 'active' AND seq <> md5('seqP')::uuid AND v < 2 THEN $2::timestamptz - interval '10 seconds' END,
			CASE WHEN state = 'exited' THEN 'qualified' ELSE '' END, 'form', t_nurt, t_nurt
		FROM (
			SELECT g.*, 1 AS k,
				CASE WHEN i % 100 = 0 THEN md5('seqP')::uuid WHEN i % 2 = 0 THEN md5('seqA')::uuid ELSE md5('seqB')::uuid END AS seq,
				CASE WHEN t_mq IS NOT NULL OR t_disq IS NOT NULL OR merged THEN 'exited'
					WHEN t_nurt < $2::timestamptz - interval '30 days' AND i % 100 <> 0 THEN 'completed' ELSE 'active' END AS state
			FROM bench_gen g WHERE t_nurt IS NOT NULL
			UNION ALL
			SELECT g.*, 2, CASE WHEN i % 2 = 0 THEN md5('seqB')::uuid ELSE md5('seqA')::uuid END, 'completed'
			FROM bench_gen g WHERE t_nurt IS NOT NULL AND v < 300
		) e ORDER BY t_nurt`, ws, bigNow)
	// A message per enrollment's first step, and per finished enrollment's
	// second; the next messages of 30% of the active ones are queued, as
	// during an SMTP outage: some waiting for the scheduler, some on the
	// queue, most deferred after a failure.
	exec("messages", `
		INSERT INTO messages (id, workspace_id, lead_id, enrollment_id, step_key, dedupe_key, kind, to_email,
			subject, html_body, text_body, message_id, status, attempts, last_error, enqueued_at, sent_at, created_at)
		SELECT md5('msg' || e.id || step)::uuid, $1, e.lead_id, e.id, step, 'enrollment:' || e.id || ':' || step, 'marketing',
			l.email, 'Welcome to leadflow', '<p>Hello ' || l.first_name || ', thanks for your interest in our platform.</p>',
			'Hello ' || l.first_name || ', thanks for your interest in our platform.',
			'<' || md5('msg' || e.id || step) || '@leadflow.example>', mstatus, 1,
			CASE WHEN mstatus = 'queued' AND h % 10 >= 3 THEN 'smtp: 421 try later' ELSE '' END,
			CASE WHEN mstatus <> 'queued' OR h % 10 < 1 THEN NULL
				WHEN h % 10 < 3 THEN $2::timestamptz - interval '10 seconds' ELSE $2::timestamptz + interval '10 minutes' END,
			CASE WHEN mstatus = 'sent' THEN at + interval '1 second' END, at
		FROM (
			SELECT e.*, s.step, s.at, abs(hashtext(e.id::text || s.step)) AS h,
				CASE WHEN e.state = 'active' AND s.step = 'step2' THEN 'queued'
					WHEN abs(hashtext(e.id::text || s.step)) % 200 = 1 THEN 'failed'
					WHEN abs(hashtext(e.id::text || s.step)) % 100 = 2 THEN 'suppressed' ELSE 'sent' END AS mstatus
			FROM enrollments e
			CROSS JOIN LATERAL (VALUES ('step1', e.created_at + interval '1 minute'), ('step2', e.created_at + interval '3 days')) s (step, at)
			WHERE s.step = 'step1' OR e.state = 'completed' OR e.state = 'active' AND abs(hashtext(e.id::text)) % 10 < 3
		) e JOIN leads l ON l.id = e.lead_id
		ORDER BY e.at`, ws, bigNow)

	exec("lead audit", `
		INSERT INTO lead_audit (workspace_id, lead_id, at, actor, action, field, old_value, new_value)
		SELECT $1, lead_id, at, actor, action, field, old_value, new_value FROM (
			SELECT lead_id, at, 'worker:response:process' AS actor, 'created' AS action, '' AS field,
				'' AS old_value, '' AS new_value
			FROM lead_status_history WHERE from_status = ''
			UNION ALL
			SELECT lead_id, at,
				CASE WHEN to_status IN ('sales_accepted', 'recycled', 'converted')
					THEN 'user:' || md5('user' || abs(hashtext(lead_id::text)) % 20)::uuid ELSE 'worker:qualify' END,
				'status_changed', 'status', from_status, to_status
			FROM lead_status_history WHERE from_status <> ''
		) a ORDER BY at`, ws)
	// A form's points when the lead came, then what decay or a click made
	// of them by its latest score.
	exec("score history", `
		INSERT INTO lead_score_history (workspace_id, lead_id, at, score, grade, old_score, old_grade, cause, event_kind)
		SELECT $1, id, at, score, grade, old_score, old_grade, cause, kind FROM (
			SELECT l.id, l.created_at + interval '30 seconds' AS at, 10 AS score, l.grade, 0 AS old_score, '' AS old_grade,
				'engagement' AS cause, 'form_submitted' AS kind
			FROM leads l WHERE l.scored_at IS NOT NULL AND l.merged_into IS NULL
			UNION ALL
			SELECT l.id, l.scored_at, l.score, l.grade, 10, l.grade,
				CASE WHEN l.score < 10 THEN 'decay' ELSE 'engagement' END,
				CASE WHEN l.score < 10 THEN '' ELSE 'email_clicked' END
			FROM leads l WHERE l.scored_at IS NOT NULL AND l.merged_into IS NULL AND l.score <> 10
				AND l.scored_at > l.created_at + interval '30 seconds'
		) h ORDER BY at`, ws)
	exec("score queue", `INSERT INTO score_dirty (lead_id, workspace_id, since)
		SELECT id, $1, $2::timestamptz - (i % 60) * interval '1 second' FROM bench_gen WHERE i % 500 = 3`, ws, bigNow)
	exec("score jobs", `INSERT INTO score_jobs (id, workspace_id, status, total, done, created_at, finished_at)
		SELECT md5('job' || k)::uuid, $1, 'done', $3, $3, $2::timestamptz - k * interval '1 day', $2::timestamptz - k * interval '1 day'
		FROM generate_series(1, 20) k`, ws, bigNow, n)
	// What the funnel's triggers, off during the load, keep; as the
	// migration fills it on an existing database.
	exec("analyze", `ANALYZE leads, responses, lead_status_history, opportunities`)
	exec("session", `SET jit = off`)
	exec("lead funnel", `INSERT INTO lead_funnel SELECT * FROM lead_funnel_source`)
	exec("session", `RESET jit`)
	exec("plan", `DROP TABLE bench_gen`)
	exec("session", `RESET session_replication_role`)
	for _, ix := range indexes {
		if !ix.gin || slices.Contains(searchIndexes, ix.name) {
			exec("index "+ix.name, ix.def)
		}
	}
	loaded := time.Since(started)
	// A live database is vacuumed and analysed by autovacuum; the planner's
	// choices below depend on it.
	exec("vacuum", `VACUUM (ANALYZE)`)
	// The connection goes back to the pool: what runs on it next gets the
	// server's settings, not the load's.
	exec("session", `RESET ALL`)

	d := bigData{st: st, ws: ws, leads: n, rows: map[string]int64{}}
	for _, t := range bigTables {
		var c int64
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+t).Scan(&c); err != nil {
			tb.Fatal(err)
		}
		d.rows[t] = c
	}
	tb.Logf("loaded %d leads in %s, vacuumed in %s: %v", n, loaded.Round(time.Millisecond),
		(time.Since(started) - loaded).Round(time.Millisecond), d.rows)
	return d
}

func (d bigData) String() string { return fmt.Sprintf("%d leads", d.leads) }
