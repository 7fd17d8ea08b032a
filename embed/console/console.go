package console

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"leadflow/store"
)

// Defaults of Config.
const (
	DefaultSessionIdle = 12 * time.Hour
	DefaultSessionMax  = 7 * 24 * time.Hour
	// DefaultLinkTTL is how long an emailed sign-in link works.
	DefaultLinkTTL = 15 * time.Minute
	// DefaultResetTTL is how long a password reset link works.
	DefaultResetTTL = time.Hour
	// DefaultInviteTTL is how long an invitation (or the link `leadflow
	// user create` prints) works.
	DefaultInviteTTL = 7 * 24 * time.Hour
	// DefaultAttemptsPerAddress and DefaultAttemptsPerIP bound sign-in
	// attempts (passwords, link and reset requests) per AttemptWindow.
	DefaultAttemptsPerAddress = 10
	DefaultAttemptsPerIP      = 100
	DefaultAttemptWindow      = 15 * time.Minute
)

// Config is what a Console needs.
type Config struct {
	Store *store.Store
	// Redis keeps the sign-in rate limits, shared by every serve process.
	Redis redis.UniversalClient
	// BaseURL is where browsers reach leadflow; emailed links are absolute
	// URLs on it, and an https one makes cookies Secure.
	BaseURL string
	// Mailer sends sign-in, reset and invitation emails; nil when no SMTP
	// server is configured (the emails then fail and say so in the log).
	Mailer Mailer
	Logger *slog.Logger
	// SessionIdle ends a session unused for this long; SessionMax ends any
	// session this long after sign-in.
	SessionIdle, SessionMax      time.Duration
	LinkTTL, ResetTTL, InviteTTL time.Duration
	// AttemptsPerAddress and AttemptsPerIP are how many sign-in attempts one
	// address, and one client IP, may make per AttemptWindow.
	AttemptsPerAddress, AttemptsPerIP int
	AttemptWindow                     time.Duration
	// PasswordParams are argon2id's costs (argon2id.DefaultParams when nil).
	PasswordParams *argon2id.Params
}

// Console serves sign-in and the console's shell.
type Console struct {
	cfg      Config
	store    *store.Store
	log      *slog.Logger
	baseURL  string
	baseHost string
	secure   bool
	limiter  *limiter
	hasher   hasher
	outbox   *outbox
	style    asset
	script   asset
	pages    pages
	navItems []navItem
	// homes are the home pages of the roles that have one of their own.
	homes map[string]echo.HandlerFunc
}

// New checks cfg, applies its defaults and parses the templates.
func New(cfg Config) (*Console, error) {
	if cfg.Store == nil {
		return nil, errors.New("console: store is required")
	}
	if cfg.Redis == nil {
		return nil, errors.New("console: redis is required")
	}
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("console: base url %q: want an absolute http(s) URL", cfg.BaseURL)
	}
	cfg.SessionIdle = cmp.Or(cfg.SessionIdle, DefaultSessionIdle)
	cfg.SessionMax = cmp.Or(cfg.SessionMax, DefaultSessionMax)
	cfg.LinkTTL = cmp.Or(cfg.LinkTTL, DefaultLinkTTL)
	cfg.ResetTTL = cmp.Or(cfg.ResetTTL, DefaultResetTTL)
	cfg.InviteTTL = cmp.Or(cfg.InviteTTL, DefaultInviteTTL)
	cfg.AttemptsPerAddress = cmp.Or(cfg.AttemptsPerAddress, DefaultAttemptsPerAddress)
	cfg.AttemptsPerIP = cmp.Or(cfg.AttemptsPerIP, DefaultAttemptsPerIP)
	cfg.AttemptWindow = cmp.Or(cfg.AttemptWindow, DefaultAttemptWindow)
	if cfg.SessionIdle < 0 || cfg.SessionMax < 0 || cfg.SessionIdle > cfg.SessionMax {
		return nil, errors.New("console: session idle expiry must be positive and at most the absolute expiry")
	}
	if cfg.AttemptsPerAddress < 0 || cfg.AttemptsPerIP < 0 || cfg.AttemptWindow < 0 {
		return nil, errors.New("console: attempt limits cannot be negative")
	}
	log := cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	pg, err := parsePages()
	if err != nil {
		return nil, err
	}
	h, err := newHasher(cmp.Or(cfg.PasswordParams, argon2id.DefaultParams))
	if err != nil {
		return nil, err
	}
	return &Console{
		cfg:      cfg,
		store:    cfg.Store,
		log:      log,
		baseURL:  u.String(),
		baseHost: u.Host,
		secure:   u.Scheme == "https",
		limiter:  newLimiter(cfg.Redis, log, cfg.AttemptsPerAddress, cfg.AttemptsPerIP, cfg.AttemptWindow),
		hasher:   h,
		outbox:   newOutbox(log),
		style:    newAsset("console", "css", "text/css; charset=utf-8", styleCSS),
		script:   newAsset("console", "js", "text/javascript; charset=utf-8", scriptJS),
		pages:    pg,
		homes:    map[string]echo.HandlerFunc{},
		navItems: []navItem{
			{Label: "Home", Path: "/console/"},
			{Label: "Funnel", Path: "/console/funnel", Roles: []string{store.UserMarketing, store.UserSalesRep, store.UserSalesManager, store.UserSalesAdmin}},
			{Label: "Scoring", Path: "/console/scoring", Roles: []string{store.UserMarketing}},
			{Label: "Criteria", Path: "/console/criteria", Roles: []string{store.UserMarketing}},
			{Label: "Templates", Path: "/console/templates", Roles: []string{store.UserMarketing}},
			{Label: "Sequences", Path: "/console/sequences", Roles: []string{store.UserMarketing}},
			{Label: "Failed sends", Path: "/console/nurture/failed", Roles: []string{store.UserMarketing}},
			{Label: "Suppressions", Path: "/console/suppressions", Roles: []string{store.UserMarketing}},
			{Label: "People", Path: "/console/people", Roles: []string{store.UserAdmin}},
			{Label: "Workspace", Path: "/console/workspace", Roles: []string{store.UserAdmin}},
			{Label: "Teams", Path: "/console/teams", Roles: []string{store.UserAdmin}},
			{Label: "Assignment", Path: "/console/assignment", Roles: []string{store.UserAdmin}},
			{Label: "Webhooks", Path: "/console/webhooks", Roles: []string{store.UserAdmin}},
			{Label: "API keys", Path: "/console/api-keys", Roles: []string{store.UserAdmin}},
		},
	}, nil
}

// Nav adds a page to the navigation, shown to roles (to every role when
// none is named; admins see every page). Pair it with Require on the page's
// routes, so a page not shown is not reachable either. Call it before
// serving.
func (c *Console) Nav(label, path string, roles ...string) {
	it := navItem{Label: label, Path: path, Roles: roles}
	// Everyday pages first, the admin's own pages last.
	i := slices.IndexFunc(c.navItems, func(n navItem) bool { return slices.Equal(n.Roles, []string{store.UserAdmin}) })
	if i < 0 || slices.Equal(roles, []string{store.UserAdmin}) {
		c.navItems = append(c.navItems, it)
		return
	}
	c.navItems = slices.Insert(c.navItems, i, it)
}

// Home makes h the home page (/console/) of roles, in place of the page
// listing their jobs: the domain whose work a role does most decides what
// it sees first. Only the console's home is replaced: a sign-in that asked
// for another page still lands there. Call it before serving.
func (c *Console) Home(h echo.HandlerFunc, roles ...string) {
	for _, r := range roles {
		c.homes[r] = h
	}
}

// SeeOther is a home that is another page: it redirects there (303).
func SeeOther(path string) echo.HandlerFunc {
	return func(ec echo.Context) error { return ec.Redirect(http.StatusSeeOther, path) }
}

// Routes registers sign-in and the console's pages on e, and returns the
// group (/console, signed in, CSRF-checked) other pages mount on.
func (c *Console) Routes(e *echo.Echo) *echo.Group {
	e.GET(c.style.path, c.style.serve)
	e.GET(c.script.path, c.script.serve)

	// Signing in and out; every post here refuses cross-site requests.
	e.GET("/login", c.loginPage)
	e.POST("/login", c.login, c.sameOrigin)
	e.GET("/login/link", c.linkRequestPage)
	e.POST("/login/link", c.sendLink, c.sameOrigin)
	e.GET("/login/link/:token", c.linkPage)
	e.POST("/login/link/:token", c.useLink, c.sameOrigin)
	e.GET("/password/reset", c.resetRequestPage)
	e.POST("/password/reset", c.sendReset, c.sameOrigin)
	e.GET("/password/reset/:token", c.resetPage)
	e.POST("/password/reset/:token", c.reset, c.sameOrigin)
	e.POST("/logout", c.logout, c.sameOrigin, c.authenticate, c.checkCSRF)

	g := e.Group("/console", c.sameOrigin, c.authenticate, c.checkCSRF)
	g.GET("", c.home)
	g.GET("/", c.home)
	admin := c.Require(store.UserAdmin)
	g.GET("/people", c.people, admin)
	g.POST("/people", c.invite, admin)
	g.POST("/people/:id/role", c.changeRole, admin)
	g.POST("/people/:id/deactivate", c.deactivate, admin)
	g.POST("/people/:id/reactivate", c.reactivate, admin)
	g.GET("/api-keys", c.apiKeys, admin)
	g.POST("/api-keys", c.createAPIKey, admin)
	g.POST("/api-keys/:id/revoke", c.revokeAPIKey, admin)
	return g
}
