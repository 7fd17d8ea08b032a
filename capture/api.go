package capture

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/store"
)

// LeadMerger merges one lead into another, keeping keepID; the response
// processor satisfies it.
type LeadMerger interface {
	MergeLeads(ctx context.Context, workspaceID, keepID, otherID uuid.UUID, actor string) (store.Lead, error)
}

// ResponseReleaser releases a response held as spam so that it is processed
// like any other; the response processor satisfies it.
type ResponseReleaser interface {
	Release(ctx context.Context, workspaceID, responseID uuid.UUID, actor string) (store.Response, error)
}

// ResponseRetrier puts a failed response back into processing; the response
// processor satisfies it.
type ResponseRetrier interface {
	Retry(ctx context.Context, workspaceID, responseID uuid.UUID) (store.Response, error)
}

// TaskRemover deletes a task that is no longer running (archived after it
// failed) so that the same task ID can be enqueued again; *asynq.Inspector
// satisfies it.
type TaskRemover interface {
	DeleteTask(queue, id string) error
}

// APIConfig is what the admin API needs.
type APIConfig struct {
	Store *store.Store
	// Enqueuer queues a released response's processing.
	Enqueuer Enqueuer
	Merger   LeadMerger
	Releaser ResponseReleaser
	Retrier  ResponseRetrier
	Tasks    TaskRemover
	// Mailer queues the email of a person promoted off a waitlist.
	Mailer RegistrationMailer
	// Referrer resolves a referred person to their lead.
	Referrer LeadReferrer
	// Unsuppressor lets a resubscribed lead's address be emailed again.
	Unsuppressor Unsuppressor
	// Importer takes CSV lists; without it the import routes are absent.
	Importer *Importer
	Logger   *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// API is the admin JSON API over forms, events, responses, leads and
// contacts. Every handler works in the workspace of the request's API key.
type API struct {
	store      *store.Store
	enqueuer   Enqueuer
	merger     LeadMerger
	releaser   ResponseReleaser
	retrier    ResponseRetrier
	tasks      TaskRemover
	mailer     RegistrationMailer
	referrer   LeadReferrer
	unsuppress Unsuppressor
	importer   *Importer
	log        *slog.Logger
	now        func() time.Time
}

// NewAPI checks cfg and builds the API.
func NewAPI(cfg APIConfig) (*API, error) {
	var missing []string
	if cfg.Store == nil {
		missing = append(missing, "Store")
	}
	if cfg.Enqueuer == nil {
		missing = append(missing, "Enqueuer")
	}
	if cfg.Merger == nil {
		missing = append(missing, "Merger")
	}
	if cfg.Releaser == nil {
		missing = append(missing, "Releaser")
	}
	if cfg.Retrier == nil {
		missing = append(missing, "Retrier")
	}
	if cfg.Tasks == nil {
		missing = append(missing, "Tasks")
	}
	if cfg.Mailer == nil {
		missing = append(missing, "Mailer")
	}
	if cfg.Referrer == nil {
		missing = append(missing, "Referrer")
	}
	if cfg.Unsuppressor == nil {
		missing = append(missing, "Unsuppressor")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("capture api: missing %s", strings.Join(missing, ", "))
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &API{
		store:      cfg.Store,
		enqueuer:   cfg.Enqueuer,
		merger:     cfg.Merger,
		releaser:   cfg.Releaser,
		retrier:    cfg.Retrier,
		tasks:      cfg.Tasks,
		mailer:     cfg.Mailer,
		referrer:   cfg.Referrer,
		unsuppress: cfg.Unsuppressor,
		importer:   cfg.Importer,
		log:        cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
		now:        now,
	}, nil
}

// APIRoutes registers the admin API on g, which already authenticates the
// API key. require builds the role check; admin keys pass every check.
//
// Marketing configures capture and works leads; sales reads leads and
// contacts and records contacts. Only admins export or erase a person's data.
func APIRoutes(g *echo.Group, api *API, require func(roles ...store.Role) echo.MiddlewareFunc) {
	marketing := require(store.RoleMarketing)
	people := require(store.RoleMarketing, store.RoleSales)
	admin := require(store.RoleAdmin)

	g.POST("/forms", api.createForm, marketing)
	g.GET("/forms", api.listForms, marketing)
	g.GET("/forms/:id", api.getForm, marketing)
	g.PATCH("/forms/:id", api.updateForm, marketing)

	g.POST("/events", api.createEvent, marketing)
	g.GET("/events", api.listEvents, marketing)
	g.GET("/events/:id", api.getEvent, marketing)
	g.GET("/events/:id/registrations", api.listRegistrations, marketing)
	g.POST("/events/:id/registrations/:rid/cancel", api.cancelRegistration, marketing)
	g.POST("/events/:id/registrations/:rid/attend", api.attendRegistration, marketing)

	g.GET("/responses", api.listResponses, marketing)
	g.POST("/responses", api.recordResponse, people)
	g.GET("/responses/:id", api.getResponse, marketing)
	g.POST("/responses/:id/release", api.releaseResponse, marketing)
	g.POST("/responses/:id/retry", api.retryResponse, marketing)

	g.GET("/leads", api.listLeads, people)
	g.GET("/leads/:id", api.getLead, people)
	g.POST("/leads", api.referLead, people)
	g.PATCH("/leads/:id", api.editLead, people)
	g.POST("/leads/:id/status", api.changeLeadStatus, people)
	g.POST("/leads/:id/resubscribe", api.resubscribeLead, people)
	g.POST("/leads/:id/merge", api.mergeLeads, marketing)
	g.GET("/leads/:id/export", api.exportLead, admin)
	g.POST("/leads/:id/erase", api.eraseLead, admin)

	if api.importer != nil {
		g.POST("/imports", api.createImport, marketing)
		g.GET("/imports/:id", api.getImport, marketing)
		g.GET("/imports/:id/invalid.csv", api.importInvalidCSV, marketing)
	}

	g.POST("/contacts", api.createContact, people)
	g.GET("/contacts", api.listContacts, people)
	g.GET("/contacts/:id", api.getContact, people)
}

// apiMaxBody bounds an admin request body; forms and contacts are small.
const apiMaxBody = 1 << 20
