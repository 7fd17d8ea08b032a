package console

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"leadflow/store"
)

// errNoMailer: no SMTP server is configured.
var errNoMailer = errors.New("no SMTP server is configured (LEADFLOW_SMTP_URL)")

// send emails p. The sender is the workspace's own when it has one set.
func (c *Console) send(ctx context.Context, p store.Person, subject, text string) error {
	if c.cfg.Mailer == nil {
		return errNoMailer
	}
	ws, err := c.store.GetWorkspace(ctx, p.WorkspaceID)
	if err != nil {
		return fmt.Errorf("email sender: %w", err)
	}
	from, name := ws.SenderEmail, ws.SenderName
	if from == "" {
		from = "no-reply@" + c.mailHost()
	}
	if name == "" {
		name = "leadflow"
	}
	return c.cfg.Mailer.Send(ctx, Email{FromName: name, From: from, To: p.Email, Subject: subject, Text: text})
}

func (c *Console) mailHost() string {
	if u, err := url.Parse(c.baseURL); err == nil && u.Hostname() != "" && strings.Contains(u.Hostname(), ".") {
		return u.Hostname()
	}
	return "leadflow.invalid"
}

func (c *Console) sendSignInEmail(ctx context.Context, p store.Person, next string) error {
	link, err := NewLink(ctx, c.store.Queries, c.baseURL, p.ID, store.TokenSignIn, c.cfg.LinkTTL, next)
	if err != nil {
		return err
	}
	return c.send(ctx, p, "Your leadflow sign-in link", fmt.Sprintf(`Hello %s,

Follow this link to sign in to leadflow (workspace %s):

%s

It works once, for %s. If you did not ask for it, ignore this email.
`, p.Name, p.WorkspaceName, link, humanDuration(c.cfg.LinkTTL)))
}

func (c *Console) sendResetEmail(ctx context.Context, p store.Person) error {
	link, err := NewLink(ctx, c.store.Queries, c.baseURL, p.ID, store.TokenReset, c.cfg.ResetTTL, "")
	if err != nil {
		return err
	}
	return c.send(ctx, p, "Choose a new leadflow password", fmt.Sprintf(`Hello %s,

Follow this link to choose a new password for leadflow (workspace %s):

%s

It works once, for %s. If you did not ask for it, ignore this email: your
password stays as it is.
`, p.Name, p.WorkspaceName, link, humanDuration(c.cfg.ResetTTL)))
}

func (c *Console) sendInvitation(ctx context.Context, p store.Person, from store.Person) error {
	link, err := NewLink(ctx, c.store.Queries, c.baseURL, p.ID, store.TokenInvite, c.cfg.InviteTTL, "")
	if err != nil {
		return err
	}
	return c.send(ctx, p, from.Name+" invited you to leadflow", fmt.Sprintf(`Hello %s,

%s invited you to the %s workspace of leadflow, as %s.

Follow this link to sign in:

%s

It works once, for %s. Once in, you can choose a password from
%s/password/reset to sign in with it next time.
`, p.Name, from.Name, p.WorkspaceName, roleLabel(p.Role), link, humanDuration(c.cfg.InviteTTL), c.baseURL))
}

func humanDuration(d time.Duration) string {
	m := int(d.Minutes())
	switch {
	case m%(24*60) == 0 && m >= 24*60:
		return fmt.Sprintf("%d days", m/(24*60))
	case m%60 == 0 && m >= 60:
		return fmt.Sprintf("%d hour(s)", m/60)
	}
	return fmt.Sprintf("%d minutes", m)
}
