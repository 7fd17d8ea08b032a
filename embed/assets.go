package embed

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// asset is a file served under two names: a content-hashed one cached
// forever, and a stable one cached briefly and revalidated by its ETag.
type asset struct {
	body        []byte
	contentType string
	// hash is the start of the content's SHA-256, enough to tell releases
	// apart; it names the file and is its ETag.
	hash       string
	path       string
	stablePath string
}

func newAsset(base, ext, stablePath, contentType string, body []byte) asset {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])[:16]
	return asset{
		body:        body,
		contentType: contentType,
		hash:        hash,
		path:        "/assets/" + base + "." + hash + "." + ext,
		stablePath:  stablePath,
	}
}

func (a asset) serveImmutable(c echo.Context) error {
	return a.serve(c, "public, max-age=31536000, immutable")
}

// serveStable serves the stable name briefly cached, so a release reaches
// pages that embed it within minutes.
func (a asset) serveStable(c echo.Context) error {
	return a.serve(c, "public, max-age=300")
}

func (a asset) serve(c echo.Context, cacheControl string) error {
	h := c.Response().Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", `"`+a.hash+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	// Customer sites load these from another origin: allow it even under
	// their Cross-Origin-Embedder-Policy, and allow them to pin the hashed
	// URL with an integrity check, which needs CORS. The files are public.
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Access-Control-Allow-Origin", "*")
	http.ServeContent(c.Response(), c.Request(), "", time.Time{}, bytes.NewReader(a.body))
	return nil
}
