package nurture_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"leadflow/nurture"
	"leadflow/store"
)

// unsuppress asks to remove an address's suppression with a key of the
// role in ws.
func (b *trackBundle) unsuppress(t *testing.T, ws store.Workspace, role store.Role, email, query, body string) answer {
	t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return b.do(t, http.MethodDelete, "/api/v1/suppressions/"+url.PathEscape(email)+query, ct, body,
		"X-Test-Workspace", ws.ID.String(), "X-Test-Role", string(role))
}

// DELETE /suppressions/{email} takes a complaint back once a reason is
// given, records who did it, and the address is emailed again; an address
// not suppressed (or suppressed in another workspace) is a 404 that says
// so; sales may not.
func TestDeleteSuppression(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	b.lead(t, b.ws, "ada@example.com")
	decodeBounceResult(t, b.bounce(t, b.ws, store.RoleMarketing, `{"email": "ada@example.com", "type": "complaint"}`))
	decodeBounceResult(t, b.bounce(t, b.other, store.RoleMarketing, `{"email": "grace@example.com", "type": "hard"}`))

	for _, c := range []struct {
		name        string
		role        store.Role
		email, body string
		status      int
	}{
		{"without a reason", store.RoleMarketing, "ada@example.com", "", http.StatusUnprocessableEntity},
		{"with an empty reason", store.RoleMarketing, "ada@example.com", `{"reason": " "}`, http.StatusUnprocessableEntity},
		{"with a misspelt member", store.RoleMarketing, "ada@example.com", `{"reasn": "x"}`, http.StatusUnprocessableEntity},
		{"by sales", store.RoleSales, "ada@example.com", `{"reason": "x"}`, http.StatusForbidden},
		{"of another workspace", store.RoleMarketing, "grace@example.com", `{"reason": "x"}`, http.StatusNotFound},
	} {
		if a := b.unsuppress(t, b.ws, c.role, c.email, "", c.body); a.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, a.status, a.body, c.status)
		}
	}
	if diff := cmp.Diff([]string{"ada@example.com complained"}, b.suppressions(t, b.ws)); diff != "" {
		t.Fatalf("suppressions after the refusals (-want +got):\n%s", diff)
	}

	// Another spelling of the address is the same address.
	a := b.unsuppress(t, b.ws, store.RoleMarketing, "Ada+news@Example.com", "", `{"reason": "complained by mistake, asked to be back"}`)
	if a.status != http.StatusOK {
		t.Fatalf("DELETE = %d: %s", a.status, a.body)
	}
	var r nurture.SuppressionRemoval
	if err := json.Unmarshal([]byte(a.body), &r); err != nil {
		t.Fatal(err)
	}
	if r.EmailCanonical != "ada@example.com" || r.Reason != store.SuppressComplained || r.Why != "complained by mistake, asked to be back" ||
		r.RemovedBy == "" || r.RemovedAt.IsZero() || r.SuppressedAt.IsZero() {
		t.Errorf("removal = %+v", r)
	}
	if got := b.suppressions(t, b.ws); len(got) != 0 {
		t.Errorf("suppressions after the removal = %v, want none", got)
	}
	if diff := cmp.Diff([]string{"grace@example.com bounced"}, b.suppressions(t, b.other)); diff != "" {
		t.Errorf("the other workspace's suppressions (-want +got):\n%s", diff)
	}

	// Again: not suppressed, and the answer says which address.
	a = b.unsuppress(t, b.ws, store.RoleMarketing, "ada@example.com", "", `{"reason": "again"}`)
	if a.status != http.StatusNotFound {
		t.Fatalf("removing again = %d: %s, want 404", a.status, a.body)
	}
	var body struct{ Message string }
	if err := json.Unmarshal([]byte(a.body), &body); err != nil || !strings.Contains(body.Message, "ada@example.com is not suppressed") {
		t.Errorf("404 body = %s, want it to say the address is not suppressed", a.body)
	}

	// A client that sends no body with a DELETE gives the reason in the query.
	decodeBounceResult(t, b.bounce(t, b.ws, store.RoleAdmin, `{"email": "ada@example.com", "type": "hard"}`))
	if a := b.unsuppress(t, b.ws, store.RoleAdmin, "ada@example.com", "?reason=new+mailbox", ""); a.status != http.StatusOK {
		t.Errorf("DELETE with ?reason= = %d: %s", a.status, a.body)
	}
	if got := b.suppressions(t, b.ws); len(got) != 0 {
		t.Errorf("suppressions = %v, want none", got)
	}
}
