package nurture

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"leadflow/store"
)

// A registration's cancel link and a double opt-in's confirm link are
// actions, not interest: the registration emails and the confirmation email
// carry them as they are, never through a click URL, so opening one records
// no email_clicked (and no score) before its page opens.
func TestRegistrationAndConfirmLinksAreNotTracked(t *testing.T) {
	t.Parallel()
	signer, err := NewSigner(strings.Repeat("k", 32))
	if err != nil {
		t.Fatal(err)
	}
	const base = "https://lf.example"
	cancel := CancelURL(base, signer, uuid.New())
	confirm := ConfirmURL(base, signer, uuid.New())
	lead := store.Lead{FirstName: "Ada", Email: "ada@example.com"}
	ws := store.Workspace{WorkspaceSettings: store.WorkspaceSettings{SenderName: "Acme", PostalAddress: "1 Main Street"}}
	events := map[string]string{"event_name": "Launch", "event_starts_at": "Monday", "cancel_url": cancel}
	cases := []struct {
		name  string
		tpl   store.Template
		extra map[string]string
		link  string
		// tracked are the links that do go through a click URL.
		tracked []string
	}{
		{"registered", eventConfirmationTemplate(store.RegistrationRegistered, true), events, cancel, nil},
		{"waitlisted", eventConfirmationTemplate(store.RegistrationWaitlisted, false), events, cancel, nil},
		{"promoted", promotionTemplate(true), events, cancel, nil},
		{"double opt-in", confirmationTemplate, map[string]string{"confirm_url": confirm}, confirm, nil},
		{"a marketer's template", store.Template{
			Subject:  "See you there",
			HTMLBody: `<p><a href="{{cancel_url}}">Cancel</a> or <a href="https://example.com/agenda">read the agenda</a></p>`,
			TextBody: "Cancel: {{cancel_url}}\nAgenda: https://example.com/agenda\n",
		}, events, cancel, []string{"https://example.com/agenda"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := uuid.New()
			r, err := Render(tc.tpl, MergeData{Lead: lead, Workspace: ws, Extra: tc.extra},
				Links{BaseURL: base, Signer: signer, MessageID: id})
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(r.Links, tc.link) {
				t.Errorf("links %q track %s", r.Links, tc.link)
			}
			if !slices.Equal(r.Links, tc.tracked) && len(r.Links)+len(tc.tracked) > 0 {
				t.Errorf("tracked links %q, want %q", r.Links, tc.tracked)
			}
			for part, body := range map[string]string{"html": r.HTML, "text": r.Text} {
				if body != "" && !strings.Contains(body, tc.link) {
					t.Errorf("%s body lacks the link %s as it is:\n%s", part, tc.link, body)
				}
			}
		})
	}
}
