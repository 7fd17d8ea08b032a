package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"leadflow/store"
)

// postLeadForm posts a lead page's form as the signed-in person, with the
// page's CSRF token, and returns the status and the page it ended on.
func postLeadForm(t *testing.T, h *homeClient, path string, form url.Values) (int, *html.Node) {
	t.Helper()
	_, _, doc := h.get(path)
	inputs := htmlFind(doc, htmlElement("input", "name", "csrf_token"))
	if len(inputs) == 0 {
		t.Fatalf("%s has no CSRF token", path)
	}
	form.Set("csrf_token", htmlAttr(inputs[0], "value"))
	action := path + "/" + form.Get("_action")
	form.Del("_action")
	resp, err := h.c.PostForm(h.base+action, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, err := html.Parse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, page
}

// byID is the text of the element with the id, "" when there is none.
func byID(doc *html.Node, tag, id string) string {
	for _, n := range htmlFind(doc, htmlElement(tag, "id", id)) {
		return htmlText(n)
	}
	return ""
}

// TestLeadConsoleEditsStatusAndResubscribes works a lead by hand in the
// console as a sales rep: the edit form, a status move with its reason, and
// a resubscription with new consent, each refused without what it needs.
func TestLeadConsoleEditsStatusAndResubscribes(t *testing.T) {
	t.Parallel()
	app := startRunApp(t)
	ctx := context.Background()
	const password = "correct horse battery"
	rep := app.person(t, "leads-ws", "rep@leads.test", store.UserSalesRep, password)
	ws := rep.WorkspaceID
	l, err := app.st.InsertLead(ctx, store.Lead{WorkspaceID: ws, FirstName: "Kim", LastName: "Wexler",
		Email: "kim@leads.test", EmailCanonical: "kim@leads.test", Company: "HHM", Status: store.LeadNew})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.st.InsertSuppression(ctx, ws, "kim@leads.test", store.SuppressUnsubscribed, time.Now()); err != nil {
		t.Fatal(err)
	}
	path := "/console/leads/" + l.ID.String()
	h, _ := signInOverHTTP(t, app.base, "rep@leads.test", password, path)

	_, _, doc := h.get(path)
	if got := byID(doc, "dd", "lead-suppression"); !strings.HasPrefix(got, "unsubscribed since") {
		t.Errorf("suppression shown = %q", got)
	}

	edit := url.Values{"_action": {"edit"}, "first_name": {"Kim"}, "last_name": {"Wexler"}, "email": {"kim@leads.test"},
		"company": {"Schweikart & Cokely"}, "title": {"Counsel"}}
	if status, page := postLeadForm(t, h, path, edit); status != http.StatusOK ||
		!strings.Contains(htmlText(page), "Schweikart & Cokely · Counsel") {
		t.Errorf("after the edit: status %d, page %q", status, htmlText(page))
	}
	bad := url.Values{"_action": {"edit"}, "email": {"not an address"}, "first_name": {"Kim"}}
	status, page := postLeadForm(t, h, path, bad)
	if status != http.StatusUnprocessableEntity || byID(page, "p", "le-email-error") == "" ||
		htmlAttr(htmlFind(page, htmlElement("input", "id", "le-email"))[0], "value") != "not an address" {
		t.Errorf("refused edit: status %d, email error %q", status, byID(page, "p", "le-email-error"))
	}

	if status, page := postLeadForm(t, h, path, url.Values{"_action": {"status"}, "status": {"contacted"}}); status != http.StatusUnprocessableEntity ||
		byID(page, "p", "ls-reason-error") == "" {
		t.Errorf("status move without a reason: status %d", status)
	}
	if status, page := postLeadForm(t, h, path, url.Values{"_action": {"status"}, "status": {"contacted"}, "reason": {"called her office"}}); status != http.StatusOK ||
		byID(page, "dd", "lead-status") != "contacted (called her office)" {
		t.Errorf("status move: status %d, shown %q", status, byID(page, "dd", "lead-status"))
	}

	if status, page := postLeadForm(t, h, path, url.Values{"_action": {"resubscribe"}}); status != http.StatusUnprocessableEntity ||
		byID(page, "p", "lr-text-error") == "" || byID(page, "p", "lr-source-error") == "" {
		t.Errorf("resubscribe without consent: status %d", status)
	}
	status, page = postLeadForm(t, h, path, url.Values{"_action": {"resubscribe"},
		"consent_text": {"Yes, email me about HHM events"}, "consent_source": {"phone call"}})
	if status != http.StatusOK || byID(page, "dd", "lead-suppression") != "may be emailed" ||
		!strings.HasPrefix(byID(page, "dd", "lead-consent"), "yes") {
		t.Errorf("resubscribed: status %d, shown %q", status, byID(page, "dd", "lead-suppression"))
	}

	audit, err := app.st.LeadAudit(ctx, ws, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	actor := "user:" + rep.ID.String()
	want := map[string]bool{"company": false, "title": false, "status": false, "consent_text": false}
	for _, e := range audit {
		if _, ok := want[e.Field]; ok && e.Actor == actor {
			want[e.Field] = true
		}
	}
	for field, seen := range want {
		if !seen {
			t.Errorf("no audit entry for %s by %s in %+v", field, actor, audit)
		}
	}
}
