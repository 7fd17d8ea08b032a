package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"leadflow/store"
)

// TestSequenceStepStats counts a sequence's steps as plain SQL over all its
// enrollments does, and reads them from the two indexes made for it, a
// bounded number of enrollments at most.
func TestSequenceStepStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := loadBig(t, smallLeads)
	var seq uuid.UUID
	if err := d.st.Pool.QueryRow(ctx, `SELECT md5('seqA')::uuid`).Scan(&seq); err != nil {
		t.Fatal(err)
	}

	got, err := d.st.SequenceStepStats(ctx, d.ws, seq, 0)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := d.st.Pool.Query(ctx, `
		SELECT k AS step_key,
			(SELECT count(*) FROM enrollments WHERE sequence_id = $1 AND state = 'active' AND step_key = k) AS waiting,
			(SELECT count(m.sent_at) FROM messages m JOIN enrollments e ON e.id = m.enrollment_id WHERE e.sequence_id = $1 AND m.step_key = k) AS sent,
			(SELECT count(m.opened_at) FROM messages m JOIN enrollments e ON e.id = m.enrollment_id WHERE e.sequence_id = $1 AND m.step_key = k) AS opened,
			(SELECT count(m.clicked_at) FROM messages m JOIN enrollments e ON e.id = m.enrollment_id WHERE e.sequence_id = $1 AND m.step_key = k) AS clicked
		FROM (SELECT step_key FROM enrollments WHERE sequence_id = $1 AND state = 'active'
		      UNION SELECT m.step_key FROM messages m JOIN enrollments e ON e.id = m.enrollment_id WHERE e.sequence_id = $1) s(k)`, seq)
	want, err := pgx.CollectRows(rows, pgx.RowToStructByName[store.StepStats])
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("the big data has no enrollments in seqA")
	}
	gotList := slices.Collect(func(yield func(store.StepStats) bool) {
		for _, s := range got.Steps {
			if !yield(s) {
				return
			}
		}
	})
	byKey := func(a, b store.StepStats) int { return strings.Compare(a.StepKey, b.StepKey) }
	slices.SortFunc(gotList, byKey)
	slices.SortFunc(want, byKey)
	if diff := cmp.Diff(want, gotList); diff != "" {
		t.Errorf("step counts (-want +got):\n%s", diff)
	}
	if got.Capped {
		t.Errorf("counts of %d enrollments capped at %d", got.Enrollments, store.StatsEnrollments)
	}

	// Capped at 500, the counts are of 500 enrollments and say so.
	capped, err := d.st.SequenceStepStats(ctx, d.ws, seq, 500)
	if err != nil {
		t.Fatal(err)
	}
	if capped.Enrollments != 500 || !capped.Capped {
		t.Errorf("capped at 500: enrollments %d capped %v, want 500 true", capped.Enrollments, capped.Capped)
	}

	var c capturer
	store.QueriesOn(&c).SequenceStepStats(ctx, d.ws, seq, 500)
	p, err := explain(ctx, d.st.Pool, c.sql, c.args)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SequenceStepStats at %s, 500 enrollments: %s", d, p)
	for _, s := range p.scans {
		if strings.HasPrefix(s, "Seq Scan on enrollments") || strings.HasPrefix(s, "Seq Scan on messages") {
			t.Errorf("reads a big table end to end: %s", p)
		}
	}
	for _, idx := range []string{"enrollments_sequence_recent", "messages_enrollment"} {
		if !slices.Contains(p.indexes, idx) {
			t.Errorf("does not use %s: %s", idx, p)
		}
	}
	// 500 enrollments and a few messages each, not the sequence's whole
	// history.
	if p.read > 500*4 {
		t.Errorf("read %.0f rows for 500 enrollments: %s", p.read, p)
	}
}
