package embed

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Snippet is the HTML marketing pastes into a website to capture a form.
type Snippet struct {
	// HTML is a plain HTML form posting Salesforce Web-to-Lead field names,
	// followed by the script tag that enhances it; it works with JavaScript
	// off.
	HTML string `json:"html"`
	// ScriptURL is the script's stable URL: a pasted snippet is never
	// updated, so it must not name a release's hashed file.
	ScriptURL string `json:"script_url"`
	// ActionURL is where the form posts.
	ActionURL string `json:"action_url"`
}

// snippetView is what snippet.html renders.
type snippetView struct {
	formView
	ScriptURL string
}

// snippet is GET /api/v1/forms/{id}/snippet.
func (s *Site) snippet(c echo.Context) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return fmt.Errorf("form snippet: %w", err)
	}
	f, err := s.store.GetForm(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return fmt.Errorf("form snippet: %w", err)
	}
	sn, err := s.Snippet(f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sn)
}

// Snippet generates the copy-paste HTML for f.
func (s *Site) Snippet(f store.Form) (Snippet, error) {
	action := s.baseURL + "/f/" + f.Key
	v := snippetView{formView: newFormView(f, action), ScriptURL: s.StableScriptURL()}
	v.Snippet = true
	if ret, ok := returnURL(f); ok {
		v.Hidden = append(v.Hidden, hidden{Name: "retURL", Value: ret})
	}
	var buf bytes.Buffer
	if err := s.pages.snippet.Execute(&buf, v); err != nil {
		return Snippet{}, fmt.Errorf("render snippet: %w", err)
	}
	return Snippet{HTML: buf.String(), ScriptURL: v.ScriptURL, ActionURL: action}, nil
}

// returnURL is the retURL a Salesforce form carries: where a plain HTML post
// lands afterwards. The form's first allowed return URL is one leadflow will
// honour; without one, leadflow's own thank-you answer applies.
func returnURL(f store.Form) (string, bool) {
	for _, u := range f.AllowedReturnURLs {
		if _, ok := cspOrigin(u); ok {
			return u, true
		}
	}
	return "", false
}
