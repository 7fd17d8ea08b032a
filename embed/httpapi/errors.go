package httpapi

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"leadflow/store"
)

// ErrorBody is every error answer's JSON: a stable machine code, a message
// for people, and the fields at fault when there are any.
type ErrorBody struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// panicError carries a recovered panic to the error handler, which logs it.
type panicError struct {
	err   error
	stack string
}

func (p *panicError) Error() string { return "panic: " + p.err.Error() }
func (p *panicError) Unwrap() error { return p.err }

// Recovered is the error of a recovered panic, for Echo's recover
// middleware: the error handler logs it with its stack, once.
func Recovered(err error, stack []byte) error {
	return &panicError{err: err, stack: string(stack)}
}

// ErrorHandler answers every failure with the stable error body (or a small
// HTML page for a browser's form post), and logs server errors once.
// Internals of a 5xx never reach the client.
func ErrorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, body := classify(err)
		req := c.Request()
		if status >= http.StatusInternalServerError {
			attrs := []any{
				"method", req.Method,
				// The route pattern, never the path: links carry tokens.
				"route", c.Path(),
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
func classify(err error) (int, ErrorBody) {
	var fields map[string]string
	if fe, ok := errors.AsType[fieldErrors](err); ok {
		fields = fe.FieldErrors()
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, ErrorBody{Code: "not_found", Message: "not found"}
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, ErrorBody{Code: "conflict", Message: "conflicts with an existing record", Fields: fields}
	case errors.Is(err, store.ErrInvalidReference):
		return http.StatusUnprocessableEntity, ErrorBody{Code: "invalid_reference", Message: "refers to a record that does not exist", Fields: fields}
	case errors.Is(err, store.ErrTimeout):
		return http.StatusServiceUnavailable, ErrorBody{Code: "timeout", Message: "the database did not answer within the statement timeout: narrow the request, or try again when the server is less busy"}
	case fields != nil:
		return http.StatusUnprocessableEntity, ErrorBody{Code: "validation_failed", Message: "some fields are invalid", Fields: fields}
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return http.StatusRequestEntityTooLarge, ErrorBody{Code: "too_large", Message: http.StatusText(http.StatusRequestEntityTooLarge)}
	}
	he, ok := errors.AsType[*echo.HTTPError](err)
	if !ok || he.Code >= http.StatusInternalServerError {
		status := http.StatusInternalServerError
		if ok {
			status = he.Code
		}
		return status, ErrorBody{Code: "internal", Message: "internal error"}
	}
	msg := http.StatusText(he.Code)
	if m, ok := he.Message.(string); ok && m != "" {
		msg = m
	}
	return he.Code, ErrorBody{Code: httpCode(he.Code), Message: msg}
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

func errorPage(status int, body ErrorBody) string {
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
