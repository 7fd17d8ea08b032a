package store_test

import (
	"context"
	"testing"

	"leadflow/store"
	"leadflow/store/storetest"
)

func TestTryLockIdentityNeverWaitsForAHeldLock(t *testing.T) {
	t.Parallel()
	s := storetest.NewStore(t)
	ctx := context.Background()
	ws, err := s.EnsureWorkspace(ctx, "try-lock")
	if err != nil {
		t.Fatal(err)
	}
	const key = "email:ann@acme.example"
	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.InTx(ctx, func(q *store.Queries) error {
			if err := q.LockIdentities(ctx, ws.ID, key); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	err = s.InTx(ctx, func(q *store.Queries) error {
		ok, err := q.TryLockIdentity(ctx, ws.ID, key)
		if err != nil {
			return err
		}
		if ok {
			t.Error("took a lock another transaction holds")
		}
		// A key of its own, and one it holds already, it takes.
		if ok, err := q.TryLockIdentity(ctx, ws.ID, "email:bob@acme.example"); err != nil || !ok {
			t.Errorf("free key: took = %v, err = %v, want taken", ok, err)
		}
		if ok, err := q.TryLockIdentity(ctx, ws.ID, "email:bob@acme.example"); err != nil || !ok {
			t.Errorf("key held by itself: took = %v, err = %v, want taken", ok, err)
		}
		return nil
	})
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Released with its transaction.
	if err := s.InTx(ctx, func(q *store.Queries) error {
		if ok, err := q.TryLockIdentity(ctx, ws.ID, key); err != nil || !ok {
			t.Errorf("released key: took = %v, err = %v, want taken", ok, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
