package main

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"leadflow/deploy/local"
	"leadflow/embed/console/consoletest"
	"leadflow/qualify"
	"leadflow/store"
)

// salesApp is a real `leadflow run` (the console and the workers that send
// its emails) with an engine of the test's own on the same database, which
// hands leads to sales as a qualification call would.
type salesApp struct {
	*consoleApp
	eng *qualify.Engine
}

func startSalesApp(t *testing.T) *salesApp {
	t.Helper()
	app := startRunApp(t)
	opt, err := redis.ParseURL(app.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	eng, err := qualify.New(qualify.Config{Store: app.st, Queue: asynq.NewClientFromRedisClient(rdb), BaseURL: app.base})
	if err != nil {
		t.Fatal(err)
	}
	return &salesApp{consoleApp: app, eng: eng}
}

// consoleSalesTeam is a workspace with a manager and reps who sign in by password,
// and a team of the reps, managed by the manager, that every lead goes to.
type consoleSalesTeam struct {
	ws      uuid.UUID
	manager store.Person
	reps    []store.Person
}

const salesPassword = "correct horse battery"

func (a *salesApp) team(t *testing.T, workspace string, reps int) consoleSalesTeam {
	t.Helper()
	ctx := context.Background()
	domain := workspace + ".test"
	st := consoleSalesTeam{manager: a.person(t, workspace, "manager@"+domain, store.UserSalesManager, salesPassword)}
	st.ws = st.manager.WorkspaceID
	// The sender refuses to mail for a workspace without a sender address.
	if _, err := a.st.Pool.Exec(ctx, `UPDATE workspaces SET sender_name = 'Sales desk', sender_email = $2 WHERE id = $1`,
		st.ws, "desk@"+domain); err != nil {
		t.Fatal(err)
	}
	var members []store.TeamMember
	for i := range reps {
		p := a.person(t, workspace, "rep"+strconv.Itoa(i+1)+"@"+domain, store.UserSalesRep, salesPassword)
		st.reps = append(st.reps, p)
		members = append(members, store.TeamMember{UserID: p.ID, Weight: 1})
	}
	team, err := a.st.InsertTeam(ctx, store.Team{WorkspaceID: st.ws, Name: "Inside sales", ManagerID: &st.manager.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.st.ReplaceTeamMembers(ctx, st.ws, team.ID, members); err != nil {
		t.Fatal(err)
	}
	if _, err := a.st.ReplaceAssignmentRules(ctx, st.ws, []store.AssignmentRule{{TeamID: team.ID}}); err != nil {
		t.Fatal(err)
	}
	return st
}

// handOff makes a lead and qualifies it by a sales call, which hands it to
// the team (and emails its new owner).
func (a *salesApp) handOff(t *testing.T, ws uuid.UUID, first, email, company string) store.Handoff {
	t.Helper()
	ctx := context.Background()
	lead, err := a.st.InsertLead(ctx, store.Lead{
		WorkspaceID: ws, FirstName: first, LastName: "Lee", Email: email, EmailCanonical: email,
		Company: company, Title: "CTO", Country: "FR", Phone: "+33123456789", PrimaryInterest: "Widgets",
		Status: store.LeadMarketingQualified,
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.eng.RecordCall(ctx, ws, lead.ID, qualify.Call{Outcome: store.DecisionOpportunity}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if res.Handoff == nil || res.Handoff.OwnerID == nil {
		t.Fatalf("the call made handoff %+v, want one with an owner", res.Handoff)
	}
	return *res.Handoff
}

// mailWith waits for an email to addr whose text contains s.
func (a *salesApp) mailWith(t *testing.T, addr, s string) local.SinkMessage {
	t.Helper()
	var got local.SinkMessage
	waitFor(t, "an email to "+addr+" with "+s, 30*time.Second, func() bool {
		msgs := a.sink.Messages()
		i := slices.IndexFunc(msgs, func(m local.SinkMessage) bool { return slices.Contains(m.To, addr) && strings.Contains(m.Text, s) })
		if i >= 0 {
			got = msgs[i]
		}
		return i >= 0
	})
	return got
}

func (a *salesApp) handoffRow(t *testing.T, ws, id uuid.UUID) store.Handoff {
	t.Helper()
	h, err := a.st.GetHandoff(context.Background(), ws, id)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (a *salesApp) leadRow(t *testing.T, ws, id uuid.UUID) store.Lead {
	t.Helper()
	l, err := a.st.GetLead(context.Background(), ws, id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// opportunityOf is the lead's opportunity, or nil.
func (a *salesApp) opportunityOf(t *testing.T, ws, leadID uuid.UUID) *store.Opportunity {
	t.Helper()
	opps, err := a.st.ListOpportunities(context.Background(), ws, store.OpportunityFilter{Page: store.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opps {
		if o.LeadID == leadID {
			return &o
		}
	}
	return nil
}

var consoleHandoffLink = regexp.MustCompile(`https?://\S+/console/handoffs/[0-9a-f-]{36}`)

// TestConsoleSalesInBrowser walks sales' work in the console of a real
// leadflow in a real Chromium, one workspace and tab per case, all at once.
func TestConsoleSalesInBrowser(t *testing.T) {
	if _, err := consoletest.ChromiumPath(); err != nil {
		t.Fatal(err)
	}
	app := startSalesApp(t)

	t.Run("a rep follows the handoff email and accepts without then with an opportunity", func(t *testing.T) {
		t.Parallel()
		team := app.team(t, "accept", 1)
		rep := team.reps[0]
		h1 := app.handOff(t, team.ws, "Ann", "ann@acme.example", "Acme Corp")
		h2 := app.handOff(t, team.ws, "Bo", "bo@globex.example", "Globex")

		mail := app.mailWith(t, rep.Email, h1.ID.String())
		link := consoleHandoffLink.FindString(mail.Text)
		if link != app.base+"/console/handoffs/"+h1.ID.String() {
			t.Fatalf("the handoff email links %q, want the console's handoff page:\n%s", link, mail.Text)
		}
		tab := browsers.Tab(t, app.base)
		tab.Open(link)
		if got := tab.Path(); !strings.HasPrefix(got, "/login?next=") {
			t.Fatalf("the email's link, signed out, showed %s, want the login page", got)
		}
		tab.Type("#email", rep.Email)
		tab.Type("#password", salesPassword)
		if status := tab.Click("form[action='/login'] button[type=submit]"); status != http.StatusOK {
			t.Fatalf("sign in: status %d", status)
		}
		if got := tab.Path(); got != "/console/handoffs/"+h1.ID.String() {
			t.Fatalf("after sign-in the rep landed on %s, want the handoff", got)
		}
		tab.Shot("handoff")
		if got := tab.Text("#lead-name"); got != "Ann Lee" {
			t.Errorf("handoff page names the lead %q", got)
		}
		if got := tab.Text("#preview-account"); got != "Acme Corp" {
			t.Errorf("accept preview names account %q, want Acme Corp", got)
		}

		// Both handoffs are theirs, soonest deadline first.
		tab.Open("/console/handoffs")
		tab.Shot("my-handoffs")
		if n := tab.Count("main tbody tr"); n != 2 {
			t.Errorf("my handoffs lists %d rows, want 2", n)
		}
		if n := tab.Count("nav a[href='/console/handoffs'][aria-current=page]"); n != 1 {
			t.Errorf("Handoffs marked current in the navigation %d times, want 1", n)
		}

		// Accept the first without an opportunity.
		tab.Open("/console/handoffs/" + h1.ID.String())
		tab.Do(chromedp.Click(chromedp.CSS("#no-opportunity-box"), chromedp.NodeVisible))
		if status := tab.Click("#accept-button"); status != http.StatusOK {
			t.Fatalf("accept without an opportunity: status %d", status)
		}
		if got := tab.Text("#no-opportunity"); !strings.Contains(got, "none") {
			t.Errorf("after accepting without an opportunity the page says %q", got)
		}
		if got := tab.Text("#converted dd"); got != "Acme Corp (acme.example)" {
			t.Errorf("the page names the account %q", got)
		}
		if h := app.handoffRow(t, team.ws, h1.ID); h.Status != store.HandoffAccepted {
			t.Errorf("handoff 1 is %s, want accepted", h.Status)
		}
		if l := app.leadRow(t, team.ws, h1.LeadID); l.Status != store.LeadConverted {
			t.Errorf("lead 1 is %s, want converted", l.Status)
		}
		if o := app.opportunityOf(t, team.ws, h1.LeadID); o != nil {
			t.Errorf("accepting without an opportunity made %+v", o)
		}

		// Accept the second with one, its fields set in the form.
		app.mailWith(t, rep.Email, h2.ID.String())
		tab.Open("/console/handoffs/" + h2.ID.String())
		tab.Type("#opp-amount", "25000")
		tab.Choose("#opp-stage", store.StageDiscovery)
		tab.Type("#opp-probability", "40")
		tab.Shot("accept")
		if status := tab.Click("#accept-button"); status != http.StatusOK {
			t.Fatalf("accept with an opportunity: status %d", status)
		}
		o := app.opportunityOf(t, team.ws, h2.LeadID)
		if o == nil {
			t.Fatal("accepting with an opportunity made none")
		}
		if o.Amount != "25000.00" || o.Stage != store.StageDiscovery || o.Probability != 40 || o.OwnerID == nil || *o.OwnerID != rep.ID {
			t.Errorf("opportunity = %+v, want 25000.00 in discovery at 40%% owned by the rep", o)
		}
		if status := tab.Click("#opportunity-link"); status != http.StatusOK || tab.Path() != "/console/opportunities/"+o.ID.String() {
			t.Fatalf("the opportunity's link: status %d at %s", status, tab.Path())
		}
		// The owner moves it on; the forecast box is a sales admin's.
		if n := tab.Count("#opp-forecast[disabled]"); n != 1 {
			t.Errorf("a rep's forecast checkbox is not read-only")
		}
		tab.Choose("#opp-stage", store.StageProposal)
		if status := tab.Click("#opportunity-save"); status != http.StatusOK {
			t.Fatalf("save the opportunity: status %d", status)
		}
		if got := tab.Text("#opp-stage-now"); got != store.StageProposal {
			t.Errorf("after saving the stage reads %q", got)
		}
		tab.Open("/console/opportunities/board")
		tab.Shot("opportunities-board")
		if n := tab.Count("section[data-stage=proposal] li"); n != 1 {
			t.Errorf("the board's proposal column has %d cards, want 1", n)
		}
		// The list, filtered by stage through the form.
		tab.Open("/console/opportunities")
		tab.Choose("#filter-stage", store.StageProposal)
		if status := tab.Click("main form[method=get] button[type=submit]"); status != http.StatusOK {
			t.Fatalf("filter the opportunities: status %d", status)
		}
		if n := tab.Count("main tbody tr"); n != 1 || tab.Text("main tbody td:nth-child(5)") != rep.Name {
			t.Errorf("opportunities in proposal: %d rows, want 1 owned by %s", n, rep.Name)
		}
		tab.Open("/console/opportunities?stage=" + store.StageClosedWon)
		if n := tab.Count("main tbody tr"); n != 0 {
			t.Errorf("opportunities closed won: %d rows, want none", n)
		}
	})

	t.Run("a sales admin puts an opportunity in the forecast", func(t *testing.T) {
		t.Parallel()
		team := app.team(t, "forecast", 1)
		admin := app.person(t, "forecast", "sue@forecast.test", store.UserSalesAdmin, salesPassword)
		h := app.handOff(t, team.ws, "Flo", "flo@wayne.example", "Wayne")
		conv, err := app.eng.Accept(context.Background(), team.ws, h.ID, "test", qualify.AcceptInput{})
		if err != nil || conv.Opportunity == nil {
			t.Fatalf("accept: %v (opportunity %v)", err, conv.Opportunity)
		}
		o := conv.Opportunity
		tab := browsers.Tab(t, app.base)
		tab.SignIn(admin.Email, salesPassword, "/console/opportunities/"+o.ID.String())
		if n := tab.Count("#opp-forecast:not([disabled])"); n != 1 {
			t.Fatal("a sales admin's forecast checkbox is read-only")
		}
		tab.Do(chromedp.Click(chromedp.CSS("#opp-forecast"), chromedp.NodeVisible))
		tab.Type("#opp-amount", "abc")
		if status := tab.Click("#opportunity-save"); status != http.StatusUnprocessableEntity {
			t.Fatalf("save a bad amount: status %d, want 422", status)
		}
		if n := tab.Count("#opp-amount[aria-invalid=true][aria-describedby=opp-amount-error]"); n != 1 {
			t.Error("the bad amount is not marked next to its field")
		}
		tab.Type("#opp-amount", "1200.50")
		if status := tab.Click("#opportunity-save"); status != http.StatusOK {
			t.Fatalf("save: status %d", status)
		}
		got, err := app.st.GetOpportunity(context.Background(), team.ws, o.ID)
		if err != nil || !got.InForecast || got.Amount != "1200.50" {
			t.Errorf("after saving: in forecast %v, amount %q (err %v); want true, 1200.50", got.InForecast, got.Amount, err)
		}
	})

	t.Run("a rejected lead shows as recycled", func(t *testing.T) {
		t.Parallel()
		team := app.team(t, "reject", 1)
		// A name from a public form is shown as text, never run.
		const hostile = `<script>alert("x")</script>`
		h := app.handOff(t, team.ws, hostile, "cy@initech.example", "Initech")
		tab := browsers.Tab(t, app.base)
		tab.SignIn(team.reps[0].Email, salesPassword, "/console/handoffs/"+h.ID.String())
		if status := tab.Click("#reject-button"); status != http.StatusUnprocessableEntity {
			t.Fatalf("reject without a reason: status %d, want 422", status)
		}
		if got := tab.Text("#reject-reason-error"); !strings.Contains(got, "required") {
			t.Errorf("reject without a reason says %q", got)
		}
		if n := tab.Count("#reject-reason[aria-invalid=true][aria-describedby=reject-reason-error]"); n != 1 {
			t.Error("the reason field is not marked invalid")
		}
		tab.Type("#reject-reason", "No budget this year")
		if status := tab.Click("#reject-button"); status != http.StatusOK {
			t.Fatalf("reject: status %d", status)
		}
		if got := tab.Text("#recycled"); !strings.Contains(got, "No budget this year") {
			t.Errorf("after rejecting the page says %q", got)
		}
		if got := tab.Text("#lead-status"); got != store.LeadRecycled {
			t.Errorf("lead status on the page %q, want recycled", got)
		}
		if l := app.leadRow(t, team.ws, h.LeadID); l.Status != store.LeadRecycled {
			t.Errorf("lead is %s, want recycled", l.Status)
		}
		if got := tab.Text("#lead-name"); got != hostile+" Lee" {
			t.Errorf("the lead's name reads %q, want it as typed", got)
		}
		if n := tab.Count("main script"); n != 0 {
			t.Errorf("the lead's name became %d script elements", n)
		}

		// A recycled lead can be called again: the call form keeps what was
		// typed and names each fault next to its field.
		if status := tab.Click("a[href='/console/leads/" + h.LeadID.String() + "/qualification']"); status != http.StatusOK {
			t.Fatalf("open the qualification call form: status %d", status)
		}
		tab.Do(chromedp.Click(chromedp.CSS("#outcome-maybe"), chromedp.NodeVisible))
		tab.Type("#call-need", "A new line next year")
		if status := tab.Click("#call-save"); status != http.StatusUnprocessableEntity {
			t.Fatalf("maybe without a follow-up date: status %d, want 422", status)
		}
		if n := tab.Count("#call-follow-up[aria-invalid=true][aria-describedby=call-follow-up-error]"); n != 1 || !strings.Contains(tab.Text("#call-follow-up-error"), "required") {
			t.Errorf("the follow-up date is not marked as missing")
		}
		if n := tab.Count("#call-need[value='A new line next year']"); n != 1 {
			t.Error("the form lost the need that was typed")
		}
		tab.Do(chromedp.SetValue(chromedp.CSS("#call-follow-up"), time.Now().AddDate(0, 1, 0).Format(time.DateOnly)))
		tab.Shot("qualification-call")
		if status := tab.Click("#call-save"); status != http.StatusOK {
			t.Fatalf("record the call: status %d", status)
		}
		if l := app.leadRow(t, team.ws, h.LeadID); l.Status != store.LeadContacted || l.Need != "A new line next year" || l.FollowUpAt == nil {
			t.Errorf("after a maybe call the lead is %s, need %q, follow-up %v", l.Status, l.Need, l.FollowUpAt)
		}
	})

	t.Run("a sales rep cannot open marketing or admin pages", func(t *testing.T) {
		t.Parallel()
		team := app.team(t, "roles", 1)
		app.person(t, "roles", "maya@roles.test", store.UserMarketing, salesPassword)
		rep := browsers.Tab(t, app.base)
		rep.SignIn(team.reps[0].Email, salesPassword, "/console/handoffs")
		for _, path := range []string{"/console/handoffs", "/console/opportunities"} {
			if n := rep.Count("nav a[href='" + path + "']"); n != 1 {
				t.Errorf("a rep's navigation links %s %d times, want 1", path, n)
			}
		}
		if n := rep.Count("nav a[href='/console/people']"); n != 0 {
			t.Errorf("a rep's navigation has the People page")
		}
		if status := rep.Open("/console/people"); status != http.StatusForbidden {
			t.Errorf("a rep opening /console/people: status %d, want 403", status)
		}
		// And the other way round: marketing reads handoffs, opportunities
		// and accounts, as the API lets it, but sales' own pages are not
		// marketing's.
		mkt := browsers.Tab(t, app.base)
		mkt.Name = "marketing"
		mkt.SignIn("maya@roles.test", salesPassword, "/console/")
		for _, path := range []string{"/console/handoffs", "/console/opportunities", "/console/accounts"} {
			if n := mkt.Count("nav a[href='" + path + "']"); n != 1 {
				t.Errorf("marketing's navigation links %s %d times, want 1", path, n)
			}
			if status := mkt.Open(path); status != http.StatusOK {
				t.Errorf("marketing opening %s: status %d, want 200", path, status)
			}
		}
		if n := mkt.Count("#new-opportunity"); n != 0 {
			t.Errorf("marketing's accounts page offers a new opportunity")
		}
		if status := mkt.Open("/console/opportunities/new"); status != http.StatusForbidden {
			t.Errorf("marketing opening /console/opportunities/new: status %d, want 403", status)
		}
	})

	t.Run("a rep is refused another rep's handoff", func(t *testing.T) {
		t.Parallel()
		team := app.team(t, "refused", 1)
		h := app.handOff(t, team.ws, "Di", "di@umbrella.example", "Umbrella")
		other := app.person(t, "refused", "other@refused.test", store.UserSalesRep, salesPassword)
		tab := browsers.Tab(t, app.base)
		tab.SignIn(other.Email, salesPassword, "/console/handoffs")
		if n := tab.Count("main tbody tr"); n != 0 {
			t.Errorf("another rep's list shows %d handoffs, want none", n)
		}
		if status := tab.Open("/console/handoffs/" + h.ID.String()); status != http.StatusNotFound {
			t.Errorf("another rep opening the handoff: status %d, want 404", status)
		}
		if n := tab.Count("#accept-form"); n != 0 {
			t.Error("the refusal page shows the accept form")
		}
	})

	t.Run("a manager reassigns a handoff to a member of the team", func(t *testing.T) {
		t.Parallel()
		team := app.team(t, "reassign", 2)
		h := app.handOff(t, team.ws, "Ed", "ed@hooli.example", "Hooli")
		from, to := team.reps[0], team.reps[1]
		if *h.OwnerID != from.ID {
			from, to = to, from
		}
		tab := browsers.Tab(t, app.base)
		tab.SignIn(team.manager.Email, salesPassword, "/console/handoffs")
		if got := tab.Text("main h1"); got != "My team's handoffs" {
			t.Errorf("the manager's list is titled %q", got)
		}
		if status := tab.Click("main tbody a[href='/console/handoffs/" + h.ID.String() + "']"); status != http.StatusOK {
			t.Fatalf("open the team's handoff: status %d", status)
		}
		tab.Choose("#reassign-owner", to.ID.String())
		if status := tab.Click("#reassign-button"); status != http.StatusOK {
			t.Fatalf("reassign: status %d", status)
		}
		if got := tab.Text("p.notice"); !strings.Contains(got, "Reassigned to "+to.Name) {
			t.Errorf("after reassigning the page says %q", got)
		}
		if got := app.handoffRow(t, team.ws, h.ID); got.OwnerID == nil || *got.OwnerID != to.ID || got.Reassignments != 1 {
			t.Errorf("handoff after reassigning: owner %v, reassignments %d; want %s, 1", got.OwnerID, got.Reassignments, to.ID)
		}
		if l := app.leadRow(t, team.ws, h.LeadID); l.OwnerID == nil || *l.OwnerID != to.ID {
			t.Errorf("the lead's owner is %v, want the new owner", l.OwnerID)
		}
		mail := app.mailWith(t, to.Email, h.ID.String())
		if !strings.HasPrefix(mail.Subject, "Lead reassigned to you") || consoleHandoffLink.FindString(mail.Text) != app.base+"/console/handoffs/"+h.ID.String() {
			t.Errorf("the new owner's email: subject %q, text:\n%s", mail.Subject, mail.Text)
		}
		// The former owner may no longer open it.
		old := browsers.Tab(t, app.base)
		old.Name = "former-owner"
		old.SignIn(from.Email, salesPassword, "/console/handoffs")
		if status := old.Open("/console/handoffs/" + h.ID.String()); status != http.StatusNotFound {
			t.Errorf("the former owner opening the handoff: status %d, want 404", status)
		}
	})
}
