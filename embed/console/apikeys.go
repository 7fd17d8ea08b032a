package console

import (
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

//go:embed templates/apikeys.html
var apiKeysHTML string

// apiKeyRoles are the roles a key may have, as people read them.
var apiKeyRoles = []struct {
	Value store.Role
	Label string
}{
	{store.RoleAdmin, "Admin"},
	{store.RoleMarketing, "Marketing"},
	{store.RoleSales, "Sales"},
}

// maxAPIKeyName bounds a key's label.
const maxAPIKeyName = 200

// apiKeyForm is the new-key form as posted, with its errors by field.
type apiKeyForm struct {
	Name, Role, User string
	Errors           map[string]string
}

type apiKeysView struct {
	Keys  []store.APIKeyInfo
	Roles any
	Form  apiKeyForm
	// Created and Secret are the key just made: the only time its secret
	// is shown.
	Created       *store.APIKey
	Secret        string
	Next          string
	Notice, Error string
}

// apiKeys lists the workspace's keys, newest first, a page at a time
// (?cursor= as the API's).
func (c *Console) apiKeys(ec echo.Context) error {
	v := apiKeysView{Form: apiKeyForm{Role: string(store.RoleMarketing)}}
	if ec.QueryParam("revoked") != "" {
		v.Notice = "Key revoked: requests made with it are refused from now on."
	}
	return c.renderAPIKeys(ec, http.StatusOK, v)
}

func (c *Console) renderAPIKeys(ec echo.Context, status int, v apiKeysView) error {
	me, _ := SignedIn(ec)
	page, show, err := httpapi.ParsePage("", ec.QueryParam("cursor"))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "that page of keys does not exist: start from the first")
	}
	ks, err := c.store.ListAPIKeys(ec.Request().Context(), me.WorkspaceID, page)
	if err != nil {
		return fmt.Errorf("api keys page: %w", err)
	}
	list := httpapi.ListOf(ks, show, func(k store.APIKeyInfo) uuid.UUID { return k.ID })
	v.Keys, v.Roles = list.Items, apiKeyRoles
	if list.NextCursor != nil {
		v.Next = "/console/api-keys?cursor=" + *list.NextCursor
	}
	return c.Render(ec, status, c.pages.apiKeys, "API keys", v)
}

// createAPIKey makes a key and shows it once, in the answer to the post:
// it is never stored, so it can be neither redirected to nor shown again.
func (c *Console) createAPIKey(ec echo.Context) error {
	ctx := ec.Request().Context()
	me, _ := SignedIn(ec)
	f := apiKeyForm{
		Name:   strings.TrimSpace(ec.FormValue("name")),
		Role:   ec.FormValue("role"),
		User:   strings.TrimSpace(ec.FormValue("user")),
		Errors: map[string]string{},
	}
	if f.Name == "" || len(f.Name) > maxAPIKeyName {
		f.Errors["name"] = fmt.Sprintf("Name the key (1 to %d characters): what uses it.", maxAPIKeyName)
	}
	if !store.Role(f.Role).Valid() {
		f.Errors["role"] = "Choose a role."
	}
	var userID *uuid.UUID
	if f.User != "" {
		u, err := c.store.UserByEmail(ctx, me.WorkspaceID, f.User)
		switch {
		case errors.Is(err, store.ErrNotFound):
			f.Errors["user"] = "Nobody in this workspace has this address."
		case err != nil:
			return fmt.Errorf("create api key: %w", err)
		default:
			userID = &u.ID
		}
	}
	if len(f.Errors) > 0 {
		return c.renderAPIKeys(ec, http.StatusUnprocessableEntity, apiKeysView{Roles: apiKeyRoles, Form: f, Error: "The key was not made: see the fields below."})
	}
	secret := httpapi.NewAPIKeySecret()
	k, err := c.store.InsertAPIKey(ctx, store.APIKey{WorkspaceID: me.WorkspaceID, Role: store.Role(f.Role), Name: f.Name,
		Prefix: httpapi.APIKeyPrefix(secret), UserID: userID}, secret)
	if err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	c.log.Info("api_key_created", "api_key_id", k.ID, "workspace_id", me.WorkspaceID, "role", k.Role, "by_user_id", me.ID)
	return c.renderAPIKeys(ec, http.StatusCreated, apiKeysView{Form: apiKeyForm{Role: f.Role}, Created: &k, Secret: secret})
}

// revokeAPIKey revokes a key; keys are looked up on every request, so the
// next request made with it is refused.
func (c *Console) revokeAPIKey(ec echo.Context) error {
	me, _ := SignedIn(ec)
	id, err := uuid.Parse(ec.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "no such key")
	}
	k, err := c.store.RevokeAPIKey(ec.Request().Context(), me.WorkspaceID, id)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "no such key")
	}
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	c.log.Info("api_key_revoked", "api_key_id", k.ID, "workspace_id", me.WorkspaceID, "by_user_id", me.ID)
	return ec.Redirect(http.StatusSeeOther, "/console/api-keys?revoked=1")
}
