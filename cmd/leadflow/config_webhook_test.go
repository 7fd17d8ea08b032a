package main

import (
	"flag"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConfigWebhookAllowNetworks(t *testing.T) {
	t.Parallel()
	parse := func(env map[string]string, args ...string) (Config, error) {
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		finish := configFlags(fs, func(k string) string { return env[k] })
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return finish()
	}
	c, err := parse(map[string]string{"LEADFLOW_WEBHOOK_ALLOW_NETWORKS": " 10.0.0.0/8, 127.0.0.1,::1 ,10.1.2.3/16, ::ffff:192.168.0.0/112"})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("192.168.0.0/16"),
	}
	if diff := cmp.Diff(want, c.WebhookAllowNetworks, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("allowed networks (-want +got):\n%s", diff)
	}
	if !strings.Contains(c.String(), "webhook_allow_networks=[10.0.0.0/8 127.0.0.1/32 ::1/128 10.1.0.0/16 192.168.0.0/16]") {
		t.Errorf("String() does not show the allowed networks: %s", c.String())
	}

	// The flag wins over the environment; nothing is allowed by default.
	if c, err := parse(map[string]string{"LEADFLOW_WEBHOOK_ALLOW_NETWORKS": "10.0.0.0/8"}, "--webhook-allow-networks", "172.16.0.0/12"); err != nil ||
		len(c.WebhookAllowNetworks) != 1 || c.WebhookAllowNetworks[0] != netip.MustParsePrefix("172.16.0.0/12") {
		t.Errorf("flag: %v, %v", c.WebhookAllowNetworks, err)
	}
	if c, err := parse(nil); err != nil || c.WebhookAllowNetworks != nil {
		t.Errorf("default: %v, %v; want none", c.WebhookAllowNetworks, err)
	}
	_, err = parse(map[string]string{"LEADFLOW_WEBHOOK_ALLOW_NETWORKS": "10.0.0.0/8,intranet"})
	if err == nil || !strings.Contains(err.Error(), `webhook allow network "intranet"`) {
		t.Errorf("bad network: %v", err)
	}
}
