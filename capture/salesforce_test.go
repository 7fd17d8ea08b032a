package capture_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"leadflow/capture"
	"leadflow/store"
)

func TestUnparseableOptionalPhoneAccepted(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{})
	form := b.newForm(t, store.Form{AllowedReturnURLs: []string{"https://www.example.com/thanks"}})
	proc, err := capture.NewProcessor(capture.ProcessorConfig{Store: b.store})
	if err != nil {
		t.Fatal(err)
	}
	for i, phone := range []string{"020 7946 0000", "555-0142", "n/a"} {
		// A Salesforce form on a US site: the phone is optional.
		rec := b.postForm(t, form.Key, url.Values{
			"oid": {"00D5e000000abcd"}, "retURL": {"https://www.example.com/thanks"},
			"first_name": {"Ida"}, "last_name": {fmt.Sprint("Tester", i)},
			"email": {fmt.Sprintf("ida%d@example.com", i)}, "phone": {phone}, "submit": {"Submit"},
		})
		if rec.Code != http.StatusSeeOther {
			t.Errorf("phone %q: status %d, want 303 (accepted); body %s", phone, rec.Code, rec.Body)
		}
	}
	rs := b.responses(t, form.ID)
	if len(rs) != 3 {
		t.Fatalf("%d responses committed, want 3", len(rs))
	}
	var got []string
	for _, r := range rs {
		f := responseFields(t, r)
		if f.Phone != "" {
			t.Errorf("response %v: phone %q, want none verified", r.ID, f.Phone)
		}
		out, err := proc.Process(t.Context(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		l, err := b.store.GetLead(t.Context(), b.workspace.ID, out.LeadID)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f.PhoneUnverified+" / "+l.PhoneUnverified+" / "+l.Phone)
		if len(r.Custom) != 0 {
			t.Errorf("custom = %v, want none: the submit button is not customer data", r.Custom)
		}
	}
	want := []string{"020 7946 0000 / 020 7946 0000 / ", "555-0142 / 555-0142 / ", "n/a / n/a / "}
	if diff := cmp.Diff(want, got, cmp.Transformer("sort", sortedStrings)); diff != "" {
		t.Errorf("phone kept as typed: response / lead unverified / lead phone (-want +got):\n%s", diff)
	}
	// Three people, not one: an unverified phone never matches.
	if n, _ := countLeads(t, b); n != 3 {
		t.Errorf("leads = %d, want 3", n)
	}

	// A form that requires the phone refuses one it cannot use; and a
	// phone that is the only way to reach someone must be one.
	strict := b.newForm(t, store.Form{RequiredFields: []string{"phone"}})
	for name, body := range map[string]map[string]any{
		"required": {"email": "jo@example.com", "phone": "n/a"},
		"only":     {"phone": "n/a"},
	} {
		key := strict.Key
		if name == "only" {
			key = form.Key
		}
		if rec := b.postJSON(t, key, body); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"phone"`) {
			t.Errorf("%s: status %d body %s, want 422 naming the phone", name, rec.Code, rec.Body)
		}
	}
	if rec := b.postJSON(t, strict.Key, map[string]any{"email": "jo@example.com"}); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), `"phone":"is required"`) {
		t.Errorf("required phone missing: status %d body %s, want 422", rec.Code, rec.Body)
	}
}

func sortedStrings(in []string) []string { return slices.Sorted(slices.Values(in)) }

func countLeads(t *testing.T, b *intakeBundle) (int, error) {
	var n int
	err := b.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM leads WHERE workspace_id = $1`, b.workspace.ID).Scan(&n)
	return n, err
}

func TestCustomFieldsCappedPerSubmission(t *testing.T) {
	t.Parallel()
	b := setupIntake(t, intakeOptions{})
	form := b.newForm(t, store.Form{})
	// 5,000 custom fields in well under 64 KiB, and one overlong value.
	var body strings.Builder
	body.WriteString("email=kim%40example.com&00N_long=" + strings.Repeat("v", 3000))
	for i := range 5000 {
		fmt.Fprintf(&body, "&f%04d=1", i)
	}
	if body.Len() > store.DefaultFormMaxBodyBytes {
		t.Fatalf("body %d bytes, want it under the form's limit", body.Len())
	}
	rec := b.do(t, intakeRequest{key: form.Key, contentType: "application/x-www-form-urlencoded",
		body: strings.NewReader(body.String())})
	if rec.Code/100 != 2 {
		t.Fatalf("status %d, want 2xx: the person's submission is kept; body %s", rec.Code, rec.Body)
	}
	r := b.onlyResponse(t, form.ID)
	if len(r.Custom) != store.DefaultFormMaxCustomFields {
		t.Errorf("custom fields kept = %d, want %d", len(r.Custom), store.DefaultFormMaxCustomFields)
	}
	if got := len(r.Custom["00N_long"]); got != store.DefaultFormMaxCustomValueChars {
		t.Errorf("long value kept at %d characters, want %d", got, store.DefaultFormMaxCustomValueChars)
	}
	f := responseFields(t, r)
	if f.CustomDropped != 5001-store.DefaultFormMaxCustomFields || f.CustomTruncated != 1 {
		t.Errorf("noted dropped %d, truncated %d; want %d, 1", f.CustomDropped, f.CustomTruncated, 5001-store.DefaultFormMaxCustomFields)
	}
	if n := len(r.Raw); n != 5002 {
		t.Errorf("raw payload has %d fields, want every one posted (5002)", n)
	}
}
