package qualify

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Bounds of names and emails set through the API.
const (
	apiMaxName  = 200
	apiMaxEmail = 254
)

// userRoles are the roles a user can have.
var userRoles = []string{store.UserAdmin, store.UserSalesRep, store.UserSalesManager, store.UserSalesAdmin, store.UserMarketing}

// User is how the API shows a store.User.
type User struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	Available bool      `json:"available"`
	CreatedAt time.Time `json:"created_at"`
}

func newUser(r store.User) User {
	return User{
		ID:        r.ID,
		Name:      r.Name,
		Email:     r.Email,
		Role:      r.Role,
		Available: r.Available,
		CreatedAt: r.CreatedAt,
	}
}

// apiUserInput is a user as POST and PATCH read it; members left out of a
// PATCH keep their values.
type apiUserInput struct {
	Name      *string `json:"name"`
	Email     *string `json:"email"`
	Role      *string `json:"role"`
	Available *bool   `json:"available"`
}

// apply validates in and copies it onto u, naming every field at fault.
func (in apiUserInput) apply(u *store.User) error {
	bad := map[string]string{}
	if in.Name != nil {
		u.Name = strings.TrimSpace(*in.Name)
	}
	switch {
	case u.Name == "":
		bad["name"] = "is required"
	case len(u.Name) > apiMaxName:
		bad["name"] = fmt.Sprintf("must be at most %d characters", apiMaxName)
	}
	if in.Email != nil {
		// Lower case: one person, one user, whatever the capitals.
		u.Email = strings.ToLower(strings.TrimSpace(*in.Email))
	}
	if u.Email == "" {
		bad["email"] = "is required"
	} else if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email || len(u.Email) > apiMaxEmail {
		bad["email"] = "must be an email address"
	}
	if in.Role != nil {
		u.Role = *in.Role
	}
	if !slices.Contains(userRoles, u.Role) {
		bad["role"] = "must be one of " + strings.Join(userRoles, ", ")
	}
	if in.Available != nil {
		u.Available = *in.Available
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	return nil
}

// apiEmailTaken names the email as the field at fault when another user of
// the workspace has it.
func apiEmailTaken(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: %w", err, invalid("email", "another user has this email"))
	}
	return err
}

func (a *API) createUser(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	var in apiUserInput
	if err := httpapi.Decode(c, apiMaxBody, &in); err != nil {
		return err
	}
	u := store.User{WorkspaceID: p.WorkspaceID, Available: true}
	if err := in.apply(&u); err != nil {
		return err
	}
	u, err = a.store.InsertUser(c.Request().Context(), u)
	if err != nil {
		return apiEmailTaken(err)
	}
	return c.JSON(http.StatusCreated, newUser(u))
}

func (a *API) listUsers(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	us, err := a.store.ListUsers(c.Request().Context(), p.WorkspaceID, page)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(httpapi.Map(us, newUser), limit, func(u User) uuid.UUID { return u.ID }))
}

func (a *API) getUser(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	u, err := a.store.GetUser(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newUser(u))
}

func (a *API) updateUser(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	var in apiUserInput
	if err := httpapi.Decode(c, apiMaxBody, &in); err != nil {
		return err
	}
	u, err := a.engine.updateUser(c.Request().Context(), p.WorkspaceID, id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newUser(u))
}
