package main

import (
	"flag"
	"io"
	"strings"
	"testing"
)

// The SMTP pool size is a setting, checked at start against the worker
// concurrency: a send holds a worker while it waits for a connection.
func TestSMTPConnectionsCheckedAtStart(t *testing.T) {
	t.Parallel()
	parse := func(env map[string]string) (Config, error) {
		fs := flag.NewFlagSet("work", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		finish := configFlags(fs, envFunc(env))
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		return finish()
	}
	cfg, err := parse(map[string]string{})
	if err != nil || cfg.SMTPConnections != 4 || cfg.NurtureMaxAttempts != 10 {
		t.Fatalf("defaults: %d connections, %d attempts, %v; want 4, 10", cfg.SMTPConnections, cfg.NurtureMaxAttempts, err)
	}
	cfg, err = parse(map[string]string{"LEADFLOW_WORKER_CONCURRENCY": "2", "LEADFLOW_SMTP_CONNECTIONS": "2", "LEADFLOW_NURTURE_MAX_ATTEMPTS": "3"})
	if err != nil || cfg.SMTPConnections != 2 || cfg.NurtureMaxAttempts != 3 {
		t.Fatalf("2 connections for 2 workers: %+v, %v", cfg, err)
	}
	if s := cfg.String(); !strings.Contains(s, "smtp_connections=2") || !strings.Contains(s, "nurture_max_attempts=3") {
		t.Errorf("Config.String() = %s", s)
	}
	for env, want := range map[[2]string]string{
		{"2", "4"}:     "smtp connections (4) must not exceed the worker concurrency (2)",
		{"10", "0"}:    `smtp connections "0"`,
		{"10", "many"}: `smtp connections "many"`,
	} {
		_, err := parse(map[string]string{"LEADFLOW_WORKER_CONCURRENCY": env[0], "LEADFLOW_SMTP_CONNECTIONS": env[1]})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("concurrency %s, connections %s: %v; want an error saying %q", env[0], env[1], err, want)
		}
	}
}
