package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"leadflow/store"
	"leadflow/store/storetest"
)

func TestAuthenticateAPIKeyRecordsLastUseAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	ws, err := s.EnsureWorkspace(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "lf_0123456789abcdefghijklmnopqrstuvwxyz"
	k, err := s.InsertAPIKey(ctx, store.APIKey{WorkspaceID: ws.ID, Role: store.RoleMarketing, Prefix: secret[:9]}, secret)
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() *time.Time {
		t.Helper()
		info, err := s.GetAPIKeyInfo(ctx, ws.ID, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		return info.LastUsedAt
	}
	if got := lastUsed(); got != nil {
		t.Fatalf("a new key shows a last use: %v", got)
	}
	got, err := s.AuthenticateAPIKey(ctx, secret)
	if err != nil || got.ID != k.ID || got.Role != store.RoleMarketing {
		t.Fatalf("AuthenticateAPIKey = %+v, %v", got, err)
	}
	first := lastUsed()
	if first == nil {
		t.Fatal("the use was not recorded")
	}
	// Used again within the minute: nothing is written.
	if _, err := s.AuthenticateAPIKey(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if again := lastUsed(); again == nil || !again.Equal(*first) {
		t.Errorf("last use rewritten within a minute: %v, then %v", first, again)
	}
	// A minute later it is written again.
	if _, err := s.Pool.Exec(ctx, `UPDATE api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = $1`, k.ID); err != nil {
		t.Fatal(err)
	}
	old := lastUsed()
	if _, err := s.AuthenticateAPIKey(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if later := lastUsed(); later == nil || !later.After(*old) {
		t.Errorf("last use not recorded after a minute: %v, then %v", old, later)
	}

	if _, err := s.AuthenticateAPIKey(ctx, "lf_not-a-key-of-anyone-at-all-000000"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown key: %v, want not found", err)
	}
	if _, err := s.RevokeAPIKey(ctx, ws.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateAPIKey(ctx, secret); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a revoked key: %v, want not found", err)
	}
}

// A key given to a person works only while the person may sign in: a
// deactivated person's keys are refused, and work again on reactivation.
func TestAuthenticateAPIKeyRefusesADeactivatedPersonsKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	ws, err := s.EnsureWorkspace(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.InsertUser(ctx, store.User{WorkspaceID: ws.ID, Name: "Ada Rep", Email: "ada@example.com", Role: store.UserSalesRep, Available: true})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "lf_abcdefghijklmnopqrstuvwxyz0123456789"
	k, err := s.InsertAPIKey(ctx, store.APIKey{WorkspaceID: ws.ID, Role: store.RoleSales, Prefix: secret[:9], UserID: &u.ID}, secret)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.AuthenticateAPIKey(ctx, secret); err != nil || got.ID != k.ID {
		t.Fatalf("the active person's key: %+v, %v", got, err)
	}
	if err := s.DeactivatePerson(ctx, ws.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateAPIKey(ctx, secret); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the deactivated person's key: %v, want not found", err)
	}
	if err := s.ReactivatePerson(ctx, ws.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateAPIKey(ctx, secret); err != nil {
		t.Errorf("the reactivated person's key: %v", err)
	}
}
