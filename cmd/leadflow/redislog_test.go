package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"leadflow/store/storetest"
)

// TestRedisClientLogsAreJSON checks that go-redis's own log lines (a failed
// dial when Redis is absent) come out through leadflow's logger, so JSON logs
// stay JSON. Not parallel: go-redis's logger is process-wide, and a command
// started by a parallel test would take it over.
func TestRedisClientLogsAreJSON(t *testing.T) {
	// A port nothing listens on: Redis is absent.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	absent := ln.Addr().String()
	ln.Close()
	cmd := startCommand(t, map[string]string{
		"LEADFLOW_DATABASE_URL": storetest.DatabaseURL(t),
		"LEADFLOW_REDIS_URL":    "redis://" + absent + "/0",
		"LEADFLOW_SECRET_KEY":   strings.Repeat("k", 40),
		"LEADFLOW_ADDR":         "127.0.0.1:0",
		"LEADFLOW_LOG_FORMAT":   "json",
	}, "serve")
	waitFor(t, "go-redis's failed dial in the logs", 30*time.Second, func() bool {
		return cmd.running(t) && strings.Contains(cmd.stderr.String(), "failed to dial")
	})
	for line := range strings.Lines(cmd.stderr.String()) {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Errorf("a log line is not JSON: %q", line)
			continue
		}
		if strings.Contains(line, "failed to dial") && entry["msg"] != "redis_client" {
			t.Errorf("go-redis line has msg %v, want redis_client: %s", entry["msg"], line)
		}
	}
}
