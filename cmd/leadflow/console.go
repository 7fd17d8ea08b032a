package main

import (
	"log/slog"

	"leadflow/embed/console"
)

// newConsole builds the console on svc's store (the admin API's pool), with
// the SMTP server the nurture sender uses for its emails.
func newConsole(cfg Config, log *slog.Logger, svc *services) (*console.Console, error) {
	var mailer console.Mailer
	if cfg.SMTPURL != "" {
		sc, err := parseSMTPURL(cfg.SMTPURL)
		if err != nil {
			return nil, err
		}
		m, err := console.NewSMTPMailer(console.SMTP{Host: sc.Host, Port: sc.Port, Username: sc.Username, Password: sc.Password, TLS: sc.TLS})
		if err != nil {
			return nil, err
		}
		mailer = m
	}
	return console.New(console.Config{
		Store: svc.store, Redis: svc.rdb, BaseURL: cfg.BaseURL, Mailer: mailer, Logger: log,
		SessionIdle: cfg.Sessions.Idle, SessionMax: cfg.Sessions.Max,
		AttemptsPerAddress: cfg.Sessions.AttemptsPerAddress, AttemptsPerIP: cfg.Sessions.AttemptsPerIP,
	})
}
