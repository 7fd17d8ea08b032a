package httpapi_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

func TestParsePageAndListOfWalkEveryRowOnce(t *testing.T) {
	t.Parallel()
	ids := make([]uuid.UUID, 7)
	for i := range ids {
		ids[len(ids)-1-i] = store.NewID() // newest first, as lists are
	}
	// A fake store query: the rows after Before, at most Limit of them.
	query := func(p store.Page) []uuid.UUID {
		start := 0
		if p.Before != uuid.Nil {
			for i, id := range ids {
				if id == p.Before {
					start = i + 1
				}
			}
		}
		return ids[start:min(len(ids), start+p.Limit)]
	}
	var seen []uuid.UUID
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("more pages than 7 rows in 3s need")
		}
		p, show, err := httpapi.ParsePage("3", cursor)
		if err != nil {
			t.Fatal(err)
		}
		l := httpapi.ListOf(query(p), show, func(id uuid.UUID) uuid.UUID { return id })
		seen = append(seen, l.Items...)
		if l.NextCursor == nil {
			break
		}
		cursor = *l.NextCursor
	}
	if fmt.Sprint(seen) != fmt.Sprint(ids) {
		t.Errorf("pages gave %v, want every row once in order %v", seen, ids)
	}
}

func TestParsePageRefusesBadInput(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{{"0", ""}, {"-1", ""}, {"x", ""}, {"", "not-a-cursor"}, {"", "AAAAAAAAAAAAAAAAAAAAAA"}} {
		if _, _, err := httpapi.ParsePage(c[0], c[1]); !errors.Is(err, httpapi.ErrBadPage) {
			t.Errorf("ParsePage(%q, %q) = %v, want ErrBadPage", c[0], c[1], err)
		}
	}
	p, show, err := httpapi.ParsePage("1000", "")
	if err != nil || show != store.MaxPageLimit || p.Limit != store.MaxPageLimit+1 {
		t.Errorf("limit 1000 = %+v, %d, %v; want capped at %d", p, show, err, store.MaxPageLimit)
	}
	if l := httpapi.ListOf[int](nil, 5, nil); l.Items == nil || l.NextCursor != nil {
		t.Errorf("an empty list = %+v, want [] and no cursor", l)
	}
}
