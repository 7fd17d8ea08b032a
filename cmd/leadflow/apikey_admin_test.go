package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"leadflow/embed"
	"leadflow/embed/httpapi"
	"leadflow/store"
	"leadflow/store/storetest"
)

// keyView is the API's view of a key.
type keyView struct {
	ID         uuid.UUID `json:"id"`
	Name       string    `json:"name"`
	Role       string    `json:"role"`
	Prefix     string    `json:"prefix"`
	UserEmail  *string   `json:"user_email"`
	LastUsedAt *string   `json:"last_used_at"`
	RevokedAt  *string   `json:"revoked_at"`
}

func TestAPIKeysListedAndRevokedThroughTheAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.NewStore(t)
	site, err := embed.New(embed.Config{Store: st, BaseURL: "http://leads.example"})
	if err != nil {
		t.Fatal(err)
	}
	e := newEcho(slog.New(slog.DiscardHandler), nil)
	site.APIRoutes(e.Group("/api/v1", httpapi.Authenticate(st)), httpapi.RequireRole)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	if _, err := createAPIKey(ctx, st, "acme", store.RoleAdmin, "ops", newAPIKeySecret(), ""); err != nil {
		t.Fatal(err)
	}
	adminSecret := newAPIKeySecret()
	if _, err := createAPIKey(ctx, st, "acme", store.RoleAdmin, "console", adminSecret, ""); err != nil {
		t.Fatal(err)
	}
	integration := newAPIKeySecret()
	integrationKey, err := createAPIKey(ctx, st, "acme", store.RoleMarketing, "website", integration, "")
	if err != nil {
		t.Fatal(err)
	}
	otherSecret := newAPIKeySecret()
	if _, err := createAPIKey(ctx, st, "globex", store.RoleAdmin, "theirs", otherSecret, ""); err != nil {
		t.Fatal(err)
	}
	call := func(secret, method, path string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}

	status, body := call(adminSecret, "GET", "/api/v1/api-keys")
	if status != 200 {
		t.Fatalf("list: %d %s", status, body)
	}
	for _, secret := range []string{adminSecret, integration, otherSecret} {
		if bytes.Contains(body, []byte(secret)) || bytes.Contains(body, []byte(secret[len(apiKeyPrefix)+6:])) {
			t.Fatalf("the list shows a key: %s", body)
		}
	}
	var list struct{ Items []keyView }
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range list.Items {
		names = append(names, k.Name+"/"+k.Role)
	}
	if got, want := strings.Join(names, " "), "website/marketing console/admin ops/admin"; got != want {
		t.Errorf("keys listed = %q, want %q (newest first, this workspace only)", got, want)
	}
	if list.Items[1].LastUsedAt == nil {
		t.Error("the key making the request shows no last use")
	}

	// Only admins manage keys; a workspace never sees another's.
	if status, _ := call(integration, "GET", "/api/v1/api-keys"); status != 403 {
		t.Errorf("a marketing key listing keys: %d, want 403", status)
	}
	if status, _ := call(otherSecret, "POST", "/api/v1/api-keys/"+integrationKey.ID.String()+"/revoke"); status != 404 {
		t.Errorf("another workspace revoking the key: %d, want 404", status)
	}
	if status, _ := call(integration, "GET", "/api/v1/forms/"+uuid.NewString()+"/snippet"); status != 404 {
		t.Errorf("the integration key before revocation: %d, want it to work (404 for an unknown form)", status)
	}

	status, body = call(adminSecret, "POST", "/api/v1/api-keys/"+integrationKey.ID.String()+"/revoke")
	var revoked keyView
	if status != 200 || json.Unmarshal(body, &revoked) != nil || revoked.RevokedAt == nil {
		t.Fatalf("revoke: %d %s", status, body)
	}
	// The very next request with the revoked key is refused.
	if status, _ := call(integration, "GET", "/api/v1/forms/"+uuid.NewString()+"/snippet"); status != 401 {
		t.Errorf("the revoked key: %d, want 401", status)
	}
	if status, _ := call(adminSecret, "POST", "/api/v1/api-keys/not-an-id/revoke"); status != 404 {
		t.Errorf("revoking a malformed id: %d, want 404", status)
	}
}

func TestAPIKeyListAndRevokeOnTheCommandLine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := storetest.DatabaseURL(t)
	env := envFunc(map[string]string{"LEADFLOW_DATABASE_URL": dbURL})
	var out bytes.Buffer
	if err := run(ctx, []string{"apikey", "create", "--workspace", "acme", "--role", "marketing", "--name", "website"}, env, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(out.String())

	out.Reset()
	if err := run(ctx, []string{"apikey", "list", "--workspace", "acme"}, env, &out, io.Discard); err != nil {
		t.Fatalf("apikey list: %v", err)
	}
	listing := out.String()
	if strings.Contains(listing, secret) || !strings.Contains(listing, "website") || !strings.Contains(listing, "marketing") {
		t.Fatalf("apikey list printed:\n%s", listing)
	}
	lines := strings.Split(strings.TrimSpace(listing), "\n")
	if len(lines) != 2 {
		t.Fatalf("apikey list printed %d lines, want a header and one key:\n%s", len(lines), listing)
	}
	id := strings.Fields(lines[1])[0]

	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.APIKeyBySecret(ctx, secret); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	out.Reset()
	if err := run(ctx, []string{"apikey", "revoke", "--workspace", "acme", id}, env, &out, io.Discard); err != nil {
		t.Fatalf("apikey revoke: %v", err)
	}
	if !strings.HasPrefix(out.String(), "revoked "+id) {
		t.Errorf("apikey revoke printed %q", out.String())
	}
	if _, err := st.APIKeyBySecret(ctx, secret); err == nil {
		t.Error("the revoked key still authenticates")
	}

	for _, args := range [][]string{
		{"apikey", "revoke", "--workspace", "acme", "nope"},
		{"apikey", "revoke", "--workspace", "acme", uuid.NewString()},
		{"apikey", "revoke", "--workspace", "no-such-workspace", id},
		{"apikey", "list"},
	} {
		if err := run(ctx, args, env, io.Discard, io.Discard); err == nil {
			t.Errorf("%v succeeded, want a clear error", args)
		}
	}
}
