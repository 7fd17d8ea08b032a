package console

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
)

// Email is one message to a person: plain text, for a person to read and
// act on (a link to follow).
type Email struct {
	FromName, From string
	To             string
	Subject, Text  string
}

// Mailer sends an Email now.
type Mailer interface {
	Send(ctx context.Context, m Email) error
}

// SMTP is the SMTP server emails go through: the same settings as the
// nurture sender (LEADFLOW_SMTP_URL).
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	// TLS is "none", "starttls" or "tls".
	TLS string
	// Timeout bounds the dial and the message's SMTP transaction (30s).
	Timeout time.Duration
}

// SMTPMailer sends each email on a connection of its own: these emails are
// few (a sign-in, an invitation), so no pool is kept open for them.
type SMTPMailer struct {
	opts []mail.Option
	host string
}

// NewSMTPMailer checks cfg and returns its mailer.
func NewSMTPMailer(cfg SMTP) (*SMTPMailer, error) {
	if cfg.Host == "" {
		return nil, errors.New("console: smtp host is required")
	}
	opts := []mail.Option{mail.WithPort(cmp.Or(cfg.Port, 587)), mail.WithTimeout(cmp.Or(cfg.Timeout, 30*time.Second))}
	switch strings.ToLower(cfg.TLS) {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "starttls", "":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		return nil, fmt.Errorf("console: SMTP TLS %q: want none, starttls or tls", cfg.TLS)
	}
	if cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	// Checked once here, so Send fails only on the network.
	if _, err := mail.NewClient(cfg.Host, opts...); err != nil {
		return nil, fmt.Errorf("console: SMTP client: %w", err)
	}
	return &SMTPMailer{opts: opts, host: cfg.Host}, nil
}

// Send delivers m.
func (s *SMTPMailer) Send(ctx context.Context, m Email) error {
	msg := mail.NewMsg()
	if err := msg.FromFormat(m.FromName, m.From); err != nil {
		return fmt.Errorf("email sender: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("email recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	c, err := mail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send email: %w", err)
	}
	return nil
}
