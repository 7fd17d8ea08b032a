package main

import (
	"context"
	"strings"
	"testing"
)

// TestBenchChecksAndReportsEveryMeasure runs `leadflow bench` with tiny
// numbers: it starts its own PostgreSQL, Redis and SMTP sink, loads leads,
// posts forms over HTTP, waits for every lead and email, advances the
// enrolments, and must report every measure with each no-loss/no-double
// check run and held. Speed is never asserted.
func TestBenchChecksAndReportsEveryMeasure(t *testing.T) {
	t.Parallel()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	err := run(context.Background(), []string{"bench", "--leads", "2000", "--enrolments", "200", "--duration", "1s",
		"--posts", "300"}, envFunc(nil), stdout, stderr)
	out := stdout.String()
	if err != nil {
		t.Fatalf("bench: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	for _, row := range []string{
		"| measure | figure | goal |",
		"| committed form posts, 32 connections |",
		"| committed form posts, 128 connections |",
		"| responses resolved (during and after the runs above) |",
		"| submit-to-lead at 1,000 posts/s",
		"| welcome emails into the SMTP sink, capture loaded |",
		"| email due-to-sent |",
		"| enrolments advanced one step, due at",
		"| scheduler lag |",
		"| peak RSS (VmHWM) of the process |",
	} {
		if !strings.Contains(out, row) {
			t.Errorf("table has no row %q:\n%s", row, out)
		}
	}
	for _, check := range []string{
		"- every 2xx is one response: ok (",
		"- each response has one lead: ok (",
		"- each new lead enrolled once: ok (",
		"- each enrolment step sent once: ok (",
		"- each enrolment advanced once: ok (200 enrolments, 200 runs of their step, 200 distinct, 200 now at the next step)",
	} {
		if !strings.Contains(out, check) {
			t.Errorf("check %q did not run or did not hold:\n%s", check, out)
		}
	}
	if strings.Contains(out, "FAILED") {
		t.Errorf("a check failed:\n%s", out)
	}
}

// TestBenchRefusesBadSizes: sizes that cannot make a run are refused before
// anything starts.
func TestBenchRefusesBadSizes(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"bench", "--leads", "0"},
		{"bench", "--leads", "100", "--enrolments", "200"},
		{"bench", "--duration", "-1s"},
	} {
		stdout, stderr := &syncBuffer{}, &syncBuffer{}
		err := run(context.Background(), args, envFunc(nil), stdout, stderr)
		if err == nil || stdout.String() != "" {
			t.Errorf("%v: err %v, stdout %q; want a refusal and nothing printed", args, err, stdout.String())
		}
	}
}
