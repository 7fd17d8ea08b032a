package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"leadflow/embed/console/consoletest"
	"leadflow/store"
)

// TestNurturePagesInBrowser: a marketer builds a template and a three-step
// sequence from nothing in the browser, and a lead enrolled in it gets the
// first email.
func TestNurturePagesInBrowser(t *testing.T) {
	if _, err := consoletest.ChromiumPath(); err != nil {
		t.Fatal(err)
	}
	app := startRunApp(t)
	const password = "correct horse battery"

	t.Run("a marketer builds a template and a sequence, and a lead gets its first email", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		maya := app.person(t, "nurture-ws", "maya@nurture.test", store.UserMarketing, password)
		if _, err := app.st.UpdateWorkspaceSettings(ctx, maya.WorkspaceID, store.WorkspaceSettings{
			SenderName: "Acme", SenderEmail: "news@acme.example", PostalAddress: "Acme Ltd, 1 Main Street, London",
			SendRatePerSecond: 10, Timezone: "UTC",
		}); err != nil {
			t.Fatal(err)
		}
		tab := browsers.Tab(t, app.base)
		tab.SignIn("maya@nurture.test", password, "/console/templates")
		if n := tab.Count("nav a[href='/console/templates'][aria-current=page]"); n != 1 {
			t.Errorf("Templates links marked current = %d, want 1", n)
		}

		// The template, previewed for sample data before it is saved.
		tab.Click("a[href='/console/templates/new']")
		tab.Type("#t-name", "Welcome")
		tab.Type("#t-subject", "Welcome, {{first_name|there}}")
		tab.Type("#t-html", `<p>Hi {{first_name}} of {{company}}, <a href="https://acme.example/start">start here</a></p>`)
		if st := tab.Click("#preview-button"); st != http.StatusOK {
			t.Fatalf("preview answered %d, want 200", st)
		}
		if got := tab.Text("#preview-subject"); got != "Welcome, Ada" {
			t.Errorf("previewed subject = %q, want the sample lead's %q", got, "Welcome, Ada")
		}
		if n := tab.Count(`iframe[sandbox=""][srcdoc*="Hi Ada of Analytical Engines"]`); n != 1 {
			t.Errorf("sandboxed preview frames with the sample lead's text = %d, want 1", n)
		}
		if n := tab.Count("#t-name[value=Welcome]"); n != 1 {
			t.Errorf("the name typed is not kept in the editor after the preview")
		}
		tab.Shot("nurture-template-editor")
		if st := tab.Click("#template-form button[type=submit]:not([formaction])"); st != http.StatusOK {
			t.Fatalf("saving the template answered %d", st)
		}
		path := tab.Path()
		id, ok := strings.CutPrefix(strings.TrimSuffix(path, "?saved=1"), "/console/templates/")
		if !ok || !strings.HasSuffix(path, "?saved=1") {
			t.Fatalf("after saving the template the tab is at %s", path)
		}
		tab.Open("/console/templates")
		if got := tab.Text("tbody th a"); got != "Welcome" {
			t.Errorf("templates list shows %q, want Welcome", got)
		}
		tab.Shot("nurture-templates")

		// The sequence: email, email, wait; the wait moved up; an exit
		// added and removed again.
		tab.Open("/console/sequences")
		tab.Click("a[href='/console/sequences/new']")
		tab.Type("#s-name", "Onboarding")
		tab.Click("button[value='add:email']")
		tab.Click("button[value='add:email']")
		tab.Click("button[value='add:wait']")
		tab.Click("button[value='add:exit']")
		tab.Click("button[value='remove:3']")
		tab.Click("button[value='up:2']")
		var legends []string
		for i := range 3 {
			legends = append(legends, tab.Text("#step-"+strconv.Itoa(i)+" legend"))
		}
		if want := "Step 0: email|Step 1: wait|Step 2: email"; strings.Join(legends, "|") != want {
			t.Errorf("steps after the moves = %q, want %q", strings.Join(legends, "|"), want)
		}
		if n := tab.Count("li.step"); n != 3 {
			t.Errorf("steps = %d, want 3", n)
		}
		if n := tab.Count("#s-name[value=Onboarding]"); n != 1 {
			t.Errorf("the name typed is not kept in the builder after the moves")
		}
		tab.Choose("#step-0-template", id)
		tab.Choose("#step-2-template", id)
		// The wait has no duration yet: the API's validation says so next
		// to that step.
		if st := tab.Click("#save-sequence"); st != http.StatusUnprocessableEntity {
			t.Fatalf("saving with a wait without duration answered %d, want 422", st)
		}
		if got := tab.Text("#step-1-duration-error"); !strings.Contains(got, "is required for a wait step") {
			t.Errorf("error next to the wait step = %q", got)
		}
		if n := tab.Count("#step-1-duration[aria-invalid=true][aria-describedby=step-1-duration-error]"); n != 1 {
			t.Errorf("wait duration inputs marked invalid = %d, want 1", n)
		}
		if n := tab.Count("#step-0 .error, #step-2 .error"); n != 0 {
			t.Errorf("errors next to the email steps = %d, want 0", n)
		}
		tab.Shot("nurture-sequence-error")
		tab.Type("#step-1-duration", "2d")
		if st := tab.Click("#save-sequence"); st != http.StatusOK {
			t.Fatalf("saving the fixed sequence answered %d", st)
		}
		seqPath := tab.Path()
		if !strings.HasPrefix(seqPath, "/console/sequences/") || !strings.HasSuffix(seqPath, "?saved=1") {
			t.Fatalf("after saving the sequence the tab is at %s", seqPath)
		}
		seqPath = strings.TrimSuffix(seqPath, "?saved=1")
		if got := tab.Text("#sequence-status"); got != "draft" {
			t.Errorf("a new sequence's status = %q, want draft", got)
		}
		tab.Click("#activate")
		if got := tab.Text("#sequence-status"); got != "active" {
			t.Fatalf("status after Activate = %q, want active", got)
		}

		// A lead enrolled in it gets its first email at the SMTP server.
		lead, err := app.st.InsertLead(ctx, store.Lead{
			WorkspaceID: maya.WorkspaceID, FirstName: "Grace", LastName: "Hopper", Company: "Navy",
			Email: "grace@lead.test", EmailCanonical: "grace@lead.test", Status: store.LeadNew,
		})
		if err != nil {
			t.Fatal(err)
		}
		tab.Type("#enroll-lead", lead.ID.String())
		if st := tab.Click("form[action$='/enroll'] button"); st != http.StatusOK {
			t.Fatalf("enrolling answered %d", st)
		}
		m := app.mailTo(t, "grace@lead.test")
		if m.Subject != "Welcome, Grace" {
			t.Errorf("first email's subject = %q, want %q", m.Subject, "Welcome, Grace")
		}
		// The builder counts it: the first step sent one email, and the
		// lead waits for the second email while the wait runs.
		waitFor(t, "the step counts to show the email sent", 20*time.Second, func() bool {
			tab.Open(seqPath)
			return tab.Text("#step-0 .counts div:nth-child(2) dd") == "1" && tab.Text("#step-2 .counts dd") == "1"
		})
		tab.Shot("nurture-sequence-builder")
	})

	t.Run("a marketer suppresses an address and finds it listed", func(t *testing.T) {
		t.Parallel()
		app.person(t, "nurture-sup-ws", "mo@nurture.test", store.UserMarketing, password)
		tab := browsers.Tab(t, app.base)
		tab.SignIn("mo@nurture.test", password, "/console/suppressions")
		// No address: the error is next to the field.
		if st := tab.Click("form[action='/console/suppressions'] button[type=submit]"); st != http.StatusUnprocessableEntity {
			t.Fatalf("suppressing no address answered %d, want 422", st)
		}
		if n := tab.Count("#sup-email[aria-invalid=true][aria-describedby=sup-email-error]"); n != 1 {
			t.Errorf("email inputs marked invalid = %d, want 1", n)
		}
		tab.Type("#sup-email", "Gone@Example.COM")
		tab.Choose("#sup-type", "complaint")
		if st := tab.Click("form[action='/console/suppressions'] button[type=submit]"); st != http.StatusOK {
			t.Fatalf("suppressing answered %d", st)
		}
		if got := tab.Text("#lookup-result"); !strings.Contains(got, "gone@example.com is suppressed (complained)") {
			t.Errorf("lookup after suppressing says %q", got)
		}
		if got := tab.Text("#suppressions tbody th"); got != "gone@example.com" {
			t.Errorf("suppressed addresses list %q, want gone@example.com", got)
		}
		tab.Shot("nurture-suppressions")
		if st := tab.Open("/console/nurture/failed"); st != http.StatusOK {
			t.Errorf("failed sends page answered %d", st)
		}
	})

	t.Run("a sales rep has no nurture pages", func(t *testing.T) {
		t.Parallel()
		app.person(t, "nurture-sales-ws", "sam@nurture.test", store.UserSalesRep, password)
		tab := browsers.Tab(t, app.base)
		tab.SignIn("sam@nurture.test", password, "/console/")
		if n := tab.Count("nav a[href='/console/templates'], nav a[href='/console/sequences'], nav a[href='/console/suppressions'], nav a[href='/console/nurture/failed']"); n != 0 {
			t.Errorf("nurture links in a sales rep's navigation = %d, want 0", n)
		}
		for _, p := range []string{"/console/templates", "/console/templates/new", "/console/sequences", "/console/sequences/new", "/console/suppressions", "/console/nurture/failed"} {
			if st := tab.Open(p); st != http.StatusForbidden {
				t.Errorf("a sales rep opening %s = %d, want 403", p, st)
			}
		}
	})
}
