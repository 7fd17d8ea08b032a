package qualify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/qualify"
	"leadflow/store"
	"leadflow/store/storetest"
)

// BenchmarkScoreRecompute measures a recompute job over a workspace's
// leads (one form each): "same" re-applies the rules the leads were scored
// with, so no score changes; "changed" alternates the form's points, so
// every lead's score changes (and its history gains a row) at every job.
//
//	go test -run '^$' -bench ScoreRecompute -benchtime 3x ./qualify/
func BenchmarkScoreRecompute(b *testing.B) {
	ctx := context.Background()
	st := storetest.NewStore(b)
	rdb := redis.NewClient(storetest.RedisOptions(b))
	b.Cleanup(func() { rdb.Close() })
	eng, err := qualify.New(qualify.Config{
		Store: st, Queue: asynq.NewClientFromRedisClient(rdb), BaseURL: "https://leadflow.example",
	})
	if err != nil {
		b.Fatal(err)
	}
	ws, err := st.EnsureWorkspace(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	const leads = 20_000
	for _, sql := range []string{
		`INSERT INTO leads (id, workspace_id, email, email_canonical, status, primary_interest)
		 SELECT gen_random_uuid(), $1, i || '@example.com', i || '@example.com', 'nurturing', 'Engines'
		 FROM generate_series(1, ` + fmt.Sprint(leads) + `) i`,
		`INSERT INTO engagement_events (id, workspace_id, lead_id, kind, source_id, occurred_at)
		 SELECT gen_random_uuid(), workspace_id, id, 'form_submitted', gen_random_uuid(), now()
		 FROM leads WHERE workspace_id = $1`,
	} {
		if _, err := st.Pool.Exec(ctx, sql, ws.ID); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := st.Pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	recompute := func(b *testing.B) {
		job, err := eng.StartRecompute(ctx, ws.ID)
		if err != nil {
			b.Fatal(err)
		}
		for job.Status == store.ScoreJobRunning {
			eng.RunOnce(ctx)
			if job, err = eng.ScoreJob(ctx, ws.ID, job.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	points := func(b *testing.B, p int) {
		raw, _ := json.Marshal(map[string]int{"form_submitted": p})
		if _, err := eng.PutScoring(ctx, ws.ID, qualify.ScoringUpdate{Points: raw}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("same", func(b *testing.B) {
		points(b, 10)
		recompute(b)
		b.ResetTimer()
		for b.Loop() {
			recompute(b)
		}
		b.ReportMetric(float64(leads*b.N)/b.Elapsed().Seconds(), "leads/s")
	})
	b.Run("changed", func(b *testing.B) {
		p := 10
		for b.Loop() {
			b.StopTimer()
			p = 30 - p // 10, 20, 10, ...
			points(b, p)
			b.StartTimer()
			recompute(b)
		}
		b.ReportMetric(float64(leads*b.N)/b.Elapsed().Seconds(), "leads/s")
	})
}
