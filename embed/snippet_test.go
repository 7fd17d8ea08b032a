package embed

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

func TestSnippet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := insertForm(t, b.st, b.ws, func(f *store.Form) {
		f.Campaign = "701000000000001"
		f.AllowedReturnURLs = []string{"https://www.example.com/thanks"}
	})
	api := b.api(httpapi.Principal{KeyID: store.NewID(), WorkspaceID: b.ws, Role: store.RoleMarketing})
	rec := get(t, api, "/api/v1/forms/"+f.ID.String()+"/snippet")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET snippet = %d, want 200: %s", rec.Code, rec.Body)
	}
	var got Snippet
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("decode snippet: %v", err)
	}
	wantAction := testBaseURL + "/f/" + f.Key
	if diff := cmp.Diff([]string{testBaseURL + "/embed.js", wantAction}, []string{got.ScriptURL, got.ActionURL}); diff != "" {
		t.Errorf("urls (-want +got):\n%s", diff)
	}

	// The snippet is what a Salesforce Web-to-Lead form posts, pointed at
	// leadflow: same method, field names and hidden fields.
	doc := parseHTML(t, got.HTML)
	form := onlyForm(t, doc)
	if attrOr(form, "action") != wantAction || !strings.EqualFold(attrOr(form, "method"), "post") {
		t.Errorf("form posts %s to %s, want POST to %s", attrOr(form, "method"), attrOr(form, "action"), wantAction)
	}
	if _, ok := attr(form, "data-leadflow"); !ok {
		t.Error("form lacks data-leadflow")
	}
	wantControls := []control{
		{"input", "hidden", "Campaign_ID", "701000000000001"},
		{"input", "hidden", "retURL", "https://www.example.com/thanks"},
		{"input", "text", "first_name", ""},
		{"input", "text", "last_name", ""},
		{"input", "email", "email", ""},
		{"input", "tel", "phone", ""},
		{"input", "text", "company", ""},
		{"input", "text", "title", ""},
		{"input", "text", "country", ""},
		{"input", "text", "product_interest", ""},
		{"textarea", "", "description", ""},
		{"input", "checkbox", "consent", "on"},
		{"input", "text", "website_url", ""},
	}
	if diff := cmp.Diff(wantControls, controls(form)); diff != "" {
		t.Errorf("form controls (-want +got):\n%s", diff)
	}
	// A customer page has no leadflow stylesheet: the honeypot hides itself.
	assertHoneypot(t, form, "website_url")
	for _, n := range elements(form, "div") {
		if attrOr(n, "class") == "lf-hp" && !strings.Contains(attrOr(n, "style"), "left:-10000px") {
			t.Errorf("snippet honeypot is not hidden without the stylesheet: %v", n.Attr)
		}
	}
	// Element IDs carry the form key so two forms can share a page.
	for _, n := range elements(form, "input") {
		if id := attrOr(n, "id"); id != "" && !strings.HasPrefix(id, "lf-"+f.Key+"-") {
			t.Errorf("id %q does not carry the form key", id)
		}
	}

	scripts := elements(doc, "script")
	if len(scripts) != 1 || attrOr(scripts[0], "src") != got.ScriptURL {
		t.Fatalf("snippet scripts = %d, want one with src %s", len(scripts), got.ScriptURL)
	}
	served := get(t, b.public, strings.TrimPrefix(got.ScriptURL, testBaseURL))
	if served.Code != http.StatusOK || !bytes.Equal(served.Body.Bytes(), scriptJS) {
		t.Errorf("GET %s = %d, want 200 with the embed script", got.ScriptURL, served.Code)
	}
}

func TestSnippetEventRegistration(t *testing.T) {
	t.Parallel()
	b := setup(t)
	event := insertEvent(t, b.st, b.ws, "Launch day", time.Date(2031, 5, 6, 17, 30, 0, 0, time.UTC))
	f := insertForm(t, b.st, b.ws, func(f *store.Form) {
		f.Kind = store.FormEventRegistration
		f.EventID = &event
		f.ConsentText = ""
		f.HoneypotField = ""
	})
	sn, err := b.site.Snippet(f)
	if err != nil {
		t.Fatalf("Snippet: %v", err)
	}
	want := []control{
		{"input", "text", "first_name", ""},
		{"input", "text", "last_name", ""},
		{"input", "email", "email", ""},
		{"input", "text", "company", ""},
		{"input", "text", "title", ""},
	}
	if diff := cmp.Diff(want, controls(onlyForm(t, parseHTML(t, sn.HTML)))); diff != "" {
		t.Errorf("form controls (-want +got):\n%s", diff)
	}
}

func TestSnippetAccess(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := insertWorkspace(t, b.st, "globex")
	mine := insertForm(t, b.st, b.ws)
	theirs := insertForm(t, b.st, other)
	tests := []struct {
		name     string
		role     store.Role
		id       string
		wantCode int
		wantBody string
	}{
		{"admin", store.RoleAdmin, mine.ID.String(), http.StatusOK, ""},
		{"marketing", store.RoleMarketing, mine.ID.String(), http.StatusOK, ""},
		{"sales", store.RoleSales, mine.ID.String(), http.StatusForbidden, ""},
		{"another workspace's form", store.RoleAdmin, theirs.ID.String(), http.StatusNotFound, "not_found"},
		{"no such form", store.RoleAdmin, store.NewID().String(), http.StatusNotFound, "not_found"},
		{"malformed id", store.RoleAdmin, "not-a-uuid", http.StatusNotFound, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := b.api(httpapi.Principal{KeyID: store.NewID(), WorkspaceID: b.ws, Role: tt.role})
			rec := get(t, api, "/api/v1/forms/"+tt.id+"/snippet")
			if rec.Code != tt.wantCode {
				t.Fatalf("GET snippet = %d, want %d: %s", rec.Code, tt.wantCode, rec.Body)
			}
			if tt.wantBody == "" {
				return
			}
			var body struct{ Code string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Code != tt.wantBody {
				t.Errorf("body = %s, want code %q", rec.Body, tt.wantBody)
			}
		})
	}
}
