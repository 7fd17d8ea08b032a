package store

import (
	"fmt"

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

// ParseID reads a record ID from a request. A malformed ID names no record,
// so it is ErrNotFound, answered like a missing one.
func ParseID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, fmt.Errorf("id: %w", ErrNotFound)
	}
	return id, nil
}
