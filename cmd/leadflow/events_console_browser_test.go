package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"leadflow/embed/console/consoletest"
	"leadflow/store"
)

// TestEventRegistrationsConsoleInBrowser: marketing cancels a place on the
// event page, sees it go to the waitlist's first, and marks that person
// attended, each button posting and coming back to the page.
func TestEventRegistrationsConsoleInBrowser(t *testing.T) {
	if _, err := consoletest.ChromiumPath(); err != nil {
		t.Fatal(err)
	}
	app := startRunApp(t)
	ctx := context.Background()
	const password = "correct horse battery"
	me := app.person(t, "events-console", "eve@events.test", store.UserMarketing, password)
	if _, err := app.st.UpdateWorkspaceSettings(ctx, me.WorkspaceID, store.WorkspaceSettings{
		SenderName: "Acme", SenderEmail: "events@acme.example", PostalAddress: "Acme Ltd, 1 Main Street, London",
		SendRatePerSecond: 10, Timezone: "UTC",
	}); err != nil {
		t.Fatal(err)
	}
	places := 1
	ev, err := app.st.InsertEvent(ctx, store.Event{WorkspaceID: me.WorkspaceID, Name: "Launch <b>day</b>", Capacity: &places})
	if err != nil {
		t.Fatal(err)
	}
	form, err := app.st.InsertForm(ctx, store.Form{WorkspaceID: me.WorkspaceID, Name: "RSVP", Kind: store.FormEventRegistration, EventID: &ev.ID})
	if err != nil {
		t.Fatal(err)
	}
	regs := map[string]store.EventRegistration{}
	for i, who := range []string{"ada", "bob"} {
		resp, err := http.PostForm(app.base+"/f/"+form.Key, url.Values{"first_name": {who}, "email": {who + "@guest.test"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		waitFor(t, who+"'s registration", 30*time.Second, func() bool {
			rs, err := app.st.ListRegistrations(ctx, me.WorkspaceID, ev.ID, "", uuid.Nil, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				regs[r.Email] = r.EventRegistration
			}
			return len(rs) == i+1
		})
	}
	ada, bob := regs["ada@guest.test"], regs["bob@guest.test"]

	tab := browsers.Tab(t, app.base)
	tab.Name = "events"
	tab.SignIn("eve@events.test", password, "/console/events/"+ev.ID.String())
	if got := tab.Text("h1"); got != "Launch <b>day</b>" {
		t.Errorf("heading %q: the event's name is not shown as text", got)
	}
	if got := tab.Text("#waitlist tbody td:nth-child(2)"); got != "bob@guest.test" {
		t.Errorf("the waitlist shows %q", got)
	}
	tab.Shot("event-before")

	acceptDialogs(tab)
	if status := tab.Click("#registration-" + ada.ID.String() + " button[data-action=cancel]"); status != http.StatusOK {
		t.Fatalf("cancel: status %d", status)
	}
	if got := tab.Text("#event-notice"); !strings.Contains(got, "first person on the waitlist") {
		t.Errorf("after cancel: notice %q", got)
	}
	if got := tab.Text("#registered tbody td:nth-child(2)"); got != "bob@guest.test" {
		t.Errorf("registered after the cancel: %q, want bob", got)
	}
	if got := tab.Text("#cancelled tbody td:nth-child(2)"); got != "ada@guest.test" {
		t.Errorf("cancelled: %q, want ada", got)
	}
	if n := tab.Count("#waitlist tbody tr"); n != 0 {
		t.Errorf("the waitlist still has %d", n)
	}

	if status := tab.Click("#registration-" + bob.ID.String() + " button[data-action=attend]"); status != http.StatusOK {
		t.Fatalf("attend: status %d", status)
	}
	if got := tab.Text("#event-notice"); !strings.Contains(got, "attendance is recorded") {
		t.Errorf("after attend: notice %q", got)
	}
	if got := tab.Text("#attended-count") + "/" + tab.Text("#registered-count"); got != "1/0" {
		t.Errorf("attended/registered %s, want 1/0", got)
	}
	if n := tab.Count("#attended button"); n != 0 {
		t.Errorf("an attended registration has %d buttons", n)
	}
	tab.Shot("event-after")
}
