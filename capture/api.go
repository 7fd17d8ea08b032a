package capture

import (
	"cmp"
	"context"
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
	Logger   *slog.Logger
}

// API is the admin JSON API over forms, events, responses, leads and
// contacts. Every handler works in the workspace of the request's API key.
type API struct {
	store    *store.Store
	enqueuer Enqueuer
	merger   LeadMerger
	releaser ResponseReleaser
	retrier  ResponseRetrier
	tasks    TaskRemover
	log      *slog.Logger
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
	if len(missing) > 0 {
		return nil, fmt.Errorf("capture api: missing %s", strings.Join(missing, ", "))
	}
	return &API{
		store:    cfg.Store,
		enqueuer: cfg.Enqueuer,
		merger:   cfg.Merger,
		releaser: cfg.Releaser,
		retrier:  cfg.Retrier,
		tasks:    cfg.Tasks,
		log:      cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
	}, nil
}

// APIRoutes registers the admin API on g, which already authenticates the
// API key. require builds the role check; admin keys pass every check.
//
// Marketing configures capture and works leads; sales reads leads and
// contacts and records contacts.
func APIRoutes(g *echo.Group, api *API, require func(roles ...store.Role) echo.MiddlewareFunc) {
	marketing := require(store.RoleMarketing)
	people := require(store.RoleMarketing, store.RoleSales)

	g.POST("/forms", api.createForm, marketing)
	g.GET("/forms", api.listForms, marketing)
	g.GET("/forms/:id", api.getForm, marketing)
	g.PATCH("/forms/:id", api.updateForm, marketing)

	g.POST("/events", api.createEvent, marketing)
	g.GET("/events", api.listEvents, marketing)
	g.GET("/events/:id", api.getEvent, marketing)

	g.GET("/responses", api.listResponses, marketing)
	g.GET("/responses/:id", api.getResponse, marketing)
	g.POST("/responses/:id/release", api.releaseResponse, marketing)
	g.POST("/responses/:id/retry", api.retryResponse, marketing)

	g.GET("/leads", api.listLeads, people)
	g.GET("/leads/:id", api.getLead, people)
	g.POST("/leads/:id/merge", api.mergeLeads, marketing)

	g.POST("/contacts", api.createContact, people)
	g.GET("/contacts", api.listContacts, people)
	g.GET("/contacts/:id", api.getContact, people)
}

// apiMaxBody bounds an admin request body; forms and contacts are small.
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

// apiQueryID parses an optional ID query parameter.
func apiQueryID(c echo.Context, name string) (uuid.UUID, error) {
	v := c.QueryParam(name)
	if v == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		return uuid.Nil, echo.NewHTTPError(http.StatusBadRequest, name+" is not a valid id")
	}
	return id, nil
}

// apiQueryOneOf reads an optional query parameter that must be one of allowed.
func apiQueryOneOf(c echo.Context, name string, allowed ...string) (string, error) {
	v := c.QueryParam(name)
	if v == "" {
		return "", nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("%s must be one of %s", name, strings.Join(allowed, ", ")))
}

// apiPage reads ?limit= and ?cursor= (see store.ParsePage).
func apiPage(c echo.Context) (store.Page, int, error) {
	p, show, err := store.ParsePage(c.QueryParam("limit"), c.QueryParam("cursor"))
	if err != nil {
		return p, 0, echo.NewHTTPError(http.StatusBadRequest, strings.TrimPrefix(err.Error(), store.ErrBadPage.Error()+": "))
	}
	return p, show, nil
}

// apiReadJSON reads a request body that must be one JSON object. It returns
// the raw body and its top-level members, so that handlers can tell which
// members were sent.
func apiReadJSON(c echo.Context) ([]byte, map[string]json.RawMessage, error) {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != echo.MIMEApplicationJSON {
			return nil, nil, echo.NewHTTPError(http.StatusUnsupportedMediaType, "send the body as application/json")
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, apiMaxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("read body: %w", err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil || members == nil {
		return nil, nil, echo.NewHTTPError(http.StatusBadRequest, "the body must be a JSON object")
	}
	return data, members, nil
}

// apiUnmarshal decodes data into dst strictly: members dst does not have, or
// of the wrong type, are validation errors naming them. Unlike encoding/json
// alone, it names every unknown member and matches names exactly.
func apiUnmarshal(data []byte, members map[string]json.RawMessage, dst any) error {
	known := apiJSONNames(reflect.TypeOf(dst).Elem())
	fields := map[string]string{}
	for name := range members {
		if !known[name] {
			fields[name] = "unknown field"
		}
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	if err := json.Unmarshal(data, dst); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return &ValidationError{Fields: map[string]string{te.Field: "must be " + apiJSONKind(te.Type)}}
		}
		return echo.NewHTTPError(http.StatusBadRequest, "the body must be a JSON object")
	}
	return nil
}

// apiDecode reads and strictly decodes a JSON object body into dst.
func apiDecode(c echo.Context, dst any) error {
	data, members, err := apiReadJSON(c)
	if err != nil {
		return err
	}
	return apiUnmarshal(data, members, dst)
}

// apiJSONNames is the set of JSON member names a struct type decodes.
func apiJSONNames(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
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
		return "an array of " + apiJSONPlural(t.Elem())
	case reflect.Map:
		return "an object of " + apiJSONPlural(t.Elem())
	}
	return "of another type"
}

// apiJSONPlural names the values of an array or object, for an error message.
func apiJSONPlural(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "strings"
	case reflect.Int, reflect.Int64:
		return "integers"
	}
	return "values"
}
