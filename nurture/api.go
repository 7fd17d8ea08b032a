package nurture

import (
	"bytes"
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

// apiRequest is the principal and the :id of a request on one record.
func apiRequest(c echo.Context) (store.Principal, uuid.UUID, error) {
	p, err := apiPrincipal(c)
	if err != nil {
		return p, uuid.Nil, err
	}
	id, err := apiPathID(c)
	return p, id, err
}

// apiPage reads ?limit= and ?cursor= (see store.ParsePage).
func apiPage(c echo.Context) (store.Page, int, error) {
	p, show, err := store.ParsePage(c.QueryParam("limit"), c.QueryParam("cursor"))
	if err != nil {
		return p, 0, echo.NewHTTPError(http.StatusBadRequest, strings.TrimPrefix(err.Error(), store.ErrBadPage.Error()+": "))
	}
	return p, show, nil
}

// apiReadObject reads a request body that must be one JSON object, and
// returns its members so that handlers can tell which were sent. When
// optional, an empty body is an empty object.
func apiReadObject(c echo.Context, optional bool) (map[string]json.RawMessage, error) {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != echo.MIMEApplicationJSON {
			return nil, echo.NewHTTPError(http.StatusUnsupportedMediaType, "send the body as application/json")
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, apiMaxBody))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if optional && len(bytes.TrimSpace(data)) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil || members == nil {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "the body must be a JSON object")
	}
	return members, nil
}

// apiBind decodes each member sent into its target. A member without a
// target, or of the wrong type, is a validation error naming it; every such
// member is named at once.
func apiBind(members map[string]json.RawMessage, targets map[string]any) error {
	bad := map[string]string{}
	for name, raw := range members {
		dst, ok := targets[name]
		if !ok {
			bad[name] = "unknown field"
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			bad[name] = apiDecodeMessage(err, reflect.TypeOf(dst).Elem())
		}
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	return nil
}

// apiDecodeMessage says what was wrong with a member that did not decode.
func apiDecodeMessage(err error, t reflect.Type) string {
	if _, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return "must be " + apiJSONKind(t)
	}
	if _, ok := errors.AsType[*json.SyntaxError](err); ok {
		return "is not valid JSON"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
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
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "an array of strings"
		}
		return "an array"
	case reflect.Map, reflect.Struct:
		if t.Kind() == reflect.Map && t.Elem().Kind() == reflect.String {
			return "an object of strings"
		}
		return "an object"
	}
	return "of another type"
}

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

// apiMerge adds the fields of a validation error to bad and returns nil, or
// returns any other error.
func apiMerge(bad map[string]string, err error) error {
	if err == nil {
		return nil
	}
	if v, ok := errors.AsType[*ValidationError](err); ok {
		for k, msg := range v.Fields {
			bad[k] = msg
		}
		return nil
	}
	return err
}
