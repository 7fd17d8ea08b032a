package embed

import (
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// apiKey is what the API shows of a key: never the key itself, which is
// shown once, when it is created.
type apiKey struct {
	ID         uuid.UUID  `json:"id"`
	Name       string     `json:"name"`
	Role       store.Role `json:"role"`
	Prefix     string     `json:"prefix"`
	UserID     *uuid.UUID `json:"user_id"`
	UserEmail  *string    `json:"user_email"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func newAPIKey(k store.APIKeyInfo) apiKey {
	return apiKey{ID: k.ID, Name: k.Name, Role: k.Role, Prefix: k.Prefix, UserID: k.UserID, UserEmail: k.UserEmail,
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

// listAPIKeys is GET /api/v1/api-keys: the workspace's keys, revoked ones
// too, newest first.
func (s *Site) listAPIKeys(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, show, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	ks, err := s.store.ListAPIKeys(c.Request().Context(), p.WorkspaceID, page)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(httpapi.Map(ks, newAPIKey), show, func(k apiKey) uuid.UUID { return k.ID }))
}

// revokeAPIKey is POST /api/v1/api-keys/{id}/revoke. Keys are looked up on
// every request, so the very next request made with a revoked key is
// refused.
func (s *Site) revokeAPIKey(c echo.Context) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	k, err := s.store.RevokeAPIKey(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	s.log.Info("api_key_revoked", "api_key_id", k.ID, "workspace_id", p.WorkspaceID, "by", p.Actor())
	return c.JSON(http.StatusOK, newAPIKey(k))
}
