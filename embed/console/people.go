package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/store"
)

// maxPeople is how many people the People page lists.
const maxPeople = 1000

// jobs are what each role will do in the console, shown on its home page.
var jobs = map[string][]string{
	store.UserAdmin:        {"Invite people, change their roles and deactivate them (People).", "Workspace settings, teams, assignment rules, webhooks and API keys."},
	store.UserMarketing:    {"Forms, templates and nurture sequences.", "Scoring, grades and the qualification criteria.", "The funnel, leads and their timelines."},
	store.UserSalesRep:     {"Your handoffs, soonest deadline first: accept or reject them.", "Qualification calls and your opportunities."},
	store.UserSalesManager: {"Your team's handoffs, and reassigning them.", "Qualification calls and the team's opportunities."},
	store.UserSalesAdmin:   {"Opportunities and the forecast.", "Handoffs and qualification calls."},
}

// Welcome is how a home page greets its person: who they are, where, as
// what, and what their role does in the console.
type Welcome struct {
	Name, Workspace, RoleLabel string
	Jobs                       []string
}

// WelcomeOf greets the signed-in person, for a home page of another domain.
func WelcomeOf(ec echo.Context) Welcome {
	p, _ := SignedIn(ec)
	return Welcome{Name: p.Name, Workspace: p.WorkspaceName, RoleLabel: roleLabel(p.Role), Jobs: jobs[p.Role]}
}

// home is the role's own home page when a domain gave it one (Home), and
// otherwise the page listing the role's jobs.
func (c *Console) home(ec echo.Context) error {
	p, _ := SignedIn(ec)
	if h, ok := c.homes[p.Role]; ok {
		return h(ec)
	}
	return c.Render(ec, http.StatusOK, c.pages.home, "Home", WelcomeOf(ec))
}

// inviteForm is the invitation form as posted, with its errors by field.
type inviteForm struct {
	Name, Email, Role string
	Errors            map[string]string
}

type peopleView struct {
	People        []store.Person
	Roles         any
	Invite        inviteForm
	Notice, Error string
}

func (c *Console) people(ec echo.Context) error {
	v := peopleView{Invite: inviteForm{Role: store.UserSalesRep}}
	q := ec.QueryParams()
	switch {
	case q.Get("invited") != "":
		v.Notice = "Invitation sent to " + q.Get("invited") + "."
	case q.Get("not_sent") != "":
		v.Error = "The invitation for " + q.Get("not_sent") + " is stored, but its email could not be sent. Check the SMTP settings; the person can also ask for a sign-in link at /login/link."
	case q.Get("changed") != "":
		v.Notice = "Role changed."
	case q.Get("deactivated") != "":
		v.Notice = "Deactivated: they are signed out and cannot sign in."
	case q.Get("reactivated") != "":
		v.Notice = "Reactivated: they can sign in again. Leads are not assigned to them until they are made available again."
	}
	return c.renderPeople(ec, http.StatusOK, v)
}

func (c *Console) renderPeople(ec echo.Context, status int, v peopleView) error {
	me, _ := SignedIn(ec)
	people, err := c.store.ListPeople(ec.Request().Context(), me.WorkspaceID, maxPeople)
	if err != nil {
		return fmt.Errorf("people page: %w", err)
	}
	v.People, v.Roles = people, roles
	return c.Render(ec, status, c.pages.people, "People", v)
}

// invite creates a person without a password and emails them a sign-in
// link; errors are shown next to their fields.
func (c *Console) invite(ec echo.Context) error {
	ctx := ec.Request().Context()
	me, _ := SignedIn(ec)
	f := inviteForm{
		Name:   strings.TrimSpace(ec.FormValue("name")),
		Email:  strings.ToLower(strings.TrimSpace(ec.FormValue("email"))),
		Role:   ec.FormValue("role"),
		Errors: map[string]string{},
	}
	if a, err := mail.ParseAddress(f.Email); err != nil || a.Address != f.Email || len(f.Email) > maxEmail {
		f.Errors["email"] = "Enter an email address."
	}
	if !validRole(f.Role) {
		f.Errors["role"] = "Choose a role."
	}
	if len(f.Name) > 200 {
		f.Errors["name"] = "At most 200 characters."
	}
	name := f.Name
	if name == "" {
		name, _, _ = strings.Cut(f.Email, "@")
	}
	if len(f.Errors) == 0 {
		p, err := c.store.InsertPerson(ctx, store.Person{WorkspaceID: me.WorkspaceID, Name: name, Email: f.Email, Role: f.Role})
		switch {
		case errors.Is(err, store.ErrConflict):
			f.Errors["email"] = "Someone in this workspace already has this address."
		case err != nil:
			return fmt.Errorf("invite: %w", err)
		default:
			c.log.Info("console_person_invited", "user_id", p.ID, "by_user_id", me.ID)
			if err := c.sendInvitation(ctx, p, me); err != nil {
				c.log.Error("console_email_failed", "user_id", p.ID, "err", err)
				return ec.Redirect(http.StatusSeeOther, "/console/people?"+url.Values{"not_sent": {p.Email}}.Encode())
			}
			return ec.Redirect(http.StatusSeeOther, "/console/people?"+url.Values{"invited": {p.Email}}.Encode())
		}
	}
	return c.renderPeople(ec, http.StatusUnprocessableEntity, peopleView{Invite: f, Error: "The invitation was not sent: see the fields below."})
}

// target reads the person a people action is about; admins cannot act on
// themselves, so a workspace always keeps the admin doing it.
func (c *Console) target(ec echo.Context) (store.Person, error) {
	me, _ := SignedIn(ec)
	id, err := uuid.Parse(ec.Param("id"))
	if err != nil {
		return store.Person{}, echo.NewHTTPError(http.StatusNotFound, "no such person")
	}
	if id == me.ID {
		return store.Person{}, errSelf
	}
	p, err := c.store.GetPerson(ec.Request().Context(), me.WorkspaceID, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Person{}, echo.NewHTTPError(http.StatusNotFound, "no such person")
	}
	return p, err
}

var errSelf = errors.New("an admin cannot change their own role or deactivate themselves")

func (c *Console) changeRole(ec echo.Context) error {
	p, err := c.target(ec)
	if errors.Is(err, errSelf) {
		return c.renderPeople(ec, http.StatusUnprocessableEntity, peopleView{Error: "You cannot change your own role: ask another admin."})
	}
	if err != nil {
		return err
	}
	role := ec.FormValue("role")
	if !validRole(role) {
		return c.renderPeople(ec, http.StatusUnprocessableEntity, peopleView{Error: "Choose one of the roles."})
	}
	if err := c.store.SetPersonRole(ec.Request().Context(), p.WorkspaceID, p.ID, role); err != nil {
		return fmt.Errorf("change role: %w", err)
	}
	me, _ := SignedIn(ec)
	c.log.Info("console_role_changed", "user_id", p.ID, "role", role, "by_user_id", me.ID)
	return ec.Redirect(http.StatusSeeOther, "/console/people?changed=1")
}

func (c *Console) deactivate(ec echo.Context) error {
	p, err := c.target(ec)
	if errors.Is(err, errSelf) {
		return c.renderPeople(ec, http.StatusUnprocessableEntity, peopleView{Error: "You cannot deactivate yourself: ask another admin."})
	}
	if err != nil {
		return err
	}
	if err := c.store.DeactivatePerson(ec.Request().Context(), p.WorkspaceID, p.ID); err != nil {
		return fmt.Errorf("deactivate: %w", err)
	}
	me, _ := SignedIn(ec)
	c.log.Info("console_person_deactivated", "user_id", p.ID, "by_user_id", me.ID)
	return ec.Redirect(http.StatusSeeOther, "/console/people?deactivated=1")
}

func (c *Console) reactivate(ec echo.Context) error {
	p, err := c.target(ec)
	if errors.Is(err, errSelf) {
		return c.renderPeople(ec, http.StatusUnprocessableEntity, peopleView{Error: "You are active already."})
	}
	if err != nil {
		return err
	}
	if err := c.store.ReactivatePerson(ec.Request().Context(), p.WorkspaceID, p.ID); err != nil {
		return fmt.Errorf("reactivate: %w", err)
	}
	me, _ := SignedIn(ec)
	c.log.Info("console_person_reactivated", "user_id", p.ID, "by_user_id", me.ID)
	return ec.Redirect(http.StatusSeeOther, "/console/people?reactivated=1")
}
