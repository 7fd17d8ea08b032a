package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"leadflow/capture"
	"leadflow/deploy/local"
	"leadflow/embed/httpapi"
	"leadflow/nurture"
	"leadflow/store"
)

// eventsApp is `leadflow run` with a workspace, its marketing key and
// another workspace's.
type eventsApp struct {
	*consoleApp
	ws            store.Workspace
	key, otherKey string
}

func startEventsApp(t *testing.T) *eventsApp {
	t.Helper()
	a := &eventsApp{consoleApp: startRunApp(t)}
	ctx := context.Background()
	var err error
	if a.ws, err = a.st.EnsureWorkspace(ctx, "events-acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.st.UpdateWorkspaceSettings(ctx, a.ws.ID, store.WorkspaceSettings{
		SenderName: "Acme", SenderEmail: "events@acme.example", PostalAddress: "Acme Ltd, 1 Main Street, London",
		SendRatePerSecond: 10, Timezone: "UTC",
	}); err != nil {
		t.Fatal(err)
	}
	other, err := a.st.EnsureWorkspace(ctx, "events-globex")
	if err != nil {
		t.Fatal(err)
	}
	a.key, a.otherKey = a.apiKey(t, a.ws.ID), a.apiKey(t, other.ID)
	return a
}

func (a *eventsApp) apiKey(t *testing.T, ws uuid.UUID) string {
	t.Helper()
	raw := make([]byte, 32)
	rand.Read(raw)
	secret := "lf_" + hex.EncodeToString(raw)
	if _, err := a.st.InsertAPIKey(context.Background(), store.APIKey{WorkspaceID: ws, Role: store.RoleMarketing,
		Name: "marketing", Prefix: secret[:8]}, secret); err != nil {
		t.Fatal(err)
	}
	return secret
}

// call makes an API request and decodes a 2xx answer into out (if not nil).
func (a *eventsApp) call(t *testing.T, key, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(raw))
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// registrations lists the event's registrations of one status, by email.
func (a *eventsApp) registrations(t *testing.T, eventID uuid.UUID, status string) []string {
	t.Helper()
	var l httpapi.List[capture.Registration]
	if s := a.call(t, a.key, "GET", "/api/v1/events/"+eventID.String()+"/registrations?status="+status, nil, &l); s != http.StatusOK {
		t.Fatalf("list registrations: status %d", s)
	}
	var out []string
	for _, r := range l.Items {
		out = append(out, r.Email)
	}
	return out
}

// page fetches a public page, following redirects (a tracked link's), and
// returns its status, body and final URL.
func page(t *testing.T, method, link string) (int, string, string) {
	t.Helper()
	var (
		resp *http.Response
		err  error
	)
	if method == "POST" {
		resp, err = http.PostForm(link, url.Values{})
	} else {
		resp, err = http.Get(link)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), resp.Request.URL.String()
}

// cancelLink finds the cancel link in a registration email's text.
var cancelLink = regexp.MustCompile(`here: (http://\S+)`)

// TestEventRegistrationsCancelLinkPromotionAndAttendance walks a full
// event's registrations through the real app: the confirmation's signed
// cancel link asks before it cancels, a tampered or expired one changes
// nothing, the freed place goes to the waitlist's first who gets one email
// at the SMTP server, attendance is recorded as engagement, and another
// workspace reaches none of it.
func TestEventRegistrationsCancelLinkPromotionAndAttendance(t *testing.T) {
	t.Parallel()
	app := startEventsApp(t)
	ctx := context.Background()

	var ev struct {
		ID uuid.UUID `json:"id"`
	}
	if s := app.call(t, app.key, "POST", "/api/v1/events", map[string]any{"name": "Launch day", "capacity": 1}, &ev); s != http.StatusCreated {
		t.Fatalf("create event: status %d", s)
	}
	form, err := app.st.InsertForm(ctx, store.Form{WorkspaceID: app.ws.ID, Name: "RSVP", Kind: store.FormEventRegistration, EventID: &ev.ID})
	if err != nil {
		t.Fatal(err)
	}
	for i, who := range []string{"ada", "bob", "cy"} {
		resp, err := http.PostForm(app.base+"/f/"+form.Key, url.Values{"first_name": {who}, "email": {who + "@guest.test"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// One at a time, so the order they came is the waitlist's.
		waitFor(t, who+"'s registration", 30*time.Second, func() bool {
			c, err := app.st.EventRegistrationCounts(ctx, app.ws.ID, ev.ID)
			if err != nil {
				t.Fatal(err)
			}
			return c.Registered+c.Waitlisted == i+1
		})
	}
	if got := app.registrations(t, ev.ID, "waitlisted"); !slices.Equal(got, []string{"bob@guest.test", "cy@guest.test"}) {
		t.Fatalf("waitlist %v", got)
	}

	// Ada's confirmation carries her cancel link.
	confirmation := app.mailTo(t, "ada@guest.test")
	m := cancelLink.FindStringSubmatch(confirmation.Text)
	if m == nil {
		t.Fatalf("no cancel link in the confirmation:\n%s", confirmation.Text)
	}

	// Following the link, as a mail scanner does, only asks.
	status, body, linkURL := page(t, "GET", m[1])
	if status != http.StatusOK || !strings.Contains(body, "Cancel my registration") || !strings.Contains(body, "Launch day") {
		t.Fatalf("cancel page: %d\n%s", status, body)
	}
	if !strings.Contains(linkURL, "/r/") {
		t.Fatalf("the link led to %s, not the cancel page", linkURL)
	}
	if got := app.registrations(t, ev.ID, "registered"); !slices.Equal(got, []string{"ada@guest.test"}) {
		t.Fatalf("after the GET, registered %v", got)
	}

	// A tampered link and an expired one change nothing and say so.
	token := linkURL[strings.LastIndex(linkURL, "/")+1:]
	tampered := app.base + "/r/" + token[:len(token)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(token, "AA")]
	for _, method := range []string{"GET", "POST"} {
		if status, body, _ := page(t, method, tampered); status != http.StatusNotFound || !strings.Contains(body, "not valid") {
			t.Errorf("%s tampered link: %d\n%s", method, status, body)
		}
	}
	reg := app.registration(t, ev.ID, "ada@guest.test")
	old, err := nurture.NewSignerFrom(nurture.SignerConfig{Secret: strings.Repeat("k", 40),
		Now: func() time.Time { return time.Now().Add(-2 * nurture.DefaultLinkTTL) }})
	if err != nil {
		t.Fatal(err)
	}
	expired := nurture.CancelURL(app.base, old, reg.ID)
	if status, body, _ := page(t, "POST", expired); status != http.StatusGone || !strings.Contains(body, "nothing was cancelled") {
		t.Errorf("expired link: %d\n%s", status, body)
	}
	if got := app.registrations(t, ev.ID, "registered"); !slices.Equal(got, []string{"ada@guest.test"}) {
		t.Fatalf("after bad links, registered %v", got)
	}

	// The button cancels; the place goes to Bob, the waitlist's first.
	if status, body, _ := page(t, "POST", linkURL); status != http.StatusOK || !strings.Contains(body, "is cancelled") {
		t.Fatalf("cancel: %d\n%s", status, body)
	}
	if status, body, _ := page(t, "POST", linkURL); status != http.StatusOK || !strings.Contains(body, "already cancelled") {
		t.Errorf("cancel again: %d\n%s", status, body)
	}
	if status, body, _ := page(t, "GET", linkURL); status != http.StatusOK || !strings.Contains(body, "already cancelled") {
		t.Errorf("the link after cancelling: %d\n%s", status, body)
	}
	if got := app.registrations(t, ev.ID, "registered"); !slices.Equal(got, []string{"bob@guest.test"}) {
		t.Errorf("registered after the cancel %v, want bob", got)
	}
	if got := app.registrations(t, ev.ID, "cancelled"); !slices.Equal(got, []string{"ada@guest.test"}) {
		t.Errorf("cancelled %v, want ada", got)
	}

	// Bob is emailed once: the message is sent, and the SMTP server has
	// exactly one promotion for him.
	bob := app.registration(t, ev.ID, "bob@guest.test")
	waitFor(t, "bob's promotion email sent", 30*time.Second, func() bool {
		var sent bool
		err := app.st.Pool.QueryRow(ctx, `SELECT sent_at IS NOT NULL FROM messages WHERE dedupe_key = $1`,
			"event_promoted:"+bob.ID.String()).Scan(&sent)
		return err == nil && sent
	})
	promotions := func() []local.SinkMessage {
		var out []local.SinkMessage
		for _, m := range app.sink.Messages() {
			if slices.Contains(m.To, "bob@guest.test") && strings.HasPrefix(m.Subject, "A place opened up") {
				out = append(out, m)
			}
		}
		return out
	}
	waitFor(t, "bob's promotion at the SMTP server", 20*time.Second, func() bool { return len(promotions()) > 0 })
	if got := promotions(); len(got) != 1 || !cancelLink.MatchString(got[0].Text) {
		t.Errorf("%d promotion emails to bob (want 1, with a cancel link)", len(got))
	}

	// Marketing records Bob's attendance: an engagement event scoring reads.
	attend := "/api/v1/events/" + ev.ID.String() + "/registrations/" + bob.ID.String() + "/attend"
	var ch capture.RegistrationChangeView
	if s := app.call(t, app.key, "POST", attend, nil, &ch); s != http.StatusOK || !ch.Changed || ch.Registration.Status != "attended" {
		t.Fatalf("attend: %d %+v", s, ch)
	}
	var kinds int
	if err := app.st.Pool.QueryRow(ctx, `SELECT count(*) FROM engagement_events WHERE lead_id = $1 AND kind = 'event_attended'`,
		bob.LeadID).Scan(&kinds); err != nil || kinds != 1 {
		t.Errorf("bob's event_attended engagement events: %d, %v", kinds, err)
	}
	cancelBob := "/api/v1/events/" + ev.ID.String() + "/registrations/" + bob.ID.String() + "/cancel"
	if s := app.call(t, app.key, "POST", cancelBob, nil, nil); s != http.StatusUnprocessableEntity {
		t.Errorf("cancel attended: status %d, want 422", s)
	}

	// Marketing cancels Cy's place on the waitlist; nobody is promoted.
	cy := app.registration(t, ev.ID, "cy@guest.test")
	cancelCy := "/api/v1/events/" + ev.ID.String() + "/registrations/" + cy.ID.String() + "/cancel"
	if s := app.call(t, app.key, "POST", cancelCy, nil, &ch); s != http.StatusOK || !ch.Changed || len(ch.Promoted) != 0 || ch.Registration.CancelledBy == "" {
		t.Errorf("marketing cancel: %d %+v", s, ch)
	}

	// Another workspace reaches none of it.
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/events/" + ev.ID.String() + "/registrations"},
		{"POST", cancelCy},
		{"POST", attend},
	} {
		if s := app.call(t, app.otherKey, c.method, c.path, nil, nil); s != http.StatusNotFound {
			t.Errorf("another workspace %s %s: status %d, want 404", c.method, c.path, s)
		}
	}
	if s := app.call(t, app.key, "GET", "/api/v1/events/"+ev.ID.String()+"/registrations?status=bogus", nil, nil); s != http.StatusBadRequest {
		t.Errorf("bad status filter: %d, want 400", s)
	}
}

// registration is the event's registration of an email, through the API.
func (a *eventsApp) registration(t *testing.T, eventID uuid.UUID, email string) capture.Registration {
	t.Helper()
	var l httpapi.List[capture.Registration]
	if s := a.call(t, a.key, "GET", "/api/v1/events/"+eventID.String()+"/registrations?limit=200", nil, &l); s != http.StatusOK {
		t.Fatalf("list registrations: status %d", s)
	}
	i := slices.IndexFunc(l.Items, func(r capture.Registration) bool { return r.Email == email })
	if i < 0 {
		t.Fatalf("no registration of %s", email)
	}
	return l.Items[i]
}
