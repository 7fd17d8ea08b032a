package storetest

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy forwards loopback connections to a real server (PostgreSQL, Redis,
// SMTP) and can take it away: Cut closes every connection it carries and
// refuses new ones, as a server that has gone away does, until Restore. It
// is how tests make a dependency absent without a mock.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns []net.Conn
	wg    sync.WaitGroup
}

// NewProxy starts a proxy to target (host:port), stopped when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.Cut()
		p.wg.Wait()
	})
	return p
}

// ProxyURL starts a proxy to the host of serverURL (a postgres:// or
// redis:// URL) and returns it with the URL pointed at the proxy.
func ProxyURL(t testing.TB, serverURL string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	p := NewProxy(t, u.Host)
	u.Host = p.Addr()
	return p, u.String()
}

// Addr is where clients connect.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		p.wg.Go(func() {
			up, err := net.Dial("tcp", p.target)
			if err != nil || !p.track(up) {
				c.Close()
				if up != nil {
					up.Close()
				}
				return
			}
			var pipes sync.WaitGroup
			pipes.Go(func() { io.Copy(up, c); up.Close() })
			pipes.Go(func() { io.Copy(c, up); c.Close() })
			pipes.Wait()
		})
	}
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	p.conns = append(p.conns, c)
	return true
}

// Cut takes the server away: open connections are closed, new ones refused.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Restore brings the server back.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}
