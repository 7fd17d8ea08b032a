package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/alicebob/miniredis/v2"
	"github.com/jackc/pgx/v5"

	"leadflow/deploy/local"
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
	st.Close()
	if err != nil {
		return err
	}

	return runWith(ctx, cfg, log, runOptions{serve: true, work: true, onListen: func(addr string) {
		printDevBanner(stdout, "http://"+addr, key, cfg.DatabaseURL)
	}})
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
	if _, err := createAPIKey(ctx, st, demoWorkspace, store.RoleAdmin, "dev", secret); err != nil {
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
  database                   %[5]s

Post the demo form, then see the lead:
  curl -i -d first_name=Ada -d last_name=Lovelace -d email=ada@example.com -d company=Analytical %[1]s/f/%[2]s
  curl -H 'Authorization: Bearer %[4]s' %[1]s/api/v1/leads

`, base, demoContactKey, demoWebinarKey, key, redactURL(dbURL))
}
