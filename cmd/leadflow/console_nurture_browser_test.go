package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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
		if n := tab.Count(`iframe[sandbox=""][name=preview-frame]`); n != 1 {
			t.Errorf("sandboxed preview frames = %d, want 1", n)
		}
		if got := previewFrameEval[string](t, tab, "/console/templates/new/preview/html", `document.body.innerText`); !strings.Contains(got, "Hi Ada of Analytical Engines") {
			t.Errorf("preview frame's text = %q, want the sample lead's", got)
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

	t.Run("a template previews with its styles and images, and its script does not run", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		pia := app.person(t, "nurture-preview-ws", "pia@nurture.test", store.UserMarketing, password)
		if _, err := app.st.UpdateWorkspaceSettings(ctx, pia.WorkspaceID, store.WorkspaceSettings{
			SenderName: "Acme", SenderEmail: "news@acme.example", PostalAddress: "Acme Ltd, 1 Main Street, London",
			SendRatePerSecond: 10, Timezone: "UTC",
		}); err != nil {
			t.Fatal(err)
		}
		tpl, err := app.st.InsertTemplate(ctx, store.Template{WorkspaceID: pia.WorkspaceID, Name: "Styled", Subject: "Styled",
			HTMLBody: `<style>h1 { color: rgb(0, 128, 0) }</style><h1>Big news</h1>` +
				`<p id="styled" style="color:red">Red, {{first_name}}</p>` +
				`<img id="remote" src="https://example.com/x.png" alt="">` +
				`<script>document.title = "x"; document.body.setAttribute("data-ran", "1")</script>`})
		if err != nil {
			t.Fatal(err)
		}
		tab := browsers.Tab(t, app.base)
		tab.SignIn("pia@nurture.test", password, "/console/templates/"+tpl.ID.String())
		if st := tab.Click("#preview-button"); st != http.StatusOK {
			t.Fatalf("preview answered %d, want 200", st)
		}
		frame := "/console/templates/" + tpl.ID.String() + "/preview/html"
		// What a mail client shows: the inline style and the <style>
		// element apply inside the frame.
		if got := previewFrameEval[string](t, tab, frame, `getComputedStyle(document.getElementById("styled")).color`); got != "rgb(255, 0, 0)" {
			t.Errorf("the paragraph's computed colour in the frame = %q, want rgb(255, 0, 0) (its inline style)", got)
		}
		if got := previewFrameEval[string](t, tab, frame, `getComputedStyle(document.querySelector("h1")).color`); got != "rgb(0, 128, 0)" {
			t.Errorf("the heading's computed colour in the frame = %q, want rgb(0, 128, 0) (the <style> element)", got)
		}
		// The template's script ran neither in the frame nor in the page.
		if got := previewFrameEval[string](t, tab, frame, `document.title + "|" + (document.body.getAttribute("data-ran") || "")`); got != "|" {
			t.Errorf("the frame's title and data-ran = %q: the template's script ran", got)
		}
		if got := tab.Text("h1"); got != "Styled" || tab.Count("[data-ran]") != 0 {
			t.Errorf("the editor's heading = %q, or data-ran set: the template's script ran in the page", got)
		}
		tab.Shot("nurture-template-preview-styled")

		// The frame's own answer: the email alone, under a policy that
		// allows inline styles and https images and no script, framed by
		// the console only.
		resp, body := postAs(t, tab, frame, url.Values{"name": {"Styled"}, "subject": {"Styled"}, "html_body": {tpl.HTMLBody}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s = %d: %s", frame, resp.StatusCode, body)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'none'", "style-src 'unsafe-inline'", "img-src https: data:", "frame-ancestors 'self'", "sandbox"} {
			if !strings.Contains(csp, d) {
				t.Errorf("the frame's policy %q lacks %q", csp, d)
			}
		}
		if strings.Contains(csp, "script-src") {
			t.Errorf("the frame's policy %q allows some script", csp)
		}
		if got := resp.Header.Get("X-Frame-Options"); got != "SAMEORIGIN" {
			t.Errorf("X-Frame-Options = %q, want SAMEORIGIN", got)
		}
		for _, want := range []string{`<p id="styled" style="color:red">Red, Ada</p>`, `<img id="remote" src="https://example.com/x.png" alt=""/>`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("the frame's body lacks %s:\n%s", want, body)
			}
		}
		if strings.Contains(string(body), "<nav") || strings.Contains(string(body), "csrf_token") {
			t.Errorf("the frame's body is more than the email:\n%s", body)
		}
	})

	t.Run("a marketer takes a suppression back, saying why, and the lead is emailed again", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		lia := app.person(t, "nurture-unsup-ws", "lia@nurture.test", store.UserMarketing, password)
		if _, err := app.st.UpdateWorkspaceSettings(ctx, lia.WorkspaceID, store.WorkspaceSettings{
			SenderName: "Acme", SenderEmail: "news@acme.example", PostalAddress: "Acme Ltd, 1 Main Street, London",
			SendRatePerSecond: 10, Timezone: "UTC",
		}); err != nil {
			t.Fatal(err)
		}
		lead, err := app.st.InsertLead(ctx, store.Lead{WorkspaceID: lia.WorkspaceID, FirstName: "Bo", LastName: "Back",
			Email: "bo@lead.test", EmailCanonical: "bo@lead.test", Status: store.LeadNew, Consent: true})
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := app.st.InsertTemplate(ctx, store.Template{WorkspaceID: lia.WorkspaceID, Name: "Hello", Subject: "Hello again, {{first_name}}",
			HTMLBody: "<p>Hello</p>"})
		if err != nil {
			t.Fatal(err)
		}
		tab := browsers.Tab(t, app.base)
		tab.SignIn("lia@nurture.test", password, "/console/suppressions")
		tab.Type("#sup-email", "bo@lead.test")
		if st := tab.Click("form[action='/console/suppressions'] button[type=submit]"); st != http.StatusOK {
			t.Fatalf("suppressing answered %d", st)
		}
		tab.Open("/console/suppressions")
		if got := tab.Text("#suppressions tbody th"); got != "bo@lead.test" {
			t.Fatalf("suppressed addresses list %q, want bo@lead.test", got)
		}
		// Without a reason nothing is removed, and the error is on the row.
		if st := tab.Click("#suppressions form.remove-suppression button"); st != http.StatusUnprocessableEntity {
			t.Fatalf("removing without a reason answered %d, want 422", st)
		}
		if n := tab.Count("#remove-reason-0[aria-invalid=true][aria-describedby=remove-reason-0-error]"); n != 1 {
			t.Errorf("reason inputs marked invalid = %d, want 1", n)
		}
		if got := tab.Text("#remove-reason-0-error"); !strings.Contains(got, "is required") {
			t.Errorf("error next to the reason = %q", got)
		}
		if _, err := app.st.GetSuppression(ctx, lia.WorkspaceID, "bo@lead.test"); err != nil {
			t.Fatalf("removing without a reason removed the suppression: %v", err)
		}
		tab.Shot("nurture-suppression-remove-error")
		tab.Type("#remove-reason-0", "typo in the bounce report")
		if st := tab.Click("#suppressions form.remove-suppression button"); st != http.StatusOK {
			t.Fatalf("removing answered %d", st)
		}
		if got := tab.Text("p.notice"); !strings.Contains(got, "bo@lead.test is no longer suppressed") {
			t.Errorf("notice after removing = %q", got)
		}
		if got := tab.Text("#lookup-result"); !strings.Contains(got, "is not suppressed") {
			t.Errorf("lookup after removing = %q", got)
		}
		if got := tab.Text("#removals tbody tr"); !strings.Contains(got, "typo in the bounce report") || !strings.Contains(got, "user:"+lia.ID.String()) || !strings.Contains(got, "bounced") {
			t.Errorf("removal shown as %q, want who, why and what it was", got)
		}
		if n := tab.Count("#suppressions"); n != 0 {
			t.Errorf("the list still shows a suppressed address")
		}
		tab.Shot("nurture-suppression-removed")

		// The lead's timeline shows it.
		tab.Open("/console/leads/" + lead.ID.String())
		if got := tab.Text("#timeline .tl-audit"); !strings.Contains(got, "suppression_removed") || !strings.Contains(got, "typo in the bounce report") {
			t.Errorf("the lead's timeline shows %q, want the removal", got)
		}

		// Removing it again (from a list gone stale): a clear 404.
		resp, body := postAs(t, tab, "/console/suppressions/remove", url.Values{"email": {"bo@lead.test"}, "reason": {"again"}})
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "bo@lead.test is not suppressed") {
			t.Errorf("removing again = %d, want 404 saying the address is not suppressed:\n%s", resp.StatusCode, body)
		}

		// A sequence enrolled in then emails the lead.
		steps := `[{"key": "s1", "type": "email", "template_id": "` + tpl.ID.String() + `"}]`
		seq, err := app.st.InsertSequence(ctx, store.Sequence{WorkspaceID: lia.WorkspaceID, Name: "Back", Timezone: "UTC",
			Steps: []byte(steps), ExitCriteria: []string{"unsubscribed", "bounced"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.st.SetSequenceStatus(ctx, lia.WorkspaceID, seq.ID, store.SequenceActive); err != nil {
			t.Fatal(err)
		}
		tab.Open("/console/sequences/" + seq.ID.String())
		tab.Type("#enroll-lead", lead.ID.String())
		if st := tab.Click("form[action$='/enroll'] button"); st != http.StatusOK {
			t.Fatalf("enrolling answered %d", st)
		}
		if m := app.mailTo(t, "bo@lead.test"); m.Subject != "Hello again, Bo" {
			t.Errorf("email to the address taken back: subject %q, want %q", m.Subject, "Hello again, Bo")
		}
	})

	t.Run("a sales rep has no nurture pages", func(t *testing.T) {
		t.Parallel()
		app.person(t, "nurture-sales-ws", "sam@nurture.test", store.UserSalesRep, password)
		tab := browsers.Tab(t, app.base)
		tab.SignIn("sam@nurture.test", password, "/console/handoffs")
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

// postAs posts form to path as the person signed in on tab, with their
// session and CSRF token (read from the page the tab shows), as a form of
// the console would, and returns the answer and its body.
func postAs(t *testing.T, tab *consoletest.Tab, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	session := tab.Cookie("leadflow_session")
	if session == nil {
		t.Fatal("no session cookie")
	}
	// The token is in hidden inputs, which Value (of visible fields) skips.
	var token string
	tab.Do(func(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
		var err error
		token, err = chromedp.Evaluate[string](`document.querySelector("input[name=csrf_token]").value`)(ctx, tgt)
		return chromedp.Void{}, err
	})
	form.Set("csrf_token", token)
	req, err := http.NewRequest(http.MethodPost, tab.Base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", tab.Base)
	req.Header.Set("Accept", "text/html")
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	client := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// previewFrameEval waits until the tab's preview frame has loaded the
// answer of path, then evaluates expression in it. Chromium may run the
// sandboxed frame in a process of its own, a target of the tab: then the
// expression runs in that target; else in the frame's document, reached
// from its element.
func previewFrameEval[T any](t *testing.T, tab *consoletest.Tab, path, expression string) T {
	t.Helper()
	var (
		v   T
		err error
	)
	waitFor(t, "the preview frame at "+path, 20*time.Second, func() bool {
		v, err = frameEval[T](tab, path, expression)
		return err == nil
	})
	return v
}

// frameEval evaluates expression in the tab's frame showing path, once it
// is there.
func frameEval[T any](tab *consoletest.Tab, path, expression string) (T, error) {
	var (
		v   T
		err error
	)
	tab.Do(func(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
		v, err = evalInFrame[T](ctx, tgt, path, expression)
		return chromedp.Void{}, nil
	})
	return v, err
}

func evalInFrame[T any](ctx context.Context, tab *chromedp.Target, path, expression string) (T, error) {
	var zero T
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		return zero, err
	}
	for _, info := range infos {
		u, err := url.Parse(info.URL)
		if err != nil || info.Type != "iframe" || info.ParentID != tab.TargetID || u.Path != path {
			continue
		}
		// Detach only when done: the frame is the page's, not ours to close.
		fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
		defer cancel()
		return chromedp.Run(fctx, chromedp.Evaluate[T](expression))
	}
	return zero, fmt.Errorf("no frame at %s among the tab's targets", path)
}
