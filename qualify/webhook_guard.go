package qualify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// Resolver looks up a host's addresses; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ErrWebhookAddressRefused: a webhook would reach an address that is
// loopback, private, link-local (cloud metadata among them) or otherwise
// reserved, and the operator has not allowed its network.
var ErrWebhookAddressRefused = errors.New("webhook address refused")

// webhookLookupTimeout bounds the look-up of a webhook's host when it is
// saved.
const webhookLookupTimeout = 5 * time.Second

// webhookGuard keeps webhooks away from the networks leadflow itself sits
// in. A URL is checked when it is saved, for a clear answer, and every
// connection again in the dialer, on the address actually dialed: a name
// that resolved to a public address when saved cannot later be pointed at
// an internal one (DNS rebinding).
type webhookGuard struct {
	ssrf     *ssrf.Guardian
	resolver Resolver
}

// newWebhookGuard refuses the IANA special-purpose ranges except the allowed
// prefixes. Any port is allowed: receivers listen where they like.
func newWebhookGuard(allow []netip.Prefix, resolver Resolver) *webhookGuard {
	var v4, v6 []netip.Prefix
	for _, p := range allow {
		if p.Addr().Is4() {
			v4 = append(v4, p.Masked())
		} else {
			v6 = append(v6, p.Masked())
		}
	}
	return &webhookGuard{
		ssrf: ssrf.New(ssrf.WithAnyPort(),
			ssrf.WithAllowedV4Prefixes(v4...), ssrf.WithAllowedV6Prefixes(v6...)),
		resolver: resolver,
	}
}

// refusedHostError is a saved URL's host that is, or resolves to, a
// refused address; it matches ErrWebhookAddressRefused.
type refusedHostError struct {
	host string
	addr netip.Addr
}

func (e *refusedHostError) Error() string {
	if e.host == e.addr.String() {
		return e.host + " is a loopback, private, link-local or reserved address"
	}
	return e.host + " resolves to " + e.addr.String() + ", a loopback, private, link-local or reserved address"
}

func (e *refusedHostError) Is(target error) bool { return target == ErrWebhookAddressRefused }

// allowed reports whether webhooks may reach a.
func (g *webhookGuard) allowed(a netip.Addr) bool { return g.ssrf.SafeAddr(a.Unmap()) == nil }

// checkHost resolves a URL's host and refuses it when any of its addresses
// is refused: the dialer may pick any of them. A host that does not resolve
// is not refused here; the dialer checks whatever it resolves to later.
func (g *webhookGuard) checkHost(ctx context.Context, u *url.URL) error {
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if !g.allowed(a) {
			return &refusedHostError{host: a.String(), addr: a.Unmap()}
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, webhookLookupTimeout)
	defer cancel()
	addrs, err := g.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if !g.allowed(a) {
			return &refusedHostError{host: host, addr: a.Unmap()}
		}
	}
	return nil
}

// control is the dialer's check of the address it is about to connect to.
func (g *webhookGuard) control(network, address string, c syscall.RawConn) error {
	if err := g.ssrf.Safe(network, address, c); err != nil {
		return fmt.Errorf("%w: %w", ErrWebhookAddressRefused, err)
	}
	return nil
}

// client is the HTTP client deliveries are posted with. It dials through
// the guard, ignores proxy settings (a proxy would connect on our behalf,
// past the guard) and follows no redirect: a webhook URL is where the
// receiver is, and a redirect must not carry the payload elsewhere. Each
// attempt's context bounds the whole exchange.
func (g *webhookGuard) client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: g.control}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: timeout,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
