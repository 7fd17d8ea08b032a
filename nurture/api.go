package nurture

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/store"
)

// ManualEnroller enrolls a lead in a sequence by hand; the engine satisfies
// it. A lead already active in the sequence is store.ErrConflict.
type ManualEnroller interface {
	EnrollManual(ctx context.Context, workspaceID, sequenceID, leadID uuid.UUID, actor string) (store.Enrollment, error)
}

// Retrier runs failed nurture work again; the engine satisfies it. Work
// that has not failed is store.ErrConflict.
type Retrier interface {
	RetryMessage(ctx context.Context, workspaceID, id uuid.UUID) (store.Message, error)
	RetryEnrollment(ctx context.Context, workspaceID, id uuid.UUID) (store.FailedEnrollment, error)
}

// APIConfig is what the nurture admin API needs.
type APIConfig struct {
	Store    *store.Store
	Enroller ManualEnroller
	// Retrier retries failed messages and enrollments; when nil, the
	// Enroller does if it can (the engine is both).
	Retrier Retrier
	// BaseURL is leadflow's public URL; previews link under it.
	BaseURL string
	Logger  *slog.Logger
}

// API is the admin JSON API over what marketing configures: templates,
// sequences, the workspace's sending settings, and enrollments. Every
// handler works in the workspace of the request's API key.
type API struct {
	store    *store.Store
	enroller ManualEnroller
	retrier  Retrier
	baseURL  string
	log      *slog.Logger
}

// NewAPI checks cfg and builds the API.
func NewAPI(cfg APIConfig) (*API, error) {
	var missing []string
	if cfg.Store == nil {
		missing = append(missing, "Store")
	}
	if cfg.Enroller == nil {
		missing = append(missing, "Enroller")
	}
	if r, ok := cfg.Enroller.(Retrier); ok && cfg.Retrier == nil {
		cfg.Retrier = r
	}
	if cfg.Retrier == nil {
		missing = append(missing, "Retrier")
	}
	if cfg.BaseURL == "" {
		missing = append(missing, "BaseURL")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("nurture api: missing %s", strings.Join(missing, ", "))
	}
	return &API{
		store:    cfg.Store,
		enroller: cfg.Enroller,
		retrier:  cfg.Retrier,
		baseURL:  strings.TrimRight(cfg.BaseURL, "/"),
		log:      cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
	}, nil
}

// APIRoutes registers the nurture admin API on g, which already
// authenticates the API key. require builds the role check; admin keys pass
// every check.
//
// Marketing configures templates and sequences and enrolls leads; only an
// admin changes the workspace's sending settings; every role may read them
// and see where a lead is in its sequences.
func APIRoutes(g *echo.Group, api *API, require func(roles ...store.Role) echo.MiddlewareFunc) {
	marketing := require(store.RoleMarketing)
	anyRole := require(store.RoleMarketing, store.RoleSales)
	admin := require(store.RoleAdmin)

	g.POST("/templates", api.createTemplate, marketing)
	g.GET("/templates", api.listTemplates, marketing)
	g.GET("/templates/:id", api.getTemplate, marketing)
	g.PATCH("/templates/:id", api.updateTemplate, marketing)
	g.POST("/templates/:id/preview", api.previewTemplate, marketing)

	g.POST("/sequences", api.createSequence, marketing)
	g.GET("/sequences", api.listSequences, marketing)
	g.GET("/sequences/:id", api.getSequence, marketing)
	g.PATCH("/sequences/:id", api.updateSequence, marketing)
	g.POST("/sequences/:id/activate", api.activateSequence, marketing)
	g.POST("/sequences/:id/pause", api.pauseSequence, marketing)
	g.POST("/sequences/:id/resume", api.resumeSequence, marketing)

	g.POST("/sequences/:id/enrollments", api.enrollLead, marketing)
	g.GET("/leads/:id/enrollments", api.leadEnrollments, anyRole)
	g.GET("/enrollments", api.listFailedEnrollments, marketing)
	g.POST("/enrollments/:id/retry", api.retryEnrollment, marketing)
	g.GET("/messages", api.listFailedMessages, marketing)
	g.POST("/messages/:id/retry", api.retryMessage, marketing)

	g.GET("/workspace", api.getWorkspace, anyRole)
	g.PATCH("/workspace", api.updateWorkspace, admin)
}

// apiMaxBody bounds an admin request body: a template of the largest size,
// JSON-escaped.
const apiMaxBody = 2 << 20

// apiID parses an ID sent in a body, naming field when it is missing or
// malformed.
func apiID(field, v string, bad map[string]string) uuid.UUID {
	if strings.TrimSpace(v) == "" {
		bad[field] = "is required"
		return uuid.Nil
	}
	id, err := uuid.Parse(strings.TrimSpace(v))
	if err != nil {
		bad[field] = "is not a valid id"
		return uuid.Nil
	}
	return id
}
