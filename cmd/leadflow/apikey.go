package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// apiKeyPrefix starts every key.
const apiKeyPrefix = httpapi.APIKeyStart

// newAPIKeySecret returns a fresh key, made as the console makes them.
func newAPIKeySecret() string { return httpapi.NewAPIKeySecret() }

// validAPIKeySecret accepts a key a script chose (dev --api-key) only if it
// is long enough to be a secret.
func validAPIKeySecret(s string) error {
	if len(s) < 24 || len(s) > 200 || strings.ContainsAny(s, " \t\r\n") {
		return errors.New("an API key must be 24 to 200 characters with no spaces")
	}
	return nil
}

// createAPIKey stores a key for the named workspace (created if missing).
// A userEmail names the workspace's user the key acts as ("" for none).
func createAPIKey(ctx context.Context, st *store.Store, workspace string, role store.Role, name, secret, userEmail string) (store.APIKey, error) {
	var key store.APIKey
	err := st.InTx(ctx, func(q *store.Queries) error {
		ws, err := q.EnsureWorkspace(ctx, workspace)
		if err != nil {
			return err
		}
		var userID *uuid.UUID
		if userEmail != "" {
			u, err := q.UserByEmail(ctx, ws.ID, userEmail)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("--user %q: no such user in workspace %q (create it with POST /api/v1/users)", userEmail, workspace)
			} else if err != nil {
				return err
			}
			userID = &u.ID
		}
		key, err = q.InsertAPIKey(ctx, store.APIKey{WorkspaceID: ws.ID, Role: role, Name: name, Prefix: httpapi.APIKeyPrefix(secret), UserID: userID}, secret)
		return err
	})
	return key, err
}

// cmdAPIKey is `apikey create`, `apikey list` and `apikey revoke`.
func cmdAPIKey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "list":
			return cmdAPIKeyList(ctx, args[1:], getenv, stdout, stderr)
		case "revoke":
			return cmdAPIKeyRevoke(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: leadflow apikey create --workspace NAME --role admin|marketing|sales [--name LABEL] [--user EMAIL]\n       leadflow apikey list --workspace NAME\n       leadflow apikey revoke --workspace NAME KEY_ID")
		return errUsage
	}
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	finish := configFlags(fs, getenv)
	workspace := fs.String("workspace", "", "workspace name (created if missing)")
	role := fs.String("role", "", "admin, marketing or sales")
	name := fs.String("name", "", "a label for the key")
	user := fs.String("user", "", "email of the workspace's user the key acts as (a sales rep, a sales admin)")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	cfg, err := finish()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	var errs []error
	if cfg.DatabaseURL == "" {
		errs = append(errs, errors.New("LEADFLOW_DATABASE_URL (or --database-url) is required"))
	}
	if strings.TrimSpace(*workspace) == "" || len(*workspace) > 200 {
		errs = append(errs, errors.New("--workspace: a name of 1 to 200 characters is required"))
	}
	if !store.Role(*role).Valid() {
		errs = append(errs, fmt.Errorf("--role %q: want admin, marketing or sales", *role))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		return err
	}
	secret := newAPIKeySecret()
	if _, err := createAPIKey(ctx, st, strings.TrimSpace(*workspace), store.Role(*role), *name, secret, strings.TrimSpace(*user)); err != nil {
		return err
	}
	// The key alone on stdout, so scripts can capture it.
	fmt.Fprintln(stdout, secret)
	return nil
}
