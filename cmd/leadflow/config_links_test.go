package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"leadflow/nurture"
)

func parseLinkConfig(t *testing.T, env map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	finish := configFlags(fs, envFunc(env))
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	return finish()
}

func TestLinkSettings(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	c, err := parseLinkConfig(t, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	want := linkConfig{LinkTTL: 180 * day, UnsubscribeTTL: 730 * day, ConfirmPerAddress: 3, ConfirmPerIP: 20}
	if diff := cmp.Diff(want, c.Links); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if !strings.Contains(c.String(), "link_ttl=180d unsubscribe_ttl=730d confirm_limit=3/address,20/ip") {
		t.Errorf("String() = %s", c.String())
	}
	c, err = parseLinkConfig(t, map[string]string{
		"LEADFLOW_LINK_TTL": "30d", "LEADFLOW_UNSUBSCRIBE_TTL": "400d",
		"LEADFLOW_CONFIRM_LIMIT_PER_ADDRESS": "0", "LEADFLOW_CONFIRM_LIMIT_PER_IP": "50",
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(nurture.ConfirmLimit{PerAddress: -1, PerIP: 50}, c.Links.confirmLimit()); diff != "" {
		t.Errorf("confirm limit (-want +got):\n%s", diff)
	}
	if c.Links.LinkTTL != 30*day || c.Links.UnsubscribeTTL != 400*day {
		t.Errorf("lifetimes %s, %s", c.Links.LinkTTL, c.Links.UnsubscribeTTL)
	}
	_, err = parseLinkConfig(t, map[string]string{
		"LEADFLOW_LINK_TTL": "0s", "LEADFLOW_UNSUBSCRIBE_TTL": "364d",
		"LEADFLOW_CONFIRM_LIMIT_PER_ADDRESS": "-1", "LEADFLOW_CONFIRM_LIMIT_PER_IP": "many",
	})
	for _, want := range []string{"link ttl", "unsubscribe ttl", "per address", "per ip"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}
