package store

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"
)

// Paging limits of every list.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 200
)

// Page is one page of a list, newest first, keyset-paged on the
// time-ordered ID.
type Page struct {
	// Before is the last ID of the previous page; uuid.Nil starts at the
	// newest row.
	Before uuid.UUID
	// Limit is how many rows to return; callers wanting to know whether a
	// next page exists ask for one more than they show.
	Limit int
}

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
func ParsePage(limit, cursor string) (p Page, show int, err error) {
	show = DefaultPageLimit
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 {
			return Page{}, 0, fmt.Errorf("%w: limit must be a positive integer", ErrBadPage)
		}
		show = min(n, MaxPageLimit)
	}
	var before uuid.UUID
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err == nil {
			before, err = uuid.FromBytes(b)
		}
		if err != nil || before == uuid.Nil {
			return Page{}, 0, fmt.Errorf("%w: cursor is not valid: pass next_cursor back unchanged", ErrBadPage)
		}
	}
	return Page{Before: before, Limit: show + 1}, show, nil
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

// ParseID reads a record ID from a request. A malformed ID names no record,
// so it is ErrNotFound, answered like a missing one.
func ParseID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, fmt.Errorf("id: %w", ErrNotFound)
	}
	return id, nil
}
