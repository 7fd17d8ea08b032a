package qualify

import (
	"cmp"
	"errors"
	"html/template"
	"log/slog"

	"github.com/labstack/echo/v4"

	"leadflow/embed/console"
	"leadflow/store"
)

// PagesConfig is what the qualify console pages need.
type PagesConfig struct {
	Engine  *Engine
	Console *console.Console
	Logger  *slog.Logger
}

// Pages are qualify's console pages: sales' handoffs and opportunities.
// They call the engine's methods the API calls, with the same role rules.
type Pages struct {
	engine *Engine
	store  *store.Store
	con    *console.Console
	log    *slog.Logger
	tpl    pageTemplates
}

type pageTemplates struct {
	handoffs, handoff, opportunities, board, opportunity, qualification *template.Template
	accounts, account, opportunityNew, convert                          *template.Template
}

// NewPages checks cfg and parses the templates.
func NewPages(cfg PagesConfig) (*Pages, error) {
	if cfg.Engine == nil || cfg.Console == nil {
		return nil, errors.New("qualify pages: missing Engine or Console")
	}
	p := &Pages{engine: cfg.Engine, store: cfg.Engine.cfg.Store, con: cfg.Console, log: cmp.Or(cfg.Logger, cfg.Engine.log)}
	var errs []error
	parse := func(name, src string, partials ...string) *template.Template {
		t, err := console.Page(name, src)
		for _, partial := range partials {
			if err == nil {
				_, err = t.Parse(partial)
			}
		}
		errs = append(errs, err)
		return t
	}
	p.tpl = pageTemplates{
		handoffs:       parse("handoffs", handoffsHTML),
		handoff:        parse("handoff", handoffHTML, opportunityFieldsHTML),
		opportunities:  parse("opportunities", opportunitiesHTML),
		board:          parse("opportunity_board", opportunityBoardHTML),
		opportunity:    parse("opportunity", opportunityHTML),
		qualification:  parse("qualification", qualificationHTML),
		accounts:       parse("accounts", accountsHTML),
		account:        parse("account", accountHTML),
		opportunityNew: parse("opportunity_new", opportunityNewHTML),
		convert:        parse("convert", convertHTML, opportunityFieldsHTML),
	}
	return p, errors.Join(errs...)
}

// ConsoleRoutes registers qualify's console pages on g (the console's
// signed-in, CSRF-checked /console group) and lists them in its navigation.
// Who may use them is the API's rule for handoffs and opportunities: sales
// and admins work them, marketing reads them; each handoff and opportunity
// then answers to ReadHandoff and MayWork.
func ConsoleRoutes(g *echo.Group, con *console.Console, p *Pages) {
	sales := con.Require(store.UserSalesRep, store.UserSalesManager, store.UserSalesAdmin)
	readers := con.Require(store.UserSalesRep, store.UserSalesManager, store.UserSalesAdmin, store.UserMarketing)

	// Sales: handoffs, soonest deadline first; accept, reject, reassign.
	// Marketing reads them.
	con.Nav("Handoffs", "/console/handoffs", store.UserSalesRep, store.UserSalesManager, store.UserSalesAdmin, store.UserMarketing)
	g.GET("/handoffs", p.handoffs, readers)
	g.GET("/handoffs/:id", p.handoff, readers)
	g.POST("/handoffs/:id/accept", p.accept, sales)
	g.POST("/handoffs/:id/reject", p.reject, sales)
	g.POST("/handoffs/:id/reassign", p.reassign, sales)

	// Qualification calls on a lead.
	g.GET("/leads/:id/qualification", p.qualificationForm, sales)
	g.POST("/leads/:id/qualification", p.recordCall, sales)
	// Direct conversion of a lead: what it would match, then the conversion.
	g.GET("/leads/:id/convert", p.convertPage, sales)
	g.POST("/leads/:id/convert", p.convert, sales)

	// Opportunities: a list, a board by stage, and one to work on.
	con.Nav("Opportunities", "/console/opportunities", store.UserSalesRep, store.UserSalesManager, store.UserSalesAdmin, store.UserMarketing)
	g.GET("/opportunities", p.opportunities, readers)
	g.GET("/opportunities/board", p.opportunityBoard, readers)
	// Accounts, and opportunities sales makes from scratch.
	con.Nav("Accounts", "/console/accounts", store.UserSalesRep, store.UserSalesManager, store.UserSalesAdmin, store.UserMarketing)
	g.GET("/accounts", p.accounts, readers)
	g.GET("/accounts/:id", p.account, readers)
	g.GET("/opportunities/new", p.newOpportunity, sales)
	g.POST("/opportunities/new", p.createOpportunity, sales)
	g.GET("/opportunities/:id", p.opportunity, readers)
	g.POST("/opportunities/:id", p.updateOpportunity, sales)
}
