package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"leadflow/store"
)

// apiKeyAdminFlags parses the flags `apikey list` and `apikey revoke` share
// and opens the store with its schema checked.
func apiKeyAdminFlags(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer) (*store.Store, store.Workspace, []string, error) {
	fs := flag.NewFlagSet("apikey "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	finish := configFlags(fs, getenv)
	workspace := fs.String("workspace", "", "workspace name")
	if err := fs.Parse(args); err != nil {
		return nil, store.Workspace{}, nil, errUsage
	}
	cfg, err := finish()
	if err != nil {
		return nil, store.Workspace{}, nil, fmt.Errorf("configuration:\n%w", err)
	}
	if cfg.DatabaseURL == "" {
		return nil, store.Workspace{}, nil, errors.New("LEADFLOW_DATABASE_URL (or --database-url) is required")
	}
	if strings.TrimSpace(*workspace) == "" {
		return nil, store.Workspace{}, nil, errors.New("--workspace is required")
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, store.Workspace{}, nil, err
	}
	if err := st.CheckSchema(ctx); err != nil {
		st.Close()
		return nil, store.Workspace{}, nil, err
	}
	ws, err := st.WorkspaceByName(ctx, strings.TrimSpace(*workspace))
	if errors.Is(err, store.ErrNotFound) {
		st.Close()
		return nil, store.Workspace{}, nil, fmt.Errorf("--workspace %q: no such workspace", *workspace)
	} else if err != nil {
		st.Close()
		return nil, store.Workspace{}, nil, err
	}
	return st, ws, fs.Args(), nil
}

// cmdAPIKeyList is `apikey list`: every key of the workspace, never the key
// itself.
func cmdAPIKeyList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	st, ws, rest, err := apiKeyAdminFlags(ctx, "list", args, getenv, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	if len(rest) > 0 {
		fmt.Fprintln(stderr, "usage: leadflow apikey list --workspace NAME")
		return errUsage
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tROLE\tUSER\tCREATED\tLAST USED\tREVOKED")
	page := store.Page{Limit: store.MaxPageLimit}
	for {
		ks, err := st.ListAPIKeys(ctx, ws.ID, page)
		if err != nil {
			return err
		}
		for _, k := range ks {
			user := "-"
			if k.UserEmail != nil {
				user = *k.UserEmail
			}
			fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, orDash(k.Name), k.Role, user,
				k.CreatedAt.UTC().Format(time.RFC3339), timeOrDash(k.LastUsedAt), timeOrDash(k.RevokedAt))
		}
		if len(ks) < page.Limit {
			break
		}
		page.Before = ks[len(ks)-1].ID
	}
	return tw.Flush()
}

// cmdAPIKeyRevoke is `apikey revoke ID`: the next request made with the key
// is refused.
func cmdAPIKeyRevoke(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	st, ws, rest, err := apiKeyAdminFlags(ctx, "revoke", args, getenv, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	if len(rest) != 1 {
		fmt.Fprintln(stderr, "usage: leadflow apikey revoke --workspace NAME KEY_ID")
		return errUsage
	}
	id, err := uuid.Parse(rest[0])
	if err != nil {
		return fmt.Errorf("key id %q: want the ID that `leadflow apikey list` shows", rest[0])
	}
	k, err := st.RevokeAPIKey(ctx, ws.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("key %s: no such key in workspace %q", id, ws.Name)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked %s (%s…) at %s\n", k.ID, k.Prefix, k.RevokedAt.UTC().Format(time.RFC3339))
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
