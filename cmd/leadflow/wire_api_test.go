package main

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A member of the wrong type is named in the same words by every domain's
// API: a client learns one wording, not one per resource.
func TestTypeErrorsAreWordedAlikeOnEveryFace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		setup  func(*testing.T) *apiBundle
		method string
		path   string
		field  string
	}{
		{"capture", setupAPI, "POST", "/api/v1/forms", "double_opt_in"},
		{"nurture", setupNurtureAPI, "PATCH", "/api/v1/workspace", "require_consent"},
		{"qualify", setupSalesAPI, "POST", "/api/v1/users", "available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := tt.setup(t)
			for _, sent := range []any{"yes", 1, []bool{true}} {
				got := expectError(t, b, http.StatusUnprocessableEntity, "validation_failed", b.a.admin, tt.method, tt.path,
					map[string]any{tt.field: sent})
				want := map[string]string{tt.field: "must be true or false"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s %s with %s = %v: fields (-want +got):\n%s", tt.method, tt.path, tt.field, sent, diff)
				}
			}
		})
	}
}
