package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"

	"leadflow/embed/console"
	"leadflow/store"
)

// personRoles are the roles `user create` accepts.
var personRoles = []string{store.UserAdmin, store.UserMarketing, store.UserSalesRep, store.UserSalesManager, store.UserSalesAdmin}

// cmdUser is `user create`: a person who can sign in to the console. With
// --password-stdin the password is the first line of stdin; without it a
// one-time sign-in link is printed (alone on stdout, for scripts).
func cmdUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: leadflow user create --workspace NAME --email EMAIL --role "+strings.Join(personRoles, "|")+" [--name NAME] [--password-stdin]")
		return errUsage
	}
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	finish := configFlags(fs, getenv)
	workspace := fs.String("workspace", "", "workspace name (created if missing)")
	email := fs.String("email", "", "the person's email: what they sign in with")
	role := fs.String("role", "", strings.Join(personRoles, ", "))
	name := fs.String("name", "", "the person's name (default: the email's local part)")
	passwordStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	cfg, err := finish()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	addr := strings.ToLower(strings.TrimSpace(*email))
	var errs []error
	if cfg.DatabaseURL == "" {
		errs = append(errs, errors.New("LEADFLOW_DATABASE_URL (or --database-url) is required"))
	}
	if strings.TrimSpace(*workspace) == "" || len(*workspace) > 200 {
		errs = append(errs, errors.New("--workspace: a name of 1 to 200 characters is required"))
	}
	if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr || len(addr) > 254 {
		errs = append(errs, fmt.Errorf("--email %q: want an email address", *email))
	}
	if !slices.Contains(personRoles, *role) {
		errs = append(errs, fmt.Errorf("--role %q: want one of %s", *role, strings.Join(personRoles, ", ")))
	}
	var hash string
	if *passwordStdin {
		line, err := bufio.NewReader(io.LimitReader(stdin, console.MaxPassword+2)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password: %w", err)
		}
		password := strings.TrimRight(line, "\r\n")
		if hash, err = console.HashPassword(password); err != nil {
			errs = append(errs, fmt.Errorf("password: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	who := strings.TrimSpace(*name)
	if who == "" {
		who, _, _ = strings.Cut(addr, "@")
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		return err
	}
	var link string
	err = st.InTx(ctx, func(q *store.Queries) error {
		ws, err := q.EnsureWorkspace(ctx, strings.TrimSpace(*workspace))
		if err != nil {
			return err
		}
		p, err := q.InsertPerson(ctx, store.Person{WorkspaceID: ws.ID, Name: who, Email: addr, Role: *role, PasswordHash: hash})
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("--email %q: the workspace already has a person with this email", addr)
		}
		if err != nil || hash != "" {
			return err
		}
		link, err = console.NewLink(ctx, q, cfg.BaseURL, p.ID, store.TokenInvite, console.DefaultInviteTTL, "")
		return err
	})
	if err != nil {
		return err
	}
	if link == "" {
		fmt.Fprintf(stderr, "created %s (%s) in workspace %q; sign in at %s/login\n", addr, *role, strings.TrimSpace(*workspace), cfg.BaseURL)
		return nil
	}
	fmt.Fprintf(stderr, "created %s (%s) in workspace %q; this link signs them in once, within 7 days:\n", addr, *role, strings.TrimSpace(*workspace))
	fmt.Fprintln(stdout, link)
	return nil
}
