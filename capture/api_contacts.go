package capture

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/nyaruka/phonenumbers"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// apiContact is a contact as the API reads it.
type apiContact struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
	Company   string `json:"company"`
	Title     string `json:"title"`
	// Country, when a two-letter region code, is also how a phone number
	// without a leading + is read.
	Country string `json:"country"`
}

// Contact is how the API shows a store.Contact.
type Contact struct {
	ID        uuid.UUID `json:"id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone"`
	Company   string    `json:"company"`
	Title     string    `json:"title"`
	Country   string    `json:"country"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// AccountID is the organisation the contact works for, once known.
	AccountID *uuid.UUID `json:"account_id"`
	// Account names that organisation where the answer reads it (a contact
	// and the contacts list); null when the contact has none.
	Account *ContactAccount `json:"account"`
}

// ContactAccount is the account a contact works for.
type ContactAccount struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// newContactWithAccount is newContact with the contact's account named.
func newContactWithAccount(r store.ContactWithAccount) Contact {
	ct := newContact(r.Contact)
	if r.AccountID != nil {
		ct.Account = &ContactAccount{ID: *r.AccountID, Name: r.AccountName}
	}
	return ct
}

func newContact(r store.Contact) Contact {
	return Contact{
		ID:        r.ID,
		FirstName: r.FirstName,
		LastName:  r.LastName,
		Email:     r.Email,
		Phone:     r.Phone,
		Company:   r.Company,
		Title:     r.Title,
		Country:   r.Country,
		CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt,
		AccountID: r.AccountID,
	}
}

func (a *API) createContact(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	var b apiContact
	if err := httpapi.Decode(c, apiMaxBody, &b); err != nil {
		return err
	}
	ct := store.Contact{
		WorkspaceID: p.WorkspaceID,
		FirstName:   NormalizeName(b.FirstName),
		LastName:    NormalizeName(b.LastName),
		Company:     NormalizeLine(b.Company),
		Title:       NormalizeLine(b.Title),
		Country:     NormalizeLine(b.Country),
	}
	bad := map[string]string{}
	for name, v := range map[string]string{
		"first_name": ct.FirstName, "last_name": ct.LastName, "company": ct.Company,
		"title": ct.Title, "country": ct.Country,
	} {
		if len(v) > apiMaxTextLen {
			bad[name] = fmt.Sprintf("must be at most %d characters", apiMaxTextLen)
		}
	}
	if strings.TrimSpace(b.Email) != "" {
		if ct.Email, ct.EmailCanonical, err = NormalizeEmail(b.Email); err != nil {
			bad["email"] = err.Error()
		}
	}
	if strings.TrimSpace(b.Phone) != "" {
		region := strings.ToUpper(ct.Country)
		if !phonenumbers.GetSupportedRegions()[region] {
			region = store.DefaultFormRegion
		}
		if ct.Phone, err = NormalizePhone(b.Phone, region); err != nil {
			bad["phone"] = err.Error()
		}
	}
	if strings.TrimSpace(b.Email) == "" && strings.TrimSpace(b.Phone) == "" {
		bad["email"] = "email or phone is required"
		bad["phone"] = "email or phone is required"
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	ct, err = a.store.InsertContact(c.Request().Context(), ct)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: %w", err, &ValidationError{Fields: map[string]string{"email": "a contact with this email exists"}})
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newContact(ct))
}

func (a *API) listContacts(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	f := store.ContactFilter{Page: page, Q: strings.TrimSpace(c.QueryParam("q"))}
	if len(f.Q) > apiMaxTextLen {
		return echo.NewHTTPError(http.StatusBadRequest, "q is too long")
	}
	if email := c.QueryParam("email"); email != "" {
		f.EmailCanonical = apiCanonicalEmail(email)
	}
	cs, err := a.store.ListContactsWithAccount(c.Request().Context(), p.WorkspaceID, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(httpapi.Map(cs, newContactWithAccount), limit, func(ct Contact) uuid.UUID { return ct.ID }))
}

func (a *API) getContact(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	ct, err := a.store.GetContactWithAccount(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newContactWithAccount(ct))
}
