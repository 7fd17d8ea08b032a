package qualify

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/google/uuid"
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
	// Sales decides on handoffs: accept converts, reject recycles.
	g.POST("/handoffs/:id/accept", api.acceptHandoff, sales)
	g.POST("/handoffs/:id/reject", api.rejectHandoff, sales)

	// Opportunities: sales works them; in_forecast is a sales admin's.
	g.GET("/opportunities", api.listOpportunities, people)
	g.GET("/opportunities/:id", api.getOpportunity, people)
	g.PATCH("/opportunities/:id", api.updateOpportunity, sales)

	// The funnel, for marketing and sales alike.
	g.GET("/reports/funnel", api.funnelReport, people)
}

// apiMaxBody bounds a request body; rules and criteria are small.
const apiMaxBody = 1 << 20

// apiPrincipal is the authenticated key of the request.
func apiPrincipal(c echo.Context) (store.Principal, error) {
	p, ok := store.PrincipalFrom(c.Request().Context())
	if !ok {
		return store.Principal{}, echo.NewHTTPError(http.StatusUnauthorized, "missing API key")
	}
	return p, nil
}

// apiPathID parses the :id path parameter (see store.ParseID).
func apiPathID(c echo.Context) (uuid.UUID, error) { return store.ParseID(c.Param("id")) }

// apiPage reads ?limit= and ?cursor= (see store.ParsePage).
func apiPage(c echo.Context) (store.Page, int, error) {
	p, show, err := store.ParsePage(c.QueryParam("limit"), c.QueryParam("cursor"))
	if err != nil {
		return p, 0, echo.NewHTTPError(http.StatusBadRequest, strings.TrimPrefix(err.Error(), store.ErrBadPage.Error()+": "))
	}
	return p, show, nil
}

// apiDecode reads a body that must be one JSON object into dst strictly:
// members dst does not have, or of the wrong type, are validation errors
// naming them.
func apiDecode(c echo.Context, dst any) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != echo.MIMEApplicationJSON {
			return echo.NewHTTPError(http.StatusUnsupportedMediaType, "send the body as application/json")
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, apiMaxBody))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil || members == nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the body must be a JSON object")
	}
	known := apiJSONNames(reflect.TypeOf(dst).Elem())
	bad := map[string]string{}
	for name := range members {
		if !known[name] {
			bad[name] = "unknown field"
		}
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	if err := json.Unmarshal(data, dst); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return invalid(te.Field, "must be "+apiJSONKind(te.Type))
		}
		return echo.NewHTTPError(http.StatusBadRequest, "the body must be a JSON object")
	}
	return nil
}

// apiJSONNames is the set of JSON member names a struct type decodes.
func apiJSONNames(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		switch name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name {
		case "-":
		case "":
			names[f.Name] = true
		default:
			names[name] = true
		}
	}
	return names
}

// apiJSONKind describes a Go type in JSON's words, for an error message.
func apiJSONKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "of another type"
}
