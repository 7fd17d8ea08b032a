package main

import (
	"log/slog"
	"net"
	"net/netip"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"leadflow/embed/httpapi"
)

// newEcho builds the HTTP application shell shared by capture and the admin
// API: error handling, panic recovery, request IDs and client IP extraction.
// There is no global body limit: capture applies each form's own.
func newEcho(logger *slog.Logger, trustedProxies []netip.Prefix) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = ipExtractor(trustedProxies)
	e.HTTPErrorHandler = httpapi.ErrorHandler(logger)
	e.Use(nosniff)
	e.Use(requestID)
	e.Use(accessLog(logger))
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		// The error handler logs the panic with its stack, once.
		LogErrorFunc: func(_ echo.Context, err error, stack []byte) error {
			return httpapi.Recovered(err, stack)
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
