package main

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestQualifyReportsFunnelRejectsDatesOutOfRange(t *testing.T) {
	t.Parallel()
	b := setupSalesAPI(t)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"?to=9999-12-31", []string{"to"}},
		{"?from=9999-12-30&to=9999-12-31", []string{"from", "to"}},
		{"?to=0001-01-01", []string{"to"}},
		{"?from=0000-01-01", []string{"from"}},
		{"?to=9999-12-31T23:59:59Z", []string{"to"}},
		{"?to=2026-13-01", []string{"to"}},
		{"?from=2026-02-30", []string{"from"}},
		{"?to=%00", []string{"to"}},
	} {
		fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.marketing, "GET",
			"/api/v1/reports/funnel"+tc.query, nil)
		if diff := cmp.Diff(tc.want, fieldNames(fields)); diff != "" {
			t.Errorf("%s: fields at fault (-want +got):\n%s", tc.query, diff)
		}
	}
	// The widest range allowed still answers.
	expectJSON[map[string]any](t, b, http.StatusOK, b.a.marketing, "GET", "/api/v1/reports/funnel?from=1970-01-01&to=2999-12-31", nil)
}

func TestQualifyAssignmentRequalifyCooldown(t *testing.T) {
	t.Parallel()
	b := setupSalesAPI(t)
	type cooldown struct {
		RequalifyCooldown string `json:"requalify_cooldown"`
	}
	if got := expectJSON[cooldown](t, b, http.StatusOK, b.a.admin, "GET", "/api/v1/assignment", nil); got.RequalifyCooldown != "30d" {
		t.Errorf("default cooldown %q, want 30d", got.RequalifyCooldown)
	}
	for in, want := range map[string]string{"12h": "12h", "0": "0s", "90d": "90d"} {
		got := expectJSON[cooldown](t, b, http.StatusOK, b.a.admin, "PUT", "/api/v1/assignment", map[string]any{"requalify_cooldown": in})
		if got.RequalifyCooldown != want {
			t.Errorf("PUT %q: cooldown %q, want %q", in, got.RequalifyCooldown, want)
		}
	}
	for _, in := range []string{"soon", "-1d", "400d"} {
		fields := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.admin, "PUT", "/api/v1/assignment",
			map[string]any{"requalify_cooldown": in})
		if diff := cmp.Diff([]string{"requalify_cooldown"}, fieldNames(fields)); diff != "" {
			t.Errorf("%q: fields at fault (-want +got):\n%s", in, diff)
		}
	}
}
