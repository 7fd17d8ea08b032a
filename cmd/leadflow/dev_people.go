package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"leadflow/embed/console"
	"leadflow/store"
)

// demoPerson is a person `leadflow dev` makes so each role can be tried.
type demoPerson struct {
	Name, Email, Role string
	// Password is set only on the run that chose it: it is printed once.
	Password string
}

// demoPeople are the demo workspace's people: an admin, a marketer, and the
// sales rep the demo sales team already has.
var demoPeople = []demoPerson{
	{Name: "Alex Admin", Email: "admin@example.com", Role: store.UserAdmin},
	{Name: "Maya Marketing", Email: "maya@example.com", Role: store.UserMarketing},
	{Name: "Sam Sales", Email: "sam@example.com", Role: store.UserSalesRep},
}

// ensureDemoPeople gives each demo person a password once: the people made
// by an earlier run keep theirs (their passwords were printed then).
func ensureDemoPeople(ctx context.Context, st *store.Store, workspace string) ([]demoPerson, error) {
	ws, err := st.EnsureWorkspace(ctx, workspace)
	if err != nil {
		return nil, err
	}
	out := make([]demoPerson, 0, len(demoPeople))
	for _, d := range demoPeople {
		u, err := st.UserByEmail(ctx, ws.ID, d.Email)
		switch {
		case errors.Is(err, store.ErrNotFound):
			d.Password = newDemoPassword()
			hash, err := console.HashPassword(d.Password)
			if err != nil {
				return nil, err
			}
			if _, err := st.InsertPerson(ctx, store.Person{WorkspaceID: ws.ID, Name: d.Name, Email: d.Email, Role: d.Role, PasswordHash: hash}); err != nil {
				return nil, fmt.Errorf("demo person %s: %w", d.Email, err)
			}
		case err != nil:
			return nil, err
		default:
			p, err := st.GetPerson(ctx, ws.ID, u.ID)
			if err != nil {
				return nil, err
			}
			d.Role = p.Role
			if p.PasswordHash == "" {
				// A demo sales user made before people could sign in.
				d.Password = newDemoPassword()
				hash, err := console.HashPassword(d.Password)
				if err != nil {
					return nil, err
				}
				if err := st.SetPersonPassword(ctx, ws.ID, p.ID, hash); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, d)
	}
	return out, nil
}

func newDemoPassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// printDemoPeople tells how to sign in as each demo person.
func printDemoPeople(w io.Writer, base string, people []demoPerson) {
	fmt.Fprintf(w, "Sign in to the console at %s/login as:\n", base)
	kept := false
	for _, p := range people {
		pw := p.Password
		if pw == "" {
			pw, kept = "(printed when it was made)", true
		}
		fmt.Fprintf(w, "  %-14s %-20s password %s\n", p.Role, p.Email, pw)
	}
	if kept {
		fmt.Fprintf(w, "Lost a password? Ask for a sign-in link at %s/login/link; the email shows at %s/dev/mail.\n", base, base)
	}
	fmt.Fprintln(w)
}
