package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"leadflow/store"
	"leadflow/store/storetest"
)

// TestOpenPoolSettings: a pool's name shows in pg_stat_activity, its size is
// capped, and a statement past its timeout fails with ErrTimeout, which
// counts as the database being unavailable rather than a bad request.
func TestOpenPoolSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.DatabaseURL(t)
	s, err := store.OpenPool(ctx, url, store.PoolConfig{Name: "leadflow-test", MaxConns: 2, StatementTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var name string
	if err := s.Pool.QueryRow(ctx, "SELECT current_setting('application_name')").Scan(&name); err != nil || name != "leadflow-test" {
		t.Errorf("application_name = %q (err %v), want leadflow-test", name, err)
	}
	if got := s.Pool.Config().MaxConns; got != 2 {
		t.Errorf("max conns = %d, want 2", got)
	}
	// Another session holds forms, so the lookup waits past the timeout.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "LOCK TABLE forms IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	_, err = s.FormByKey(ctx, "some-key")
	if !errors.Is(err, store.ErrTimeout) || !store.Unavailable(err) {
		t.Errorf("lookup past the statement timeout = %v, want ErrTimeout (unavailable)", err)
	}
	if store.Unavailable(store.ErrNotFound) || store.Unavailable(context.Canceled) || store.Unavailable(nil) {
		t.Error("a missing row, a caller that gave up or no error counted as unavailable")
	}
}
