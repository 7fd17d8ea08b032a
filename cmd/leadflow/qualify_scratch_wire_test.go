package main

import (
	"net/http"
	"strings"
	"testing"
)

// An opportunity made from scratch has no lead and maybe no contact: every
// answer that shows it (created, read, listed, in its account) says null
// for them, never the zero UUID.
func TestQualifyOpportunityFromScratchShowsNoZeroIDs(t *testing.T) {
	t.Parallel()
	b := setupConvertAPI(t)
	o := expectJSON[opportunityBody](t, b.apiBundle, http.StatusCreated, b.repKey, "POST", "/api/v1/opportunities",
		map[string]any{"account": map[string]any{"name": "Zero Ltd"}, "name": "From scratch"})
	const zero = "00000000-0000-0000-0000-000000000000"
	for _, path := range []string{
		"/api/v1/opportunities/" + o.ID.String(),
		"/api/v1/opportunities?account_id=" + o.AccountID.String(),
		"/api/v1/accounts/" + o.AccountID.String(),
	} {
		status, body := b.call(t, b.repKey, "GET", path, nil)
		if status != http.StatusOK {
			t.Fatalf("GET %s = %d: %s", path, status, body)
		}
		if !strings.Contains(string(body), o.ID.String()) {
			t.Fatalf("GET %s does not show the opportunity: %s", path, body)
		}
		if strings.Contains(string(body), zero) {
			t.Errorf("GET %s shows the zero UUID: %s", path, body)
		}
		for _, null := range []string{`"lead_id":null`, `"contact_id":null`} {
			if !strings.Contains(string(body), null) {
				t.Errorf("GET %s lacks %s: %s", path, null, body)
			}
		}
	}
}
