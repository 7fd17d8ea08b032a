package nurture

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/capture"
	"leadflow/store"
)

// A form post whose company is a URL, through processing, the sequence, the
// send and the SMTP relay: the email shows the URL as the lead wrote it,
// every click link in it leads to the template's own link, and none to the
// lead's.
func TestLeadSuppliedURLIsNeverTrackedEndToEnd(t *testing.T) {
	t.Parallel()
	b := setupEngine(t)
	form := b.newForm(t, nil)
	tpl := b.newTemplate(t, "Welcome, {{first_name}}",
		`<p>Hello {{first_name}} of <a href="{{company}}">{{company}}</a>,</p><p><a href="https://acme.example/guide">Read the guide</a></p>`,
		"Hello {{first_name}} of {{company}}, read https://acme.example/guide")
	b.newSequence(t, []Step{emailStep("s1", tpl)}, func(s *store.Sequence) {
		s.TriggerFormIDs = []uuid.UUID{form.ID}
	})
	e := echo.New()
	TrackingRoutes(e, b.eng, TrackingConfig{})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	b.startWorker(t)

	const evil = "https://evil.example/login"
	resp := b.postResponse(t, form, capture.Fields{FirstName: "Mallory", Email: "mallory@example.net",
		EmailCanonical: "mallory@example.net", Company: evil, Consent: true})
	if _, err := b.processor(t).Process(b.ctx, resp); err != nil {
		t.Fatalf("Process: %v", err)
	}
	got := b.smtp.WaitFor(t, 1, 15*time.Second)[0]
	clicks := regexp.MustCompile(regexp.QuoteMeta(testBaseURL) + `/t/c/[A-Za-z0-9_-]+`)
	var found []string
	for _, body := range []string{got.HTML, got.Text} {
		if !strings.Contains(body, evil) {
			t.Errorf("the lead's URL is not shown as written:\n%s", body)
		}
		found = append(found, clicks.FindAllString(body, -1)...)
	}
	if len(found) != 2 {
		t.Fatalf("click links %v, want the guide's in each part", found)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, link := range found {
		r, err := client.Get(srv.URL + strings.TrimPrefix(link, testBaseURL))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "https://acme.example/guide" {
			t.Errorf("%s = %d to %q, want 302 to the guide", link, r.StatusCode, r.Header.Get("Location"))
		}
	}
	ms := b.messages(t, "mallory@example.net")
	if len(ms) != 1 {
		t.Fatalf("%d messages", len(ms))
	}
	if diff := cmp.Diff([]string{"https://acme.example/guide"}, ms[0].Links); diff != "" {
		t.Errorf("stored links (-want +got):\n%s", diff)
	}
}
