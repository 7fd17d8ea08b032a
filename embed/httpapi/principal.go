package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/store"
)

// Principal is who makes a request: an API key (KeyID set, and UserID when
// the key acts as a person), or a person signed in to the console (UserID
// set, KeyID zero); its workspace and its role.
type Principal struct {
	KeyID       uuid.UUID
	UserID      uuid.UUID
	WorkspaceID uuid.UUID
	Role        store.Role
}

// Actor names the principal in audit trails: the key when a key made the
// request, else the person.
func (p Principal) Actor() string {
	if p.KeyID == uuid.Nil && p.UserID != uuid.Nil {
		return "user:" + p.UserID.String()
	}
	return "api_key:" + p.KeyID.String()
}

type principalKey struct{}

// WithPrincipal returns ctx carrying the authenticated principal.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal the request was authenticated as.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// PrincipalOf is the principal of an authenticated request; a request
// without one is 401.
func PrincipalOf(c echo.Context) (Principal, error) {
	p, ok := PrincipalFrom(c.Request().Context())
	if !ok {
		return Principal{}, echo.NewHTTPError(http.StatusUnauthorized, "missing API key")
	}
	return p, nil
}

// Record is the principal and the :id of a request on one record.
func Record(c echo.Context) (Principal, uuid.UUID, error) {
	p, err := PrincipalOf(c)
	if err != nil {
		return p, uuid.Nil, err
	}
	id, err := PathID(c)
	return p, id, err
}

// Authenticate authenticates an admin API request by its bearer key and
// puts the key's principal on the request context. The key is hashed,
// never logged.
func Authenticate(st *store.Store) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			secret, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
			if !ok {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="leadflow"`)
				return echo.NewHTTPError(http.StatusUnauthorized, "missing API key: send Authorization: Bearer KEY")
			}
			key, err := st.AuthenticateAPIKey(c.Request().Context(), secret)
			if errors.Is(err, store.ErrNotFound) {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="leadflow", error="invalid_token"`)
				return echo.NewHTTPError(http.StatusUnauthorized, "invalid API key")
			}
			if err != nil {
				return fmt.Errorf("authenticate api key: %w", err)
			}
			p := Principal{KeyID: key.ID, WorkspaceID: key.WorkspaceID, Role: key.Role}
			if key.UserID != nil {
				p.UserID = *key.UserID
			}
			ctx := WithPrincipal(c.Request().Context(), p)
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// bearerToken extracts the token of an "Authorization: Bearer TOKEN" header.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	// Real keys are short; anything longer is not worth hashing.
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || len(token) > 256 {
		return "", false
	}
	return token, true
}

// RequireRole lets a request through when its principal has one of roles;
// admins may do everything.
func RequireRole(roles ...store.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, err := PrincipalOf(c)
			if err != nil {
				return err
			}
			if p.Role != store.RoleAdmin && !slices.Contains(roles, p.Role) {
				return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf("a %s key may not do this", p.Role))
			}
			return next(c)
		}
	}
}
