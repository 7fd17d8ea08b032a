package store_test

import (
	"context"
	"errors"
	"testing"

	"leadflow/store"
	"leadflow/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func TestMigrationsAppliedAndSchemaCurrent(t *testing.T) {
	t.Parallel()
	s := storetest.NewStore(t)
	ctx := context.Background()
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema on a migrated database: %v", err)
	}
	st, err := s.MigrationStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) == 0 {
		t.Fatal("no migrations embedded")
	}
	for _, m := range st {
		if !m.Applied {
			t.Errorf("migration %d (%s) not applied", m.Version, m.Name)
		}
	}
}

func TestCheckSchemaRefusesEmptyDatabase(t *testing.T) {
	t.Parallel()
	s := storetest.NewStore(t)
	ctx := context.Background()
	// Roll the schema back to nothing: CheckSchema must now refuse.
	if _, err := s.Pool.Exec(ctx, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSchema(ctx); !errors.Is(err, store.ErrSchemaNotCurrent) {
		t.Fatalf("CheckSchema on an empty database = %v, want ErrSchemaNotCurrent", err)
	}
	if _, err := s.MigrateUp(ctx, nil); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema after MigrateUp: %v", err)
	}
}
