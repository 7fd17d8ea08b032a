package store_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"leadflow/store"
	"leadflow/store/storetest"
)

type peopleBundle struct {
	st     *store.Store
	ws     store.Workspace
	person store.Person
}

func setupPeople(t *testing.T) peopleBundle {
	t.Helper()
	st := storetest.NewStore(t)
	ctx := context.Background()
	ws, err := st.EnsureWorkspace(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.InsertPerson(ctx, store.Person{WorkspaceID: ws.ID, Name: "Ada Admin", Email: "ada@example.com", Role: store.UserAdmin, PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	return peopleBundle{st: st, ws: ws, person: p}
}

func TestPeopleByEmailFindsTheAddressInEveryWorkspace(t *testing.T) {
	t.Parallel()
	b := setupPeople(t)
	ctx := context.Background()
	other, err := b.st.EnsureWorkspace(ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	// A sales user made before people could sign in: no password.
	if _, err := b.st.InsertUser(ctx, store.User{WorkspaceID: other.ID, Name: "Ada Rep", Email: "ADA@example.com", Role: store.UserSalesRep, Available: true}); err != nil {
		t.Fatal(err)
	}
	ps, err := b.st.PeopleByEmail(ctx, "Ada@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Workspace, Role, Hash string }
	var got []row
	for _, p := range ps {
		got = append(got, row{p.WorkspaceName, p.Role, p.PasswordHash})
	}
	want := []row{{"acme", store.UserAdmin, "h"}, {"globex", store.UserSalesRep, ""}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("people by email (-want +got):\n%s", d)
	}
	if _, err := b.st.InsertPerson(ctx, store.Person{WorkspaceID: b.ws.ID, Name: "Again", Email: "ada@example.com", Role: store.UserMarketing}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second person with the same email = %v, want ErrConflict", err)
	}
	if _, err := b.st.InsertPerson(ctx, store.Person{WorkspaceID: b.ws.ID, Name: "Bad", Email: "bad@example.com", Role: "owner"}); err == nil {
		t.Error("a person with an unknown role was stored")
	}
}

func TestSessionFollowsThePersonAndEnds(t *testing.T) {
	t.Parallel()
	b := setupPeople(t)
	ctx := context.Background()
	const secret = "session-secret"
	err := b.st.InsertSession(ctx, store.NewSession{UserID: b.person.ID, CSRFToken: "csrf", ExpiresAt: time.Now().Add(time.Hour)}, secret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := b.st.SessionBySecret(ctx, secret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if sp.ID != b.person.ID || sp.CSRFToken != "csrf" || sp.Role != store.UserAdmin || sp.LastSignInAt == nil {
		t.Errorf("session = %+v", sp)
	}
	if _, err := b.st.SessionBySecret(ctx, "another", time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown secret = %v, want ErrNotFound", err)
	}
	// A role change holds for the live session at once.
	if err := b.st.SetPersonRole(ctx, b.ws.ID, b.person.ID, store.UserMarketing); err != nil {
		t.Fatal(err)
	}
	if sp, err = b.st.SessionBySecret(ctx, secret, time.Hour); err != nil || sp.Role != store.UserMarketing {
		t.Errorf("after role change: role %q, err %v", sp.Role, err)
	}
	// Idle for longer than allowed: gone.
	if _, err := b.st.Pool.Exec(ctx, `UPDATE sessions SET last_seen_at = now() - interval '2 hours'`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.SessionBySecret(ctx, secret, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("idle session = %v, want ErrNotFound", err)
	}
	if _, err := b.st.Pool.Exec(ctx, `UPDATE sessions SET last_seen_at = now(), expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.SessionBySecret(ctx, secret, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session past its absolute expiry = %v, want ErrNotFound", err)
	}
	// Deactivation ends every session.
	if err := b.st.InsertSession(ctx, store.NewSession{UserID: b.person.ID, CSRFToken: "c2", ExpiresAt: time.Now().Add(time.Hour)}, "second", time.Hour); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.st.CountSessions(ctx, b.person.ID); n != 1 {
		t.Errorf("sessions after a new sign-in = %d, want 1 (the expired one dropped)", n)
	}
	if err := b.st.DeactivatePerson(ctx, b.ws.ID, b.person.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.st.CountSessions(ctx, b.person.ID); n != 0 {
		t.Errorf("sessions after deactivation = %d, want 0", n)
	}
	if err := b.st.DeactivatePerson(ctx, b.ws.ID, store.NewID()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deactivate unknown person = %v, want ErrNotFound", err)
	}
}

func TestSignInTokenIsUsedOnce(t *testing.T) {
	t.Parallel()
	b := setupPeople(t)
	ctx := context.Background()
	tok := store.SignInToken{UserID: b.person.ID, Purpose: store.TokenSignIn, Next: "/console/people", ExpiresAt: time.Now().Add(time.Minute)}
	if err := b.st.InsertSignInToken(ctx, tok, "link-secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.UseSignInToken(ctx, "link-secret", []string{store.TokenReset}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("sign-in token used as a reset = %v, want ErrNotFound", err)
	}
	if _, err := b.st.PeekSignInToken(ctx, "link-secret", []string{store.TokenSignIn}); err != nil {
		t.Errorf("peek: %v", err)
	}
	got, err := b.st.UseSignInToken(ctx, "link-secret", []string{store.TokenSignIn, store.TokenInvite})
	if err != nil || got.UserID != b.person.ID || got.Next != "/console/people" {
		t.Fatalf("first use = %+v, %v", got, err)
	}
	if _, err := b.st.UseSignInToken(ctx, "link-secret", []string{store.TokenSignIn}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second use = %v, want ErrNotFound", err)
	}
	expired := tok
	expired.ExpiresAt = time.Now().Add(-time.Second)
	if err := b.st.InsertSignInToken(ctx, expired, "old-secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.UseSignInToken(ctx, "old-secret", []string{store.TokenSignIn}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired token = %v, want ErrNotFound", err)
	}
}

func TestDeadSignInTokensAreDroppedWhenANewOneIsMade(t *testing.T) {
	t.Parallel()
	b := setupPeople(t)
	ctx := context.Background()
	for _, secret := range []string{"used", "expired", "live"} {
		if err := b.st.InsertSignInToken(ctx, store.SignInToken{UserID: b.person.ID, Purpose: store.TokenSignIn, ExpiresAt: time.Now().Add(time.Hour)}, secret); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.st.Pool.Exec(ctx, `UPDATE sign_in_tokens SET used_at = now() - interval '2 days' WHERE token_hash = sha256('used')`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.Pool.Exec(ctx, `UPDATE sign_in_tokens SET expires_at = now() - interval '2 days' WHERE token_hash = sha256('expired')`); err != nil {
		t.Fatal(err)
	}
	if err := b.st.InsertSignInToken(ctx, store.SignInToken{UserID: b.person.ID, Purpose: store.TokenReset, ExpiresAt: time.Now().Add(time.Hour)}, "new"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.st.Pool.QueryRow(ctx, `SELECT count(*) FROM sign_in_tokens WHERE user_id = $1`, b.person.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("tokens kept = %d, want 2 (the live one and the new one)", n)
	}
}

func TestMigration14RollsBackAndForward(t *testing.T) {
	t.Parallel()
	b := setupPeople(t)
	ctx := context.Background()
	raw, err := fs.ReadFile(store.Migrations(), "00014_people.sql")
	if err != nil {
		t.Fatal(err)
	}
	up, down, ok := strings.Cut(string(raw), "-- +goose Down")
	if !ok {
		t.Fatal("no Down section")
	}
	if _, err := b.st.Pool.Exec(ctx, down); err != nil {
		t.Fatalf("down: %v", err)
	}
	var role string
	if err := b.st.Pool.QueryRow(ctx, `SELECT role FROM users WHERE id = $1`, b.person.ID).Scan(&role); err != nil || role != store.UserMarketing {
		t.Errorf("after down the admin's role = %q (%v), want marketing", role, err)
	}
	if _, err := b.st.Pool.Exec(ctx, up); err != nil {
		t.Fatalf("up again: %v", err)
	}
}
