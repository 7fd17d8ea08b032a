package embed

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAssetsServed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name        string
		a           asset
		embedded    []byte
		stable      string
		contentType string
	}{
		{"script", b.site.script, scriptJS, "/embed.js", "text/javascript; charset=utf-8"},
		{"style", b.site.style, styleCSS, "/embed.css", "text/css; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sum := sha256.Sum256(tt.embedded)
			ext := map[string]string{"script": "js", "style": "css"}[tt.name]
			wantPath := "/assets/leadflow." + hex.EncodeToString(sum[:])[:16] + "." + ext
			if tt.a.path != wantPath {
				t.Fatalf("hashed path = %q, want %q", tt.a.path, wantPath)
			}

			hashed := get(t, b.public, wantPath)
			stable := get(t, b.public, tt.stable)
			for _, rec := range []struct {
				url          string
				code         int
				cacheControl string
				body         []byte
				headers      http.Header
			}{
				{wantPath, hashed.Code, "public, max-age=31536000, immutable", hashed.Body.Bytes(), hashed.Header()},
				{tt.stable, stable.Code, "public, max-age=300", stable.Body.Bytes(), stable.Header()},
			} {
				if rec.code != http.StatusOK {
					t.Errorf("GET %s = %d, want 200", rec.url, rec.code)
				}
				if !bytes.Equal(rec.body, tt.embedded) {
					t.Errorf("GET %s body differs from the embedded file", rec.url)
				}
				got := map[string]string{}
				for _, h := range []string{"Cache-Control", "Content-Type", "X-Content-Type-Options", "ETag", "Access-Control-Allow-Origin"} {
					got[h] = rec.headers.Get(h)
				}
				want := map[string]string{
					"Cache-Control":               rec.cacheControl,
					"Content-Type":                tt.contentType,
					"X-Content-Type-Options":      "nosniff",
					"ETag":                        `"` + hex.EncodeToString(sum[:])[:16] + `"`,
					"Access-Control-Allow-Origin": "*",
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("GET %s headers (-want +got):\n%s", rec.url, diff)
				}
			}

			// A browser revalidating the stable name downloads nothing.
			again := get(t, b.public, tt.stable, "If-None-Match", stable.Header().Get("ETag"))
			if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
				t.Errorf("revalidate %s = %d with %d bytes, want 304 and none", tt.stable, again.Code, again.Body.Len())
			}
		})
	}
}

func TestAssetHashFollowsContent(t *testing.T) {
	t.Parallel()
	v1 := newAsset("leadflow", "js", "/embed.js", "text/javascript", []byte("console.log(1)\n"))
	v2 := newAsset("leadflow", "js", "/embed.js", "text/javascript", []byte("console.log(2)\n"))
	if v1.path == v2.path {
		t.Fatalf("two contents share the URL %s", v1.path)
	}
	for _, a := range []asset{v1, v2} {
		sum := sha256.Sum256(a.body)
		if want := "/assets/leadflow." + hex.EncodeToString(sum[:])[:16] + ".js"; a.path != want {
			t.Errorf("path = %q, want %q", a.path, want)
		}
	}
}

func TestScriptURL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	got := []string{b.site.ScriptURL(), b.site.StableScriptURL()}
	want := []string{testBaseURL + b.site.script.path, testBaseURL + "/embed.js"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("script URLs (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(b.site.script.path, "/assets/leadflow.") {
		t.Errorf("script path = %q", b.site.script.path)
	}
	if rec := get(t, b.public, "/assets/leadflow.0000000000000000.js"); rec.Code != http.StatusNotFound {
		t.Errorf("GET an unknown release's script = %d, want 404", rec.Code)
	}
}
