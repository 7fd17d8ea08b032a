package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/alexedwards/argon2id"
	"github.com/google/go-cmp/cmp"

	"leadflow/store"
	"leadflow/store/storetest"
)

func TestUserCreateOnTheCommandLine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := storetest.DatabaseURL(t)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	env := envFunc(map[string]string{"LEADFLOW_DATABASE_URL": dbURL, "LEADFLOW_BASE_URL": "https://leads.example.com/"})
	create := func(stdin string, args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := cmdUser(ctx, append([]string{"create"}, args...), env, strings.NewReader(stdin), &out, &errOut)
		return out.String(), errOut.String(), err
	}

	// With a password on stdin: the person signs in with it.
	if _, _, err := create("a long enough password\n", "--workspace", "acme", "--email", "Ada@Example.com", "--role", "admin", "--name", "Ada", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	ps, err := st.PeopleByEmail(ctx, "ada@example.com")
	if err != nil || len(ps) != 1 {
		t.Fatalf("people = %+v, %v", ps, err)
	}
	if ok, err := argon2id.ComparePasswordAndHash("a long enough password", ps[0].PasswordHash); !ok || err != nil {
		t.Errorf("stored hash does not match the password from stdin (%v)", err)
	}
	if ps[0].Role != store.UserAdmin || ps[0].Name != "Ada" || ps[0].Email != "ada@example.com" {
		t.Errorf("person = %+v", ps[0])
	}

	// Without one: a one-time sign-in link on the base URL, alone on stdout.
	out, _, err := create("", "--workspace", "acme", "--email", "sam@example.com", "--role", "sales_rep")
	if err != nil {
		t.Fatal(err)
	}
	link := strings.TrimSpace(out)
	secret, ok := strings.CutPrefix(link, "https://leads.example.com/login/link/")
	if !ok || strings.ContainsAny(secret, "/ \n") {
		t.Fatalf("stdout = %q, want one sign-in link", out)
	}
	tok, err := st.PeekSignInToken(ctx, secret, []string{store.TokenInvite})
	if err != nil {
		t.Fatalf("the printed link's token: %v", err)
	}
	sam, err := st.PersonByID(ctx, tok.UserID)
	if err != nil || sam.Email != "sam@example.com" || sam.PasswordHash != "" || sam.Name != "sam" {
		t.Errorf("person of the link = %+v, %v", sam, err)
	}

	for _, bad := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"--workspace", "acme", "--email", "sam@example.com", "--role", "sales_rep"}, "already has"},
		{"", []string{"--workspace", "acme", "--email", "x@example.com", "--role", "owner"}, "--role"},
		{"", []string{"--workspace", "acme", "--email", "not an email", "--role", "marketing"}, "--email"},
		{"short\n", []string{"--workspace", "acme", "--email", "y@example.com", "--role", "marketing", "--password-stdin"}, "password"},
	} {
		if _, _, err := create(bad.stdin, bad.args...); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("user create %v: err %v, want one about %q", bad.args, err, bad.want)
		}
	}
}

var devPersonLine = regexp.MustCompile(`(?m)^  (\S+)\s+(\S+@example\.com)\s+password (\S+)$`)

// checkDevPeopleSignIn signs in through /login as each person the dev
// banner names, with the password it printed.
func checkDevPeopleSignIn(t *testing.T, base, banner string) {
	t.Helper()
	lines := devPersonLine.FindAllStringSubmatch(banner, -1)
	var roles []string
	for _, m := range lines {
		roles = append(roles, m[1])
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(url.Values{"email": {m[2]}, "password": {m[3]}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// Sales land on their handoffs; the others' home greets them.
		want, greeting := "/console/", "Welcome"
		if m[1] == store.UserSalesRep {
			want, greeting = "/console/handoffs", "Handoffs"
		}
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != want || !strings.Contains(string(body), greeting) {
			t.Errorf("sign in as dev's %s %s: status %d at %s", m[1], m[2], resp.StatusCode, resp.Request.URL)
		}
	}
	if d := cmp.Diff([]string{store.UserAdmin, store.UserMarketing, store.UserSalesRep}, roles); d != "" {
		t.Errorf("dev banner's people (-want +got):\n%s\n%s", d, banner)
	}
}
