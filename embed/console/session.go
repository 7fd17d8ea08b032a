package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Cookie names: the __Host- prefix makes a browser refuse the cookie unless
// it is Secure, host-only and for path /, so no sibling subdomain or plain
// HTTP page can plant or shadow it. Without TLS the prefix is not allowed.
const (
	cookieSecure = "__Host-leadflow_session"
	cookiePlain  = "leadflow_session"
)

// CSRFField is the form field (and CSRFHeader the header) that carries the
// session's CSRF token.
const (
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

// sessionKey is where authenticate puts the signed-in person.
const sessionKey = "console.session"

// newSecret is 32 random bytes, URL-safe.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// isSecure tells whether cookies must be Secure: the base URL is https
// (TLS ends at a proxy) or this request came over TLS.
func (c *Console) isSecure(r *http.Request) bool { return c.secure || r.TLS != nil }

func (c *Console) cookieName(r *http.Request) string {
	if c.isSecure(r) {
		return cookieSecure
	}
	return cookiePlain
}

// startSession signs p in: a new session in PostgreSQL and its cookie.
func (c *Console) startSession(ec echo.Context, p store.Person) error {
	secret := newSecret()
	r := ec.Request()
	// A session the browser already had is ended, not kept beside the new
	// one: whoever planted or copied that cookie gains nothing.
	if old, ok := c.sessionSecret(r); ok {
		if err := c.store.DeleteSession(r.Context(), old); err != nil {
			return fmt.Errorf("start session: %w", err)
		}
	}
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	err := c.store.InsertSession(r.Context(), store.NewSession{
		UserID: p.ID, CSRFToken: newSecret(), ExpiresAt: time.Now().Add(c.cfg.SessionMax),
		UserAgent: ua, IP: ec.RealIP(),
	}, secret, c.cfg.SessionIdle)
	if err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	ec.SetCookie(&http.Cookie{
		Name: c.cookieName(r), Value: secret, Path: "/", MaxAge: int(c.cfg.SessionMax.Seconds()),
		HttpOnly: true, Secure: c.isSecure(r), SameSite: http.SameSiteLaxMode,
	})
	c.log.Info("console_signed_in", "user_id", p.ID, "workspace_id", p.WorkspaceID)
	return nil
}

func (c *Console) clearCookie(ec echo.Context) {
	r := ec.Request()
	ec.SetCookie(&http.Cookie{
		Name: c.cookieName(r), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: c.isSecure(r), SameSite: http.SameSiteLaxMode,
	})
}

// sessionSecret is the request's session cookie, if any.
func (c *Console) sessionSecret(r *http.Request) (string, bool) {
	ck, err := r.Cookie(c.cookieName(r))
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return "", false
	}
	return ck.Value, true
}

// authenticate reads the session and puts its person, and the principal the
// domains take, on the request. A page asked for without one sends the
// browser to sign in and come back; anything else is refused.
func (c *Console) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		r := ec.Request()
		secret, ok := c.sessionSecret(r)
		var sp store.SessionPerson
		if ok {
			var err error
			sp, err = c.store.SessionBySecret(r.Context(), secret, c.cfg.SessionIdle)
			switch {
			case errors.Is(err, store.ErrNotFound):
				ok = false
			case err != nil:
				return fmt.Errorf("read session: %w", err)
			}
		}
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				return ec.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(r.URL.RequestURI()))
			}
			return c.renderError(ec, http.StatusForbidden, "You are not signed in, or your session has ended. Sign in and try again.")
		}
		ec.Set(sessionKey, sp)
		ec.SetRequest(r.WithContext(httpapi.WithPrincipal(r.Context(), principalOf(sp.Person))))
		// Pages show a person's data: never keep them in a shared cache.
		ec.Response().Header().Set("Cache-Control", "no-store")
		return next(ec)
	}
}

// principalOf is the principal a person acts as: the API role of theirs,
// so a page may do exactly what the API lets that role do.
func principalOf(p store.Person) httpapi.Principal {
	role := store.RoleSales
	switch p.Role {
	case store.UserAdmin:
		role = store.RoleAdmin
	case store.UserMarketing:
		role = store.RoleMarketing
	}
	return httpapi.Principal{UserID: p.ID, WorkspaceID: p.WorkspaceID, Role: role}
}

// SignedIn is the person a console request is signed in as.
func SignedIn(ec echo.Context) (store.Person, bool) {
	sp, ok := ec.Get(sessionKey).(store.SessionPerson)
	return sp.Person, ok
}

func csrfToken(ec echo.Context) string {
	sp, _ := ec.Get(sessionKey).(store.SessionPerson)
	return sp.CSRFToken
}

// unsafeMethod tells the methods that change state.
func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// checkCSRF refuses a state-changing request that does not carry its
// session's CSRF token. The token lives in the session row, so it holds
// across serve processes and dies with the session; a form carries it in a
// hidden field, a script in the header.
func (c *Console) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		if !unsafeMethod(ec.Request().Method) {
			return next(ec)
		}
		want := csrfToken(ec)
		got := ec.Request().Header.Get(CSRFHeader)
		if got == "" {
			got = ec.FormValue(CSRFField)
		}
		if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			c.log.Warn("console_csrf_refused", "path", ec.Request().URL.Path)
			return c.renderError(ec, http.StatusForbidden, "This form has expired or did not come from this site. Go back, reload the page and try again.")
		}
		return next(ec)
	}
}

// sameOrigin refuses a state-changing request that a browser says comes
// from another site (Sec-Fetch-Site, or an Origin of another host): the
// sign-in forms have no session token yet, and this stops another site
// signing a visitor in to an account of its choosing.
func (c *Console) sameOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		r := ec.Request()
		if !unsafeMethod(r.Method) {
			return next(ec)
		}
		// Browsers that send Sec-Fetch-Site say it outright; for others an
		// Origin of another host gives the request away.
		switch site := r.Header.Get("Sec-Fetch-Site"); site {
		case "same-origin", "none":
		case "":
			if o := r.Header.Get(echo.HeaderOrigin); o != "" && o != "null" {
				u, err := url.Parse(o)
				if err != nil || (!strings.EqualFold(u.Host, r.Host) && !strings.EqualFold(u.Host, c.baseHost)) {
					return c.renderError(ec, http.StatusForbidden, "This form did not come from this site.")
				}
			}
		default:
			return c.renderError(ec, http.StatusForbidden, "This form did not come from this site.")
		}
		return next(ec)
	}
}

// Require lets through a person whose role is one of roles; admins may use
// every page. Anyone else gets 403.
func (c *Console) Require(roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ec echo.Context) error {
			p, ok := SignedIn(ec)
			if !ok || !allowed(p.Role, roles) {
				return c.renderError(ec, http.StatusForbidden, "Your role does not give you this page.")
			}
			return next(ec)
		}
	}
}

func allowed(role string, roles []string) bool {
	return role == store.UserAdmin || len(roles) == 0 || slices.Contains(roles, role)
}
