package console

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/store"
)

// Bounds on what the sign-in forms read.
const (
	maxEmail     = 254
	maxWorkspace = 200
)

// loginView is what login.html renders.
type loginView struct {
	Email, Next   string
	Error, Notice string
	// KeepNext: the link to ask for a sign-in link carries Next (the
	// template escapes it as a query value).
	KeepNext bool
	// Workspaces are offered when the address and password match in
	// several: the person picks one.
	Workspaces []string
}

func newLoginView(next string) loginView {
	v := loginView{Next: localPath(next)}
	v.KeepNext = v.Next != homePath
	return v
}

func (c *Console) loginPage(ec echo.Context) error {
	if _, ok := c.currentPerson(ec); ok {
		return ec.Redirect(http.StatusSeeOther, localPath(ec.QueryParam("next")))
	}
	v := newLoginView(ec.QueryParam("next"))
	if ec.QueryParam("signed_out") != "" {
		v.Notice = "You are signed out."
	}
	return c.Render(ec, http.StatusOK, c.pages.login, "Sign in", v)
}

// currentPerson reads the session of a page outside /console (the sign-in
// pages), if there is a live one.
func (c *Console) currentPerson(ec echo.Context) (store.Person, bool) {
	secret, ok := c.sessionSecret(ec.Request())
	if !ok {
		return store.Person{}, false
	}
	sp, err := c.store.SessionBySecret(ec.Request().Context(), secret, c.cfg.SessionIdle)
	return sp.Person, err == nil
}

// login signs a person in by email and password. The address names no
// workspace: every active person with it whose password matches is a
// candidate. One candidate signs in; several (the same address and password
// in two workspaces) are asked to pick the workspace, which the form then
// sends with the password again; none is refused with one message whether
// the address exists or not.
func (c *Console) login(ec echo.Context) error {
	ctx := ec.Request().Context()
	email := strings.TrimSpace(ec.FormValue("email"))
	password := ec.FormValue("password")
	workspace := strings.TrimSpace(ec.FormValue("workspace"))
	v := newLoginView(ec.FormValue("next"))
	v.Email = email
	if email == "" || password == "" || len(email) > maxEmail || len(password) > MaxPassword || len(workspace) > maxWorkspace {
		v.Error = "Enter your email and password."
		return c.Render(ec, http.StatusUnprocessableEntity, c.pages.login, "Sign in", v)
	}
	if ok, wait := c.limiter.allow(ctx, email, ec.RealIP()); !ok {
		return c.tooMany(ec, wait, v)
	}
	people, err := c.store.PeopleByEmail(ctx, email)
	if err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	var matched []store.Person
	checked := false
	for _, p := range people {
		if !p.Active() || p.PasswordHash == "" || (workspace != "" && !strings.EqualFold(p.WorkspaceName, workspace)) {
			continue
		}
		checked = true
		if c.hasher.matches(ctx, password, p.PasswordHash) {
			matched = append(matched, p)
		}
	}
	if !checked {
		c.hasher.spend(ctx, password)
	}
	switch len(matched) {
	case 0:
		c.log.Info("console_sign_in_refused", "ip", ec.RealIP())
		v.Error = "That email and password do not match. Try again, or ask for a sign-in link."
		return c.Render(ec, http.StatusUnauthorized, c.pages.login, "Sign in", v)
	case 1:
		c.limiter.forget(ctx, email)
		if err := c.startSession(ec, matched[0]); err != nil {
			return err
		}
		return ec.Redirect(http.StatusSeeOther, v.Next)
	}
	for _, p := range matched {
		v.Workspaces = append(v.Workspaces, p.WorkspaceName)
	}
	v.Notice = "This address signs in to several workspaces. Choose one and enter your password again."
	return c.Render(ec, http.StatusOK, c.pages.login, "Sign in", v)
}

func (c *Console) tooMany(ec echo.Context, wait time.Duration, v loginView) error {
	minutes := int(math.Ceil(wait.Minutes()))
	ec.Response().Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
	v.Error = fmt.Sprintf("Too many attempts. Wait %d minute(s) and try again.", max(minutes, 1))
	return c.Render(ec, http.StatusTooManyRequests, c.pages.login, "Sign in", v)
}

// linkRequestView is what link_request.html renders.
type linkRequestView struct {
	Next  string
	Reset bool
	Error string
}

func (c *Console) linkRequestPage(ec echo.Context) error {
	return c.Render(ec, http.StatusOK, c.pages.linkRequest, "Sign in with a link", linkRequestView{Next: localPath(ec.QueryParam("next"))})
}

func (c *Console) resetRequestPage(ec echo.Context) error {
	return c.Render(ec, http.StatusOK, c.pages.linkRequest, "Reset your password", linkRequestView{Next: homePath, Reset: true})
}

// sendLink emails a one-time sign-in link to every active person with the
// address, one per workspace. The answer is the same, and comes as soon,
// whether or not the address exists: the people are looked up and emailed
// after it.
func (c *Console) sendLink(ec echo.Context) error {
	return c.emailLinks(ec, false)
}

// sendReset emails a password reset link, like sendLink.
func (c *Console) sendReset(ec echo.Context) error {
	return c.emailLinks(ec, true)
}

func (c *Console) emailLinks(ec echo.Context, reset bool) error {
	ctx := ec.Request().Context()
	email := strings.TrimSpace(ec.FormValue("email"))
	next := localPath(ec.FormValue("next"))
	page := linkRequestView{Next: next, Reset: reset}
	title := map[bool]string{false: "Sign in with a link", true: "Reset your password"}[reset]
	if email == "" || len(email) > maxEmail {
		page.Error = "Enter your email."
		return c.Render(ec, http.StatusUnprocessableEntity, c.pages.linkRequest, title, page)
	}
	if ok, wait := c.limiter.allow(ctx, email, ec.RealIP()); !ok {
		ec.Response().Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
		page.Error = fmt.Sprintf("Too many attempts. Wait %d minute(s) and try again.", max(int(math.Ceil(wait.Minutes())), 1))
		return c.Render(ec, http.StatusTooManyRequests, c.pages.linkRequest, title, page)
	}
	// Nothing here may depend on whether the address belongs to anyone:
	// the look-up and the emails happen after the answer.
	if err := c.outbox.add(func(ctx context.Context) { c.emailPeople(ctx, email, next, reset) }); err != nil {
		c.log.Warn("console_email_refused", "err", err)
		ec.Response().Header().Set("Retry-After", "60")
		page.Error = "Too many emails are waiting to go out. Try again in a minute."
		return c.Render(ec, http.StatusServiceUnavailable, c.pages.linkRequest, title, page)
	}
	text := "If this address belongs to someone here, a sign-in link is on its way. It works once, for the next few minutes."
	if reset {
		text = "If this address belongs to someone here, a link to choose a new password is on its way. It works once, within the hour."
	}
	return c.renderMessage(ec, http.StatusOK, message{Heading: "Check your email", Text: text, Link: "/login", LinkText: "Back to sign-in"})
}

// emailPeople sends the link asked for to every active person with the
// address. What fails is said in the log only (the page has answered
// already, alike for everyone); the person can ask again.
func (c *Console) emailPeople(ctx context.Context, email, next string, reset bool) {
	people, err := c.store.PeopleByEmail(ctx, email)
	if err != nil {
		c.log.Error("console_email_failed", "err", fmt.Errorf("find people: %w", err))
		return
	}
	for _, p := range people {
		if !p.Active() {
			continue
		}
		var err error
		if reset {
			err = c.sendResetEmail(ctx, p)
		} else {
			err = c.sendSignInEmail(ctx, p, next)
		}
		if err != nil {
			c.log.Error("console_email_failed", "user_id", p.ID, "err", err)
		}
	}
}

// linkView is what link.html and reset.html render.
type linkView struct {
	Token    string
	Error    string
	Min, Max int
}

var signInPurposes = []string{store.TokenSignIn, store.TokenInvite}
var resetPurposes = []string{store.TokenReset, store.TokenInvite}

// linkPage is what a sign-in link opens: a button that spends it. A GET
// spends nothing, so a mail scanner's visit leaves the link working.
func (c *Console) linkPage(ec echo.Context) error {
	token := ec.Param("token")
	if _, err := c.store.PeekSignInToken(ec.Request().Context(), token, signInPurposes); err != nil {
		return c.deadLink(ec, err)
	}
	return c.Render(ec, http.StatusOK, c.pages.link, "Sign in", linkView{Token: token})
}

func (c *Console) useLink(ec echo.Context) error {
	ctx := ec.Request().Context()
	tok, err := c.store.UseSignInToken(ctx, ec.Param("token"), signInPurposes)
	if err != nil {
		return c.deadLink(ec, err)
	}
	p, err := c.store.PersonByID(ctx, tok.UserID)
	if err != nil {
		return fmt.Errorf("sign in by link: %w", err)
	}
	if err := c.startSession(ec, p); err != nil {
		return err
	}
	return ec.Redirect(http.StatusSeeOther, localPath(tok.Next))
}

func (c *Console) deadLink(ec echo.Context, err error) error {
	if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("one-time link: %w", err)
	}
	return c.renderMessage(ec, http.StatusGone, message{
		Heading: "This link no longer works",
		Text:    "It has been used already, or it has expired. Ask for a new one.",
		Link:    "/login/link", LinkText: "Email me a new sign-in link", Alert: true,
	})
}

func (c *Console) resetPage(ec echo.Context) error {
	token := ec.Param("token")
	if _, err := c.store.PeekSignInToken(ec.Request().Context(), token, resetPurposes); err != nil {
		return c.deadLink(ec, err)
	}
	return c.Render(ec, http.StatusOK, c.pages.reset, "Choose a password", linkView{Token: token, Min: MinPassword, Max: MaxPassword})
}

// reset sets a new password from a reset (or invitation) link and signs the
// person in; their other sessions end. A password that cannot be chosen is
// said next to its field and leaves the link unspent.
func (c *Console) reset(ec echo.Context) error {
	ctx := ec.Request().Context()
	token := ec.Param("token")
	password := ec.FormValue("password")
	v := linkView{Token: token, Min: MinPassword, Max: MaxPassword}
	switch {
	case CheckPassword(password) != nil:
		v.Error = ErrWeakPassword.Error() + "."
	case password != ec.FormValue("confirm"):
		v.Error = "The two passwords differ."
	}
	if v.Error != "" {
		if _, err := c.store.PeekSignInToken(ctx, token, resetPurposes); err != nil {
			return c.deadLink(ec, err)
		}
		return c.Render(ec, http.StatusUnprocessableEntity, c.pages.reset, "Choose a password", v)
	}
	hash, err := c.hasher.hash(ctx, password)
	if err != nil {
		return err
	}
	tok, err := c.store.UseSignInToken(ctx, token, resetPurposes)
	if err != nil {
		return c.deadLink(ec, err)
	}
	p, err := c.store.PersonByID(ctx, tok.UserID)
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	if err := c.store.SetPersonPassword(ctx, p.WorkspaceID, p.ID, hash); err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	if err := c.startSession(ec, p); err != nil {
		return err
	}
	return ec.Redirect(http.StatusSeeOther, localPath(tok.Next))
}

// logout ends the session: the cookie stops working everywhere at once,
// since every request reads the session from PostgreSQL.
func (c *Console) logout(ec echo.Context) error {
	if secret, ok := c.sessionSecret(ec.Request()); ok {
		if err := c.store.DeleteSession(ec.Request().Context(), secret); err != nil {
			return fmt.Errorf("sign out: %w", err)
		}
	}
	c.clearCookie(ec)
	return ec.Redirect(http.StatusSeeOther, "/login?signed_out=1")
}

// NewLink stores a one-time token for a person and returns its link: a
// sign-in link (purpose store.TokenSignIn or store.TokenInvite) or a
// password reset link (store.TokenReset), absolute on baseURL.
func NewLink(ctx context.Context, q *store.Queries, baseURL string, userID uuid.UUID, purpose string, ttl time.Duration, next string) (string, error) {
	secret := newSecret()
	err := q.InsertSignInToken(ctx, store.SignInToken{
		UserID: userID, Purpose: purpose, Next: localPath(next), ExpiresAt: time.Now().Add(ttl),
	}, secret)
	if err != nil {
		return "", err
	}
	path := "/login/link/"
	if purpose == store.TokenReset {
		path = "/password/reset/"
	}
	return strings.TrimRight(baseURL, "/") + path + secret, nil
}
