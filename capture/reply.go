package capture

import (
	"bytes"
	"errors"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// wantsJSON tells a script or server (JSON body, or Accept naming JSON) from
// a plain HTML form post, which gets pages and redirects instead.
func wantsJSON(r *http.Request) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); mt == echo.MIMEApplicationJSON {
		return true
	}
	for _, item := range strings.Split(r.Header.Get(echo.HeaderAccept), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(item))
		if err == nil && mt == echo.MIMEApplicationJSON && params["q"] != "0" {
			return true
		}
	}
	return false
}

// acceptedBody is the JSON answer to a committed submission.
type acceptedBody struct {
	ResponseID uuid.UUID `json:"response_id"`
	Status     string    `json:"status"`
}

// replyAccepted answers a committed submission: 202 JSON for scripts; for a
// browser a 303 to the posted return URL when the form allows it, else to
// the form's thank-you URL, else a thank-you page.
func replyAccepted(c echo.Context, form store.Form, id uuid.UUID, returnURL string) error {
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusAccepted, acceptedBody{ResponseID: id, Status: "accepted"})
	}
	if u, ok := allowedReturnURL(returnURL, form.AllowedReturnURLs); ok {
		return c.Redirect(http.StatusSeeOther, u)
	}
	if u, ok := absoluteHTTPURL(form.ThankYouURL); ok {
		return c.Redirect(http.StatusSeeOther, u.String())
	}
	return replyPage(c, http.StatusOK, page{Title: "Thank you", Message: "Your submission has been received."})
}

// replyError answers a refused submission as JSON, the same body as every
// leadflow error, or as a page.
func replyError(c echo.Context, status int, body httpapi.ErrorBody) error {
	if wantsJSON(c.Request()) {
		return c.JSON(status, body)
	}
	p := page{Title: errorTitle(status), Message: body.Message}
	names := make([]string, 0, len(body.Fields))
	for name := range body.Fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p.Fields = append(p.Fields, pageField{Name: name, Message: body.Fields[name]})
	}
	return replyPage(c, status, p)
}

// replyRefused answers a submission that could not be read or is invalid;
// any other error goes on to the HTTP error handler.
func replyRefused(c echo.Context, err error) error {
	var invalid *ValidationError
	switch {
	case errors.As(err, &invalid):
		return replyError(c, http.StatusUnprocessableEntity, httpapi.ErrorBody{
			Code: "validation_failed", Message: "Some fields are missing or invalid.", Fields: invalid.FieldErrors(),
		})
	case errors.Is(err, errBodyTooLarge), errors.Is(err, errFileTooLarge):
		// The rest of the body is not worth reading to keep the
		// connection.
		c.Response().Header().Set(echo.HeaderConnection, "close")
		msg := "The submission is larger than this form accepts."
		if errors.Is(err, errFileTooLarge) {
			msg = "A file is larger than this form accepts."
		}
		return replyError(c, http.StatusRequestEntityTooLarge, httpapi.ErrorBody{Code: "too_large", Message: msg})
	case errors.Is(err, errMalformedBody):
		return replyError(c, http.StatusBadRequest, httpapi.ErrorBody{Code: "bad_request", Message: "The submission could not be read."})
	case errors.Is(err, errUnsupportedType):
		return replyError(c, http.StatusUnsupportedMediaType, httpapi.ErrorBody{
			Code:    "unsupported_media_type",
			Message: "Send the form as application/x-www-form-urlencoded, multipart/form-data or application/json.",
		})
	}
	return err
}

// replyRateLimited answers 429 with when to try again.
func replyRateLimited(c echo.Context, retryAfter time.Duration) error {
	secs := max(1, int((retryAfter+time.Second-1)/time.Second))
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return replyError(c, http.StatusTooManyRequests, httpapi.ErrorBody{
		Code:    "rate_limited",
		Message: "Too many submissions from your address. Please try again in a minute.",
	})
}

// retryAfterUnavailable is how long a client is asked to wait before it
// sends a form again that could not be taken now.
const retryAfterUnavailable = 5 * time.Second

// replyUnavailable answers 503 with Retry-After: the submission was not
// kept, and sending it again shortly should work.
func replyUnavailable(c echo.Context, message string) error {
	c.Response().Header().Set("Retry-After", strconv.Itoa(int(retryAfterUnavailable/time.Second)))
	return replyError(c, http.StatusServiceUnavailable, httpapi.ErrorBody{Code: "unavailable", Message: message})
}

func errorTitle(status int) string {
	switch status {
	case http.StatusUnprocessableEntity:
		return "Please check the form"
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return "Please try again shortly"
	case http.StatusNotFound:
		return "Form not found"
	}
	return http.StatusText(status)
}

type page struct {
	Title, Message string
	Fields         []pageField
}

type pageField struct{ Name, Message string }

// pageTemplate escapes everything it prints: field names and messages can
// carry what a visitor posted.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font:1rem/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Message}}</p>
{{- if .Fields}}<ul>{{range .Fields}}<li><strong>{{.Name}}</strong>: {{.Message}}</li>{{end}}</ul>
<p>Please go back, correct the form and send it again.</p>{{end}}
</body></html>
`))

func replyPage(c echo.Context, status int, p page) error {
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, p); err != nil {
		return err
	}
	h := c.Response().Header()
	// The page runs nothing and loads nothing; say so, in case a value ever
	// slipped past the escaping.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set(echo.HeaderXContentTypeOptions, "nosniff")
	h.Set(echo.HeaderCacheControl, "no-store")
	return c.HTMLBlob(status, b.Bytes())
}

// allowedReturnURL returns the posted return URL, re-serialised, when it
// falls under one of the form's allowed return URLs: same scheme and host,
// and its path equal to or below the allowed path. Anything that could
// redirect elsewhere than it seems (scheme-relative //host, userinfo,
// backslashes, dot segments, encoded slashes, controls) is refused, so the
// endpoint is never an open redirect.
func allowedReturnURL(raw string, allowed []string) (string, bool) {
	u, ok := absoluteHTTPURL(raw)
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		base, ok := absoluteHTTPURL(a)
		if !ok {
			continue
		}
		if !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) {
			continue
		}
		if underPath(u.Path, base.Path) {
			return u.String(), true
		}
	}
	return "", false
}

// absoluteHTTPURL parses s as an absolute http(s) URL with a host and no
// userinfo, refusing any form a browser could read differently than Go.
func absoluteHTTPURL(s string) (*url.URL, bool) {
	if s == "" || len(s) > 2048 || strings.ContainsAny(s, "\\") {
		return nil, false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || invisible(r) {
			return nil, false
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return nil, false
	}
	if scheme := strings.ToLower(u.Scheme); scheme != "http" && scheme != "https" {
		return nil, false
	}
	if strings.Contains(strings.ToLower(u.EscapedPath()), "%2f") || strings.Contains(strings.ToLower(u.EscapedPath()), "%5c") {
		return nil, false
	}
	if u.Path != "" && path.Clean(u.Path) != strings.TrimSuffix(u.Path, "/") && u.Path != "/" {
		return nil, false
	}
	return u, true
}

// underPath reports whether p is base or a path below it, segment by
// segment: "/thanks" allows "/thanks/x" but not "/thanksgiving".
func underPath(p, base string) bool {
	base = strings.TrimSuffix(base, "/")
	if base == "" {
		return true
	}
	return p == base || strings.HasPrefix(p, base+"/")
}

// corsOrigin returns the request's Origin when the form allows it ("*"
// allows any).
func corsOrigin(r *http.Request, form store.Form) (string, bool) {
	origin := r.Header.Get(echo.HeaderOrigin)
	if origin == "" {
		return "", false
	}
	for _, o := range form.AllowedOrigins {
		if o == "*" || strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return origin, true
		}
	}
	return "", false
}
