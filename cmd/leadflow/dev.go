package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"leadflow/deploy/local"
	"leadflow/nurture"
	"leadflow/qualify"
	"leadflow/store"
)

// Demo workspace content made by `leadflow dev` (idempotently).
const (
	demoWorkspace   = "demo"
	demoContactKey  = "contact"
	demoWebinarKey  = "webinar"
	demoDatabase    = "leadflow"
	demoHoneypot    = "website"
	demoEventName   = "Product webinar"
	demoEventSeats  = 100
	demoConsentText = "I agree to receive product news by email. I can unsubscribe at any time."
)

// cmdDev runs everything on private local services: PostgreSQL and Redis in
// --data-dir, a demo workspace with two forms, and leadflow itself, until
// interrupted.
func cmdDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	finish := configFlags(fs, getenv)
	dataDir := fs.String("data-dir", "./.leadflow", "where the private PostgreSQL and Redis keep their files")
	apiKey := fs.String("api-key", "", "use this admin API key for the demo workspace instead of a generated one")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := finish()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if *apiKey != "" {
		if err := validAPIKeySecret(*apiKey); err != nil {
			return fmt.Errorf("--api-key: %w", err)
		}
	}
	// Links in emails need the real address: choose the port now when the
	// caller let the system pick one.
	if host, port, err := net.SplitHostPort(cfg.Addr); err == nil && port == "0" {
		defaultBase := cfg.BaseURL == "http://"+cfg.Addr
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return fmt.Errorf("find a free port: %w", err)
		}
		cfg.Addr = ln.Addr().String()
		ln.Close()
		if defaultBase {
			cfg.BaseURL = "http://" + cfg.Addr
		}
	}
	log := newLogger(cfg, stderr)
	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}

	log.Info("dev_starting_postgres", "dir", filepath.Join(dir, "postgres"))
	pg, err := local.StartPostgres(ctx, filepath.Join(dir, "postgres"), local.PostgresOptions{Durable: true})
	if err != nil {
		return err
	}
	defer pg.Stop()
	cfg.DatabaseURL, err = ensureDatabase(ctx, pg.URL, demoDatabase)
	if err != nil {
		return err
	}

	redisURL, stopRedis, err := startDevRedis(ctx, filepath.Join(dir, "redis"), log)
	if err != nil {
		return err
	}
	defer stopRedis()
	cfg.RedisURL = redisURL

	sink, err := local.StartSMTPSink("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start the dev SMTP sink: %w", err)
	}
	defer sink.Close()
	if cfg.SMTPURL == "" {
		cfg.SMTPURL = "smtp://" + sink.Addr() + "?tls=none"
	}

	if cfg.SecretKey == "" {
		if cfg.SecretKey, err = local.SecretFile(filepath.Join(dir, "secret-key")); err != nil {
			return err
		}
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if _, err := st.MigrateUp(ctx, nil); err != nil {
		st.Close()
		return err
	}
	key, err := ensureDemo(ctx, st, dir, *apiKey)
	if err == nil {
		err = st.InTx(ctx, func(q *store.Queries) error { return ensureDemoNurtureAndSales(ctx, q, demoWorkspace) })
	}
	var people []demoPerson
	if err == nil {
		people, err = ensureDemoPeople(ctx, st, demoWorkspace)
	}
	st.Close()
	if err != nil {
		return err
	}

	mail := echo.WrapHandler(sink.Handler())
	return runWith(ctx, cfg, log, runOptions{
		serve: true, work: true,
		routes: func(e *echo.Echo) {
			e.GET("/dev/mail", mail)
			e.GET("/dev/mail/:n", mail)
		},
		onListen: func(addr string) {
			printDevBanner(stdout, "http://"+addr, key, cfg.DatabaseURL)
			printDemoPeople(stdout, "http://"+addr, people)
		},
	})
}

// ensureDatabase creates the named database on the server if missing and
// returns its URL.
func ensureDatabase(ctx context.Context, serverURL, name string) (string, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", fmt.Errorf("connect to dev postgres: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return "", fmt.Errorf("create database %s: %w", name, err)
		}
	}
	return strings.Replace(serverURL, "/postgres?", "/"+name+"?", 1), nil
}

// startDevRedis starts a private redis-server, or an in-process Redis where
// none is installed (Asynq runs on it; fine for trying leadflow out).
func startDevRedis(ctx context.Context, dir string, log *slog.Logger) (string, func(), error) {
	rd, err := local.StartRedis(ctx, dir, local.RedisOptions{})
	if err == nil {
		return rd.URL, func() { _ = rd.Stop() }, nil
	}
	if !errors.Is(err, local.ErrNoRedis) {
		return "", nil, err
	}
	log.Warn("dev_redis_not_installed_using_in_process_redis")
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return "", nil, fmt.Errorf("start in-process redis: %w", err)
	}
	return "redis://" + m.Addr() + "/0", m.Close, nil
}

// ensureDemo makes the demo workspace, its event and two forms, and an admin
// key (the chosen one, the one kept in dir/api-key, or a new one). It returns
// the key.
func ensureDemo(ctx context.Context, st *store.Store, dir, chosenKey string) (string, error) {
	ws, err := st.EnsureWorkspace(ctx, demoWorkspace)
	if err != nil {
		return "", err
	}
	if _, err := st.FormByKey(ctx, demoContactKey); errors.Is(err, store.ErrNotFound) {
		_, err = st.InsertForm(ctx, store.Form{
			WorkspaceID: ws.ID, Key: demoContactKey, Name: "Contact us", Kind: store.FormContactUs,
			HoneypotField: demoHoneypot, RateLimitPerMinute: 30, DefaultRegion: "US",
			Campaign: "website", MaxBodyBytes: 64 << 10, ConsentText: demoConsentText,
			AllowedOrigins: []string{}, AllowedReturnURLs: []string{}, FieldMapping: map[string]string{},
		})
		if err != nil {
			return "", fmt.Errorf("demo contact form: %w", err)
		}
	} else if err != nil {
		return "", err
	}
	if _, err := st.FormByKey(ctx, demoWebinarKey); errors.Is(err, store.ErrNotFound) {
		seats := demoEventSeats
		ev, err := st.InsertEvent(ctx, store.Event{WorkspaceID: ws.ID, Name: demoEventName, Capacity: &seats})
		if err != nil {
			return "", fmt.Errorf("demo event: %w", err)
		}
		_, err = st.InsertForm(ctx, store.Form{
			WorkspaceID: ws.ID, Key: demoWebinarKey, Name: "Webinar registration", Kind: store.FormEventRegistration,
			EventID: &ev.ID, HoneypotField: demoHoneypot, RateLimitPerMinute: 30, DefaultRegion: "US",
			Campaign: "webinar", MaxBodyBytes: 64 << 10, ConsentText: demoConsentText,
			AllowedOrigins: []string{}, AllowedReturnURLs: []string{}, FieldMapping: map[string]string{},
		})
		if err != nil {
			return "", fmt.Errorf("demo webinar form: %w", err)
		}
	} else if err != nil {
		return "", err
	}

	keyFile := filepath.Join(dir, "api-key")
	secret := chosenKey
	if secret == "" {
		if b, err := os.ReadFile(keyFile); err == nil {
			secret = strings.TrimSpace(string(b))
		}
	}
	if secret != "" {
		if _, err := st.APIKeyBySecret(ctx, secret); err == nil {
			return secret, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	} else {
		secret = newAPIKeySecret()
	}
	if _, err := createAPIKey(ctx, st, demoWorkspace, store.RoleAdmin, "dev", secret, ""); err != nil {
		return "", err
	}
	if chosenKey == "" {
		if err := os.WriteFile(keyFile, []byte(secret+"\n"), 0o600); err != nil {
			return "", err
		}
	}
	return secret, nil
}

func printDevBanner(w io.Writer, base, key, dbURL string) {
	fmt.Fprintf(w, `
leadflow is running at %[1]s   (Ctrl-C stops everything)

  contact-us form            POST %[1]s/f/%[2]s
  event-registration form    POST %[1]s/f/%[3]s
  admin API key (demo)       %[4]s
  emails sent (SMTP sink)    %[1]s/dev/mail
  database                   %[5]s

Post the demo form, then see the lead:
  curl -i -d first_name=Ada -d last_name=Lovelace -d email=ada@example.com -d company=Analytical %[1]s/f/%[2]s
  curl -H 'Authorization: Bearer %[4]s' %[1]s/api/v1/leads

`, base, demoContactKey, demoWebinarKey, key, redactURL(dbURL))
}

// ensureDemoNurtureAndSales gives the demo workspace what shows the whole
// path from a form to an opportunity: sending settings, a welcome sequence on
// the contact form, the seeded qualification criteria, and a sales team that
// every territory goes to. It does nothing once the workspace has templates.
func ensureDemoNurtureAndSales(ctx context.Context, q *store.Queries, workspace string) error {
	ws, err := q.EnsureWorkspace(ctx, workspace)
	if err != nil {
		return err
	}
	templates, err := q.ListTemplates(ctx, ws.ID, store.Page{Limit: 1})
	if err != nil || len(templates) > 0 {
		return err
	}
	settings := ws.WorkspaceSettings
	settings.SenderName, settings.SenderEmail = "Demo Marketing", "marketing@example.com"
	settings.PostalAddress = "1 Demo Street, Springfield, USA"
	if _, err := q.UpdateWorkspaceSettings(ctx, ws.ID, settings); err != nil {
		return err
	}
	welcome, err := q.InsertTemplate(ctx, store.Template{
		WorkspaceID: ws.ID, Name: "Welcome",
		Subject: "Welcome, {{first_name|there}}",
		HTMLBody: `<p>Hi {{first_name|there}},</p><p>Thanks for getting in touch about {{primary_interest|our products}}.` +
			` Our <a href="https://example.com/pricing">pricing page</a> has the details.</p>` +
			`<p>{{sender_name}}</p><p><a href="{{unsubscribe_url}}">Unsubscribe</a> · {{postal_address}}</p>`,
		TextBody: "Hi {{first_name|there}},\n\nThanks for getting in touch. Pricing: https://example.com/pricing\n\n" +
			"{{sender_name}}\nUnsubscribe: {{unsubscribe_url}}\n{{postal_address}}\n",
	})
	if err != nil {
		return fmt.Errorf("demo template: %w", err)
	}
	followUp, err := q.InsertTemplate(ctx, store.Template{
		WorkspaceID: ws.ID, Name: "Follow-up",
		Subject:  "{{first_name|Hello}}, a demo of {{primary_interest|leadflow}}?",
		HTMLBody: `<p>Hi {{first_name|there}}, would a short demo help? <a href="https://example.com/demo">Book one</a>.</p>`,
	})
	if err != nil {
		return fmt.Errorf("demo template: %w", err)
	}
	contact, err := q.FormByKey(ctx, demoContactKey)
	if err != nil {
		return err
	}
	steps, _ := json.Marshal([]nurture.Step{
		{Key: "welcome", Type: nurture.StepEmail, TemplateID: &welcome.ID},
		{Key: "pause", Type: nurture.StepWait, Duration: nurture.Duration(2 * time.Minute)},
		{Key: "follow_up", Type: nurture.StepEmail, TemplateID: &followUp.ID},
	})
	seq, err := q.InsertSequence(ctx, store.Sequence{
		WorkspaceID: ws.ID, Name: "Welcome", Timezone: "UTC", SendWindow: json.RawMessage(`{}`),
		ExitCriteria: slices.Clone(nurture.DefaultExitCriteria), TriggerFormIDs: []uuid.UUID{contact.ID}, Steps: steps,
	})
	if err != nil {
		return fmt.Errorf("demo sequence: %w", err)
	}
	if _, err := q.SetSequenceStatus(ctx, ws.ID, seq.ID, store.SequenceActive); err != nil {
		return err
	}
	if err := qualify.SeedCriteria(ctx, q, ws.ID); err != nil {
		return fmt.Errorf("demo criteria: %w", err)
	}
	manager, err := q.InsertUser(ctx, store.User{WorkspaceID: ws.ID, Name: "Morgan Manager", Email: "morgan@example.com", Role: store.UserSalesManager, Available: true})
	if err != nil {
		return err
	}
	rep, err := q.InsertUser(ctx, store.User{WorkspaceID: ws.ID, Name: "Sam Sales", Email: "sam@example.com", Role: store.UserSalesRep, Available: true})
	if err != nil {
		return err
	}
	team, err := q.InsertTeam(ctx, store.Team{WorkspaceID: ws.ID, Name: "Inside sales", ManagerID: &manager.ID})
	if err != nil {
		return err
	}
	if err := q.ReplaceTeamMembers(ctx, ws.ID, team.ID, []store.TeamMember{{UserID: rep.ID, Weight: 1}}); err != nil {
		return err
	}
	_, err = q.ReplaceAssignmentRules(ctx, ws.ID, []store.AssignmentRule{{WorkspaceID: ws.ID, Position: 1, TeamID: team.ID}})
	return err
}
