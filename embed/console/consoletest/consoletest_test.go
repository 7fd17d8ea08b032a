package consoletest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// net/http's idle keep-alive connections of the browser's requests.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

var browsers Shared

// fieldsPage has a field of each kind Type must replace the text of: filled
// by the server, empty, and (once typed into) changed by the person.
const fieldsPage = `<!doctype html><html><head><title>fields</title></head><body><main>
<form>
<input id="filled" name="filled" value="from the server">
<input id="empty" name="empty">
<textarea id="area-filled" name="area-filled">line one
line two</textarea>
<textarea id="area-empty" name="area-empty"></textarea>
</form>
</main></body></html>`

func TestTypeReplacesTheTextOfInputsAndTextareas(t *testing.T) {
	if _, err := ChromiumPath(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(fieldsPage))
	}))
	t.Cleanup(srv.Close)
	tab := browsers.Tab(t, srv.URL)
	tab.Open("/")
	for _, css := range []string{"#filled", "#empty", "#area-filled", "#area-empty"} {
		// Twice: the second Type replaces what the first typed (the
		// field is then changed, no longer its default).
		for _, text := range []string{"first text", "second"} {
			tab.Type(css, text)
			if got := tab.Value(css); got != text {
				t.Errorf("%s after typing %q holds %q", css, text, got)
			}
		}
		tab.Type(css, "")
		if got := tab.Value(css); got != "" {
			t.Errorf("%s after typing nothing holds %q, want it empty", css, got)
		}
	}
	tab.Shot("fields")
}
