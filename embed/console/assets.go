package console

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

var (
	//go:embed assets/console.css
	styleCSS []byte
	//go:embed assets/console.js
	scriptJS []byte
)

// asset is a file served under a name made of its content's hash, so it is
// cached forever and a release changes its URL.
type asset struct {
	body        []byte
	contentType string
	hash        string
	path        string
}

func newAsset(base, ext, contentType string, body []byte) asset {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])[:16]
	return asset{body: body, contentType: contentType, hash: hash, path: "/assets/" + base + "." + hash + "." + ext}
}

func (a asset) serve(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+a.hash+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(c.Response(), c.Request(), "", time.Time{}, bytes.NewReader(a.body))
	return nil
}
