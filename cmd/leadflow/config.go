package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"leadflow/capture"
	"leadflow/nurture"
)

// Config is leadflow's whole configuration, parsed once.
type Config struct {
	DatabaseURL    string
	RedisURL       string
	Addr           string
	BaseURL        string
	SecretKey      string
	LogFormat      string
	LogLevel       string
	Concurrency    int
	SweepInterval  time.Duration
	TrustedProxies []netip.Prefix
	// WebhookAllowNetworks may be reached by webhooks although they are
	// loopback, private, link-local or reserved.
	WebhookAllowNetworks []netip.Prefix
	// SMTPURL is smtp://[user:password@]host[:port][?tls=starttls|tls|none].
	SMTPURL string
	// ResponseMaxAttempts is how many failed processing runs mark a response failed.
	ResponseMaxAttempts int
	// Links: the lifetimes of emailed links and the confirmation limits.
	Links linkConfig
	// Pools size the PostgreSQL pools, one per kind of work.
	Pools poolSettings
	// SMTPConnections is how many SMTP connections a worker process sends
	// on at once; at most Concurrency.
	SMTPConnections int
	// NurtureMaxAttempts is how many times a nurture step or message is
	// tried before it is marked failed.
	NurtureMaxAttempts int
	// Sessions: how long console sessions last.
	Sessions sessionConfig
	// MetricsAddr is where /metrics is served, apart from the public
	// address; empty: not served.
	MetricsAddr string
}

// minSecretKey is the shortest signing key accepted.
const minSecretKey = 32

// String prints the configuration with secrets redacted.
func (c Config) String() string {
	return fmt.Sprintf("database=%s redis=%s smtp=%s smtp_connections=%d nurture_max_attempts=%d addr=%s base_url=%s secret_key=%s log=%s/%s concurrency=%d sweep_interval=%s response_max_attempts=%d trusted_proxies=%v webhook_allow_networks=%v %s %s",
		redactURL(c.DatabaseURL), redactURL(c.RedisURL), redactURL(c.SMTPURL), c.SMTPConnections, c.NurtureMaxAttempts,
		c.Addr, c.BaseURL, redacted(c.SecretKey), c.LogFormat, c.LogLevel, c.Concurrency, c.SweepInterval, c.ResponseMaxAttempts, c.TrustedProxies, c.WebhookAllowNetworks, c.Links, c.Pools) + " " + c.Sessions.String() + " metrics_addr=" + cmp.Or(c.MetricsAddr, "(off)")
}

func redacted(s string) string {
	if s == "" {
		return "(unset)"
	}
	return "(set)"
}

// redactURL prints a connection string without its secrets, in either form
// PostgreSQL takes: a URL (password in the userinfo or in the query) or
// key=value pairs. Anything it cannot take apart prints as "(set)".
func redactURL(s string) string {
	if s == "" {
		return redacted(s)
	}
	if !strings.Contains(s, "://") {
		return redactKeyValueDSN(s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return redacted(s)
	}
	if q := u.Query(); len(q) > 0 {
		changed := false
		for name := range q {
			if secretDSNKeys[strings.ToLower(name)] {
				q.Set(name, "xxxxx")
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}

// secretDSNKeys are the connection settings that hold a secret.
var secretDSNKeys = map[string]bool{"password": true, "sslpassword": true}

// redactKeyValueDSN reads "host=db password='it\'s secret'" the way libpq
// does (spaces around '=', values single-quoted or not, backslash escapes)
// and prints it with every secret value replaced.
func redactKeyValueDSN(s string) string {
	var out []string
	for rest := strings.TrimSpace(s); rest != ""; rest = strings.TrimSpace(rest) {
		key, after, ok := strings.Cut(rest, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, " \t\n'\\") {
			return redacted(s)
		}
		var v string
		if v, rest, ok = dsnValue(strings.TrimLeft(after, " \t\n")); !ok {
			return redacted(s)
		}
		if secretDSNKeys[strings.ToLower(key)] {
			v = "xxxxx"
		} else if v == "" || strings.ContainsAny(v, " \t\n'\\") {
			v = "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
		}
		out = append(out, key+"="+v)
	}
	return strings.Join(out, " ")
}

// dsnValue reads one value from the start of s and returns it unescaped,
// with what follows it.
func dsnValue(s string) (value, rest string, ok bool) {
	quoted := strings.HasPrefix(s, "'")
	if quoted {
		s = s[1:]
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case quoted && c == '\'':
			return b.String(), s[i+1:], true
		case !quoted && (c == ' ' || c == '\t' || c == '\n'):
			return b.String(), s[i:], true
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), "", !quoted
}

// configFlags registers the shared configuration flags on fs, with defaults
// from the environment, and returns a function that finishes the Config after
// fs.Parse (reading *_FILE secrets and validating).
func configFlags(fs *flag.FlagSet, getenv func(string) string) func() (Config, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var c Config
	var proxies, concurrency, sweep, attempts, webhookNetworks, smtpConns, maxAttempts string
	fs.StringVar(&c.DatabaseURL, "database-url", getenv("LEADFLOW_DATABASE_URL"), "PostgreSQL URL (LEADFLOW_DATABASE_URL)")
	fs.StringVar(&c.RedisURL, "redis-url", getenv("LEADFLOW_REDIS_URL"), "Redis URL (LEADFLOW_REDIS_URL)")
	fs.StringVar(&c.SMTPURL, "smtp-url", getenv("LEADFLOW_SMTP_URL"), "where email goes: smtp://user:password@host:587?tls=starttls (LEADFLOW_SMTP_URL)")
	fs.StringVar(&c.Addr, "addr", env("LEADFLOW_ADDR", "127.0.0.1:8080"), "HTTP listen address (LEADFLOW_ADDR)")
	fs.StringVar(&c.BaseURL, "base-url", getenv("LEADFLOW_BASE_URL"), "public URL of this server, for links in emails (LEADFLOW_BASE_URL)")
	fs.StringVar(&c.LogFormat, "log-format", env("LEADFLOW_LOG_FORMAT", "text"), "text or json (LEADFLOW_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", env("LEADFLOW_LOG_LEVEL", "info"), "debug, info, warn or error (LEADFLOW_LOG_LEVEL)")
	fs.StringVar(&concurrency, "concurrency", env("LEADFLOW_WORKER_CONCURRENCY", "10"), "tasks run at once by this worker process (LEADFLOW_WORKER_CONCURRENCY)")
	fs.StringVar(&sweep, "sweep-interval", env("LEADFLOW_SWEEP_INTERVAL", capture.DefaultSweepInterval.String()), "how often dead workers' responses are queued again; pending responses are re-enqueued from PostgreSQL every 6th sweep (LEADFLOW_SWEEP_INTERVAL)")
	fs.StringVar(&attempts, "response-max-attempts", env("LEADFLOW_RESPONSE_MAX_ATTEMPTS", "10"), "failed processing runs after which a response is marked failed, 1 to 25 (LEADFLOW_RESPONSE_MAX_ATTEMPTS)")
	fs.StringVar(&smtpConns, "smtp-connections", env("LEADFLOW_SMTP_CONNECTIONS", "4"), "SMTP connections a worker process sends on at once, at most its concurrency (LEADFLOW_SMTP_CONNECTIONS)")
	fs.StringVar(&maxAttempts, "nurture-max-attempts", env("LEADFLOW_NURTURE_MAX_ATTEMPTS", "10"), "tries of a nurture step or message before it is marked failed (LEADFLOW_NURTURE_MAX_ATTEMPTS)")
	fs.StringVar(&proxies, "trusted-proxies", getenv("LEADFLOW_TRUSTED_PROXIES"), "comma-separated CIDRs whose X-Forwarded-For is believed (LEADFLOW_TRUSTED_PROXIES)")
	links := linkFlags(fs, env)
	sessions := sessionFlags(fs, env)
	finishPools := poolFlags(fs, getenv)
	finishMetrics := metricsFlags(fs, getenv)
	fs.StringVar(&webhookNetworks, "webhook-allow-networks", getenv("LEADFLOW_WEBHOOK_ALLOW_NETWORKS"), "comma-separated CIDRs or addresses webhooks may reach although loopback, private or link-local, e.g. 10.0.0.0/8 (LEADFLOW_WEBHOOK_ALLOW_NETWORKS)")
	return func() (Config, error) {
		var errs []error
		var err error
		if c.Links, err = links(); err != nil {
			errs = append(errs, err)
		}
		if c.Sessions, err = sessions(); err != nil {
			errs = append(errs, err)
		}
		// Secrets may come from files (Docker/Kubernetes secrets).
		if c.DatabaseURL, err = fromFile(c.DatabaseURL, getenv("LEADFLOW_DATABASE_URL_FILE")); err != nil {
			errs = append(errs, err)
		}
		if c.RedisURL, err = fromFile(c.RedisURL, getenv("LEADFLOW_REDIS_URL_FILE")); err != nil {
			errs = append(errs, err)
		}
		if c.SMTPURL, err = fromFile(c.SMTPURL, getenv("LEADFLOW_SMTP_URL_FILE")); err != nil {
			errs = append(errs, err)
		}
		if c.SecretKey, err = fromFile(getenv("LEADFLOW_SECRET_KEY"), getenv("LEADFLOW_SECRET_KEY_FILE")); err != nil {
			errs = append(errs, err)
		}
		if c.Concurrency, err = strconv.Atoi(concurrency); err != nil || c.Concurrency < 1 {
			errs = append(errs, fmt.Errorf("worker concurrency %q: want a whole number >= 1", concurrency))
		}
		if c.SMTPConnections, err = strconv.Atoi(smtpConns); err != nil || c.SMTPConnections < 1 {
			errs = append(errs, fmt.Errorf("smtp connections %q: want a whole number >= 1", smtpConns))
		} else if c.Concurrency >= 1 && c.SMTPConnections > c.Concurrency {
			// A send holds a worker while it waits for its connection and
			// claims its attempt only once it has one: connections beyond
			// the workers would never be used.
			errs = append(errs, fmt.Errorf("smtp connections (%d) must not exceed the worker concurrency (%d)", c.SMTPConnections, c.Concurrency))
		}
		if c.NurtureMaxAttempts, err = strconv.Atoi(maxAttempts); err != nil || c.NurtureMaxAttempts < 1 {
			errs = append(errs, fmt.Errorf("nurture max attempts %q: want a whole number >= 1", maxAttempts))
		}
		if c.SweepInterval, err = time.ParseDuration(sweep); err != nil || c.SweepInterval <= 0 {
			errs = append(errs, fmt.Errorf("sweep interval %q: want a positive duration such as 5s", sweep))
		}
		if c.ResponseMaxAttempts, err = strconv.Atoi(attempts); err != nil || c.ResponseMaxAttempts < 1 || c.ResponseMaxAttempts > 25 {
			errs = append(errs, fmt.Errorf("response max attempts %q: want a whole number from 1 to 25", attempts))
		}
		if c.Pools, err = finishPools(c.Concurrency); err != nil {
			errs = append(errs, err)
		}
		for _, p := range strings.Split(proxies, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			prefix, err := netip.ParsePrefix(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("trusted proxy %q: want a CIDR such as 10.0.0.0/8", p))
				continue
			}
			c.TrustedProxies = append(c.TrustedProxies, prefix)
		}
		for _, p := range strings.Split(webhookNetworks, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			prefix, err := parseNetwork(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("webhook allow network %q: want a CIDR such as 10.0.0.0/8 or an address such as 127.0.0.1", p))
				continue
			}
			c.WebhookAllowNetworks = append(c.WebhookAllowNetworks, prefix)
		}
		if c.MetricsAddr, err = finishMetrics(c.Addr); err != nil {
			errs = append(errs, err)
		}
		if c.BaseURL == "" {
			c.BaseURL = "http://" + c.Addr
		}
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("base url %q: want an absolute http(s) URL", c.BaseURL))
		}
		c.BaseURL = strings.TrimRight(c.BaseURL, "/")
		if c.SMTPURL != "" {
			if _, err := parseSMTPURL(c.SMTPURL); err != nil {
				errs = append(errs, err)
			}
		}
		if c.LogFormat != "text" && c.LogFormat != "json" {
			errs = append(errs, fmt.Errorf("log format %q: want text or json", c.LogFormat))
		}
		if _, err := parseLevel(c.LogLevel); err != nil {
			errs = append(errs, err)
		}
		return c, errors.Join(errs...)
	}
}

// parseNetwork reads a CIDR, or an address as the network of that address
// alone; an IPv4-mapped IPv6 form is taken as the IPv4 network it maps.
func parseNetwork(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, errors.New("mapped prefix shorter than /96")
		}
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96), nil
	}
	return p.Masked(), nil
}

// requireServices checks what serve, work and run need.
func (c Config) requireServices() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("LEADFLOW_DATABASE_URL (or --database-url) is required"))
	}
	if c.RedisURL == "" {
		errs = append(errs, errors.New("LEADFLOW_REDIS_URL (or --redis-url) is required"))
	}
	if len(c.SecretKey) < minSecretKey {
		errs = append(errs, fmt.Errorf("LEADFLOW_SECRET_KEY (or LEADFLOW_SECRET_KEY_FILE) must be at least %d characters: generate one with `openssl rand -hex 32`", minSecretKey))
	}
	return errors.Join(errs...)
}

func fromFile(value, path string) (string, error) {
	if path == "" {
		return value, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func newLogger(c Config, w io.Writer) *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// parseSMTPURL reads LEADFLOW_SMTP_URL. Without a tls parameter, port 465
// means implicit TLS, 25 and 1025 (local relays and sinks) none, and
// anything else STARTTLS.
func parseSMTPURL(raw string) (nurture.SMTPConfig, error) {
	bad := func(why string) (nurture.SMTPConfig, error) {
		return nurture.SMTPConfig{}, fmt.Errorf("smtp url (%s): want smtp://[user:password@]host[:port][?tls=starttls|tls|none]", why)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("cannot parse")
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return bad("scheme must be smtp or smtps")
	}
	if u.Hostname() == "" {
		return bad("no host")
	}
	c := nurture.SMTPConfig{Host: u.Hostname(), Port: 587}
	if u.Scheme == "smtps" {
		c.Port, c.TLS = 465, "tls"
	}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil || c.Port < 1 || c.Port > 65535 {
			return bad("bad port")
		}
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	switch tls := u.Query().Get("tls"); tls {
	case "starttls", "tls", "none":
		c.TLS = tls
	case "":
		if c.TLS == "" {
			c.TLS = map[int]string{465: "tls", 25: "none", 1025: "none"}[c.Port]
			if c.TLS == "" {
				c.TLS = "starttls"
			}
		}
	default:
		return bad("tls must be starttls, tls or none")
	}
	return c, nil
}
