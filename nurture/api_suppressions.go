package nurture

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// SuppressionRemoval is how the API shows a store.SuppressionRemoval: the
// suppression taken back (its reason and since when), who took it back,
// when and why.
type SuppressionRemoval struct {
	ID             uuid.UUID `json:"id"`
	EmailCanonical string    `json:"email"`
	Reason         string    `json:"suppress_reason"`
	SuppressedAt   time.Time `json:"suppressed_at"`
	RemovedBy      string    `json:"removed_by"`
	Why            string    `json:"reason"`
	RemovedAt      time.Time `json:"removed_at"`
}

func newSuppressionRemoval(r store.SuppressionRemoval) SuppressionRemoval {
	return SuppressionRemoval{
		ID:             r.ID,
		EmailCanonical: r.EmailCanonical,
		Reason:         r.Reason,
		SuppressedAt:   r.SuppressedAt,
		RemovedBy:      r.RemovedBy,
		Why:            r.Why,
		RemovedAt:      r.RemovedAt,
	}
}

// deleteSuppression takes the path's address off the suppression list. The
// reason is the body's "reason", or ?reason= for clients that send no body
// with a DELETE; either way it is required.
func (e *Engine) deleteSuppression(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	email := c.Param("email")
	if u, err := url.PathUnescape(email); err == nil {
		email = u
	}
	_, members, err := httpapi.ReadOptionalObject(c, apiMaxBody)
	if err != nil {
		return err
	}
	var why string
	if err := httpapi.Bind(members, map[string]any{"reason": &why}); err != nil {
		return err
	}
	if strings.TrimSpace(why) == "" {
		why = c.QueryParam("reason")
	}
	r, err := e.RemoveSuppression(c.Request().Context(), p.WorkspaceID, email, why, p.Actor())
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, strings.TrimSpace(email)+" is not suppressed")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newSuppressionRemoval(r))
}
