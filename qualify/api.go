package qualify

import (
	"cmp"
	"errors"
	"log/slog"

	"github.com/labstack/echo/v4"

	"leadflow/store"
)

// APIConfig is what the qualify API needs.
type APIConfig struct {
	Engine *Engine
	Logger *slog.Logger
}

// API is the admin JSON API over scoring, criteria, qualification,
// handoffs and what sales works with. Every handler works in the workspace
// of the request's API key.
type API struct {
	engine *Engine
	store  *store.Store
	log    *slog.Logger
}

// NewAPI checks cfg and builds the API.
func NewAPI(cfg APIConfig) (*API, error) {
	if cfg.Engine == nil {
		return nil, errors.New("qualify api: missing Engine")
	}
	return &API{
		engine: cfg.Engine,
		store:  cfg.Engine.cfg.Store,
		log:    cmp.Or(cfg.Logger, cfg.Engine.log),
	}, nil
}

// APIRoutes registers the qualify API on g, which already authenticates the
// API key. require builds the role check; admin keys pass every check.
//
// Marketing sets scoring and, with sales, the criteria; inside sales records
// qualification calls.
func APIRoutes(g *echo.Group, api *API, require func(roles ...store.Role) echo.MiddlewareFunc) {
	marketing := require(store.RoleMarketing)
	sales := require(store.RoleSales)
	people := require(store.RoleMarketing, store.RoleSales)
	// Sales users, teams, assignment and webhooks: admin keys only (sales
	// managers are given one).
	admin := require()

	// Scoring rules and recompute jobs.
	g.GET("/scoring", api.getScoring, marketing)
	g.PUT("/scoring", api.putScoring, marketing)
	g.POST("/scoring/recompute", api.recomputeScores, marketing)
	g.GET("/scoring/jobs/:id", api.getScoreJob, marketing)

	// Qualification criteria, versioned; one version active.
	g.POST("/criteria", api.createCriteria, marketing)
	g.GET("/criteria", api.listCriteria, marketing)
	g.GET("/criteria/:id", api.getCriteria, marketing)
	g.POST("/criteria/:id/activate", api.activateCriteria, marketing)

	// Qualification of a lead: sales calls, and the decisions so far.
	g.POST("/leads/:id/qualification", api.recordCall, sales)
	g.GET("/leads/:id/qualification", api.getQualification, people)
	// Direct conversion by the lead's owner (or their manager, a sales
	// admin): what it would match, and the conversion.
	g.GET("/leads/:id/convert", api.previewConvert, sales)
	g.POST("/leads/:id/convert", api.convertLead, sales)

	// Who sales is and how leads reach them.
	g.POST("/users", api.createUser, admin)
	g.GET("/users", api.listUsers, admin)
	g.GET("/users/:id", api.getUser, admin)
	g.PATCH("/users/:id", api.updateUser, admin)
	g.POST("/teams", api.createTeam, admin)
	g.GET("/teams", api.listTeams, admin)
	g.GET("/teams/:id", api.getTeam, admin)
	g.PATCH("/teams/:id", api.updateTeam, admin)
	g.GET("/assignment", api.getAssignment, admin)
	g.PUT("/assignment", api.putAssignment, admin)
	g.POST("/webhooks", api.createWebhook, admin)
	g.GET("/webhooks", api.listWebhooks, admin)
	g.GET("/webhooks/:id", api.getWebhook, admin)
	g.DELETE("/webhooks/:id", api.deleteWebhook, admin)
	g.GET("/webhooks/:id/deliveries", api.listWebhookDeliveries, admin)

	// The sales inbox: handoffs with their history.
	g.GET("/handoffs", api.listHandoffs, people)
	g.GET("/handoffs/:id", api.getHandoff, people)
	// Sales decides on handoffs: accept converts, reject recycles; a
	// manager or a sales admin reassigns.
	g.POST("/handoffs/:id/accept", api.acceptHandoff, sales)
	g.POST("/handoffs/:id/reject", api.rejectHandoff, sales)
	g.POST("/handoffs/:id/reassign", api.reassignHandoff, sales)

	// Accounts and opportunities: sales works them, and makes opportunities
	// from scratch; in_forecast is a sales admin's.
	g.GET("/accounts", api.listAccounts, people)
	g.GET("/accounts/:id", api.getAccount, people)
	g.GET("/opportunities", api.listOpportunities, people)
	g.POST("/opportunities", api.createOpportunity, sales)
	g.GET("/opportunities/:id", api.getOpportunity, people)
	g.PATCH("/opportunities/:id", api.updateOpportunity, sales)

	// The funnel, for marketing and sales alike.
	g.GET("/reports/funnel", api.funnelReport, people)
}

// apiMaxBody bounds a request body; rules and criteria are small.
const apiMaxBody = 1 << 20
