package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"leadflow/store"
)

// errorBody is every error answer's JSON: a stable machine code, a message
// for people, and the fields at fault when there are any.
type errorBody struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// newEcho builds the HTTP application shell shared by capture and the admin
// API: error handling, panic recovery, request IDs and client IP extraction.
// There is no global body limit: capture applies each form's own.
func newEcho(logger *slog.Logger, trustedProxies []netip.Prefix) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = ipExtractor(trustedProxies)
	e.HTTPErrorHandler = errorHandler(logger)
	e.Use(nosniff)
	e.Use(middleware.RequestID())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		// The error handler logs the panic with its stack, once.
		LogErrorFunc: func(_ echo.Context, err error, stack []byte) error {
			return &panicError{err: err, stack: string(stack)}
		},
	}))
	return e
}

// nosniff tells browsers to take every answer, and every error answer, as
// the type it says: JSON that echoes what someone saved must never be
// sniffed into a page that runs script. Set before any handler runs, so
// the error handler's answers (unknown routes included) carry it too.
func nosniff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderXContentTypeOptions, "nosniff")
		return next(c)
	}
}

// panicError carries a recovered panic to the error handler, which logs it.
type panicError struct {
	err   error
	stack string
}

func (p *panicError) Error() string { return "panic: " + p.err.Error() }
func (p *panicError) Unwrap() error { return p.err }

// ipExtractor believes X-Forwarded-For only when the direct peer is one of the
// trusted proxies, and then only up to the first address that is not; with no
// trusted proxies the direct peer is the client. Echo's default would also
// trust every private and loopback address, which lets any client on the
// same network forge its address past the rate limit.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		p = p.Masked()
		opts = append(opts, echo.TrustIPRange(&net.IPNet{
			IP:   p.Addr().AsSlice(),
			Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
		}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// errorHandler answers every failure with the stable error body (or a small
// HTML page for a browser's form post), and logs server errors once.
// Internals of a 5xx never reach the client.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, body := classify(err)
		req := c.Request()
		if status >= http.StatusInternalServerError {
			attrs := []any{
				"method", req.Method,
				"path", req.URL.Path,
				"status", status,
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
				"err", err,
			}
			if p, ok := errors.AsType[*panicError](err); ok {
				attrs = append(attrs, "stack", p.stack)
			}
			if errors.Is(err, context.Canceled) && req.Context().Err() != nil {
				// The client went away; nothing failed on our side.
				logger.Debug("http_request_canceled", attrs...)
			} else {
				logger.Error("http_server_error", attrs...)
			}
		}
		var werr error
		switch {
		case req.Method == http.MethodHead:
			werr = c.NoContent(status)
		case wantsHTML(req):
			werr = c.HTML(status, errorPage(status, body))
		default:
			werr = c.JSON(status, body)
		}
		if werr != nil {
			logger.Debug("http_error_write_failed", "err", werr)
		}
	}
}

// classify maps an error to a status and its public body.
func classify(err error) (int, errorBody) {
	var fields map[string]string
	if fe, ok := errors.AsType[interface {
		error
		FieldErrors() map[string]string
	}](err); ok {
		fields = fe.FieldErrors()
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, errorBody{Code: "not_found", Message: "not found"}
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, errorBody{Code: "conflict", Message: "conflicts with an existing record", Fields: fields}
	case errors.Is(err, store.ErrInvalidReference):
		return http.StatusUnprocessableEntity, errorBody{Code: "invalid_reference", Message: "refers to a record that does not exist", Fields: fields}
	case errors.Is(err, store.ErrTimeout):
		return http.StatusServiceUnavailable, errorBody{Code: "timeout", Message: "the database did not answer within the statement timeout: narrow the request, or try again when the server is less busy"}
	case fields != nil:
		return http.StatusUnprocessableEntity, errorBody{Code: "validation_failed", Message: "some fields are invalid", Fields: fields}
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return http.StatusRequestEntityTooLarge, errorBody{Code: "too_large", Message: http.StatusText(http.StatusRequestEntityTooLarge)}
	}
	he, ok := errors.AsType[*echo.HTTPError](err)
	if !ok || he.Code >= http.StatusInternalServerError {
		status := http.StatusInternalServerError
		if ok {
			status = he.Code
		}
		return status, errorBody{Code: "internal", Message: "internal error"}
	}
	msg := http.StatusText(he.Code)
	if m, ok := he.Message.(string); ok && m != "" {
		msg = m
	}
	return he.Code, errorBody{Code: httpCode(he.Code), Message: msg}
}

// httpCode names a client error status for the body's code.
func httpCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusUnprocessableEntity:
		return "validation_failed"
	}
	return strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
}

// wantsHTML tells a browser (a plain HTML form post, a page view) from an
// API client. The admin API always answers JSON.
func wantsHTML(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	accept := r.Header.Get(echo.HeaderAccept)
	return strings.Contains(accept, echo.MIMETextHTML) && !strings.Contains(accept, echo.MIMEApplicationJSON)
}

var errorPageTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p>
{{- if .Fields}}<ul>{{range .Fields}}<li><strong>{{.Name}}</strong>: {{.Message}}</li>{{end}}</ul>{{end}}
</body></html>
`))

func errorPage(status int, body errorBody) string {
	type field struct{ Name, Message string }
	names := make([]string, 0, len(body.Fields))
	for name := range body.Fields {
		names = append(names, name)
	}
	slices.Sort(names)
	fields := make([]field, 0, len(names))
	for _, name := range names {
		fields = append(fields, field{name, body.Fields[name]})
	}
	var b strings.Builder
	err := errorPageTemplate.Execute(&b, struct {
		Title, Message string
		Fields         []field
	}{fmt.Sprintf("%d %s", status, http.StatusText(status)), body.Message, fields})
	if err != nil {
		return http.StatusText(status)
	}
	return b.String()
}

// apiAuth authenticates an admin API request by its bearer key and puts the
// key's principal on the request context. The key is hashed, never logged.
func apiAuth(st *store.Store) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			secret, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
			if !ok {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="leadflow"`)
				return echo.NewHTTPError(http.StatusUnauthorized, "missing API key: send Authorization: Bearer KEY")
			}
			key, err := st.AuthenticateAPIKey(c.Request().Context(), secret)
			if errors.Is(err, store.ErrNotFound) {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="leadflow", error="invalid_token"`)
				return echo.NewHTTPError(http.StatusUnauthorized, "invalid API key")
			}
			if err != nil {
				return fmt.Errorf("authenticate api key: %w", err)
			}
			ctx := store.WithPrincipal(c.Request().Context(), store.Principal{
				KeyID: key.ID, WorkspaceID: key.WorkspaceID, Role: key.Role,
			})
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// bearerToken extracts the token of an "Authorization: Bearer TOKEN" header.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	// Real keys are short; anything longer is not worth hashing.
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || len(token) > 256 {
		return "", false
	}
	return token, true
}

// requireRole lets a request through when its key has one of roles; admin
// keys may do everything.
func requireRole(roles ...store.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, ok := store.PrincipalFrom(c.Request().Context())
			if !ok {
				return echo.NewHTTPError(http.StatusUnauthorized, "missing API key")
			}
			if p.Role != store.RoleAdmin && !slices.Contains(roles, p.Role) {
				return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf("a %s key may not do this", p.Role))
			}
			return next(c)
		}
	}
}
