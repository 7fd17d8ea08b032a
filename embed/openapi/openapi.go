package openapi

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed openapi.json
var document []byte

// Document is the OpenAPI document's JSON.
func Document() []byte { return document }

// Path is where the document is served.
const Path = "/api/v1/openapi.json"

// Routes serves the document at Path, outside the API's key check.
func Routes(e *echo.Echo) {
	e.GET(Path, func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-cache")
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, document)
	})
}
