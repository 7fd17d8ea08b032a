package httpapi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/store"
)

// List is the shape of every list answer. NextCursor is null on the last
// page.
type List[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// ErrBadPage is a limit or cursor a list cannot be read with.
var ErrBadPage = errors.New("bad page")

// ParsePage reads a list request's limit and cursor (either may be ""). The
// page asks for one row more than it shows, to learn whether a next page
// exists; show is how many rows ListOf keeps.
func ParsePage(limit, cursor string) (p store.Page, show int, err error) {
	show = store.DefaultPageLimit
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 {
			return store.Page{}, 0, fmt.Errorf("%w: limit must be a positive integer", ErrBadPage)
		}
		show = min(n, store.MaxPageLimit)
	}
	var before uuid.UUID
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err == nil {
			before, err = uuid.FromBytes(b)
		}
		if err != nil || before == uuid.Nil {
			return store.Page{}, 0, fmt.Errorf("%w: cursor is not valid: pass next_cursor back unchanged", ErrBadPage)
		}
	}
	return store.Page{Before: before, Limit: show + 1}, show, nil
}

// ReadPage reads ?limit= and ?cursor= (see ParsePage); a bad one is 400.
func ReadPage(c echo.Context) (store.Page, int, error) {
	p, show, err := ParsePage(c.QueryParam("limit"), c.QueryParam("cursor"))
	if err != nil {
		return p, 0, echo.NewHTTPError(http.StatusBadRequest, strings.TrimPrefix(err.Error(), ErrBadPage.Error()+": "))
	}
	return p, show, nil
}

// ListOf keeps the first show rows and makes the next page's cursor from the
// last one kept. The cursor is opaque, so lists may later be ordered
// otherwise without breaking clients.
func ListOf[T any](rows []T, show int, id func(T) uuid.UUID) List[T] {
	out := List[T]{Items: rows}
	if out.Items == nil {
		out.Items = []T{}
	}
	if len(rows) > show {
		out.Items = rows[:show]
		last := id(rows[show-1])
		next := base64.RawURLEncoding.EncodeToString(last[:])
		out.NextCursor = &next
	}
	return out
}

// PathID parses the :id path parameter (see store.ParseID): a malformed ID
// is answered like a missing record.
func PathID(c echo.Context) (uuid.UUID, error) { return store.ParseID(c.Param("id")) }

// QueryID parses an optional ID query parameter; uuid.Nil when absent.
func QueryID(c echo.Context, name string) (uuid.UUID, error) {
	v := c.QueryParam(name)
	if v == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		return uuid.Nil, echo.NewHTTPError(http.StatusBadRequest, name+" is not a valid id")
	}
	return id, nil
}

// QueryOneOf reads an optional query parameter that must be one of allowed.
func QueryOneOf(c echo.Context, name string, allowed ...string) (string, error) {
	v := c.QueryParam(name)
	if v == "" {
		return "", nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("%s must be one of %s", name, strings.Join(allowed, ", ")))
}
