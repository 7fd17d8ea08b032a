package main

import (
	"cmp"
	"log/slog"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// requestID gives every request an ID, in the X-Request-ID response header
// (where the error handler's 5xx line and the access line read it): the
// caller's own when it is a sane one (a proxy's or load balancer's, so one
// request can be followed across both logs), a fresh UUID otherwise.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !saneRequestID(id) {
			id = uuid.NewString()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// saneRequestID accepts 1 to 128 letters, digits and . _ - : (what UUIDs,
// ULIDs, trace IDs and the common proxies' IDs are made of), so a caller
// cannot forge log lines or fill them.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch b := id[i]; {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '.', b == '_', b == '-', b == ':':
		default:
			return false
		}
	}
	return true
}

// accessLog writes one http_request line per request once its answer is
// written, error answers included (Echo's request logger hands the error to
// the error handler first, so the line records the status sent). It names
// the route pattern (/t/:token), never the path as sent nor its query
// string: tracking, confirmation and sign-in links carry tokens in both. The
// request ID is read from the answer, where requestID put a sane one; the
// caller's header may hold anything.
func accessLog(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		HandleError:     true,
		LogMethod:       true,
		LogRoutePath:    true,
		LogStatus:       true,
		LogLatency:      true,
		LogResponseSize: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			route := cmp.Or(v.RoutePath, "unmatched")
			log.LogAttrs(c.Request().Context(), slog.LevelInfo, "http_request",
				slog.String("method", v.Method),
				slog.String("route", route),
				slog.Int("status", v.Status),
				slog.Float64("duration_ms", float64(v.Latency.Microseconds())/1000),
				slog.Int64("bytes", v.ResponseSize),
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			)
			return nil
		},
	})
}
