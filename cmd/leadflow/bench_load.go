package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/text/unicode/norm"

	"leadflow/capture"
	"leadflow/capture/traffic"
	"leadflow/store"
)

// benchPeople are the names and companies the bench's leads, contacts and
// posts are made of: the realistic people of capture/traffic (accents,
// namesakes, legal suffixes), mixed so that a million leads have a million
// addresses and phones while their names repeat as real names do, which
// is what the name matching has to cope with.
type benchPeople struct {
	first, last, company, domain []string
}

func newBenchPeople() benchPeople {
	tr := traffic.Generate(traffic.Config{Seed: 42, People: 2000})
	var p benchPeople
	seenCo := map[string]bool{}
	for _, person := range tr.People {
		p.first = append(p.first, person.FirstName)
		p.last = append(p.last, person.LastName)
		if !seenCo[person.Company] {
			seenCo[person.Company] = true
			_, domain, _ := strings.Cut(person.WorkEmail, "@")
			p.company = append(p.company, person.Company)
			p.domain = append(p.domain, domain)
		}
	}
	return p
}

// person i of a stream (leads "l", contacts "c", posts "p"): a name, an
// address no one else has, a company, and a phone of the stream's own
// range, so that posts never share a loaded lead's phone.
type benchPerson struct {
	first, last, email, company, phone string
}

// benchAreas: loaded leads and contacts take the first four, posts the
// others, so a post's phone is its own.
var benchAreas = [...]string{"212", "312", "415", "617", "646", "702", "303", "206"}

func (p benchPeople) person(stream string, i int) benchPerson {
	h := uint64(i)*0x9e3779b97f4a7c15 ^ uint64(len(stream))*0xbf58476d1ce4e5b9
	first := p.first[h%uint64(len(p.first))]
	last := p.last[(h>>20)%uint64(len(p.last))]
	co := int((h >> 40) % uint64(len(p.company)))
	area := benchAreas[i%4]
	if stream == "p" {
		area = benchAreas[4+i%4]
	}
	// Seven digits, exchange 200-999: a number libphonenumber takes.
	num := 2000000 + (i/4)%8000000
	if stream == "c" {
		num = 9999999 - (i/4)%4000000
	}
	return benchPerson{
		first: first, last: last, company: p.company[co],
		email: asciiLocal(first) + "." + asciiLocal(last) + "." + stream + strconv.Itoa(i) + "@" + p.domain[co],
		phone: "+1" + area + strconv.Itoa(num),
	}
}

func asciiLocal(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		} else if !unicode.Is(unicode.Mn, r) && b.Len() > 0 {
			b.WriteByte('x')
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}

// loadLeads copies n leads with their identities, and n/10 contacts, into
// the workspace, created over the last two years, and returns the IDs of
// the first keep leads (the enrolments' leads).
func loadLeads(ctx context.Context, st *store.Store, ws uuid.UUID, people benchPeople, n, keep int) ([]uuid.UUID, error) {
	now := time.Now()
	ids := make([]uuid.UUID, 0, keep)
	conn, err := st.Pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	const batch = 50000
	for from := 0; from < n; from += batch {
		to := min(n, from+batch)
		leadRows := make([][]any, 0, to-from)
		identityRows := make([][]any, 0, to-from)
		for i := from; i < to; i++ {
			p := people.person("l", i)
			_, canonical, err := capture.NormalizeEmail(p.email)
			if err != nil {
				return nil, fmt.Errorf("lead %d email %q: %w", i, p.email, err)
			}
			id := store.NewID()
			if len(ids) < keep {
				ids = append(ids, id)
			}
			created := now.Add(-time.Duration(n-i) * (2 * 365 * 24 * time.Hour / time.Duration(n+1)))
			leadRows = append(leadRows, []any{id, ws, p.first, p.last, p.email, canonical, p.phone, p.company,
				"Manager", "US", "Web", "platform", created, created})
			identityRows = append(identityRows, []any{ws, canonical, id, p.email, created})
		}
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"leads"},
			[]string{"id", "workspace_id", "first_name", "last_name", "email", "email_canonical", "phone", "company",
				"title", "country", "lead_source", "primary_interest", "created_at", "updated_at"},
			pgx.CopyFromRows(leadRows)); err != nil {
			return nil, fmt.Errorf("copy leads: %w", err)
		}
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"lead_identities"},
			[]string{"workspace_id", "email_canonical", "lead_id", "email", "created_at"},
			pgx.CopyFromRows(identityRows)); err != nil {
			return nil, fmt.Errorf("copy lead identities: %w", err)
		}
	}
	contacts := n / 10
	rows := make([][]any, 0, min(contacts, batch))
	flush := func() error {
		_, err := conn.CopyFrom(ctx, pgx.Identifier{"contacts"},
			[]string{"id", "workspace_id", "first_name", "last_name", "email", "email_canonical", "phone", "company", "title", "country"},
			pgx.CopyFromRows(rows))
		rows = rows[:0]
		if err != nil {
			return fmt.Errorf("copy contacts: %w", err)
		}
		return nil
	}
	for i := range contacts {
		p := people.person("c", i)
		_, canonical, err := capture.NormalizeEmail(p.email)
		if err != nil {
			return nil, fmt.Errorf("contact %d email %q: %w", i, p.email, err)
		}
		rows = append(rows, []any{store.NewID(), ws, p.first, p.last, p.email, canonical, p.phone, p.company, "Director", "US"})
		if len(rows) == batch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if len(rows) > 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if _, err := conn.Exec(ctx, `VACUUM ANALYZE leads, lead_identities, contacts, lead_status_history, lead_funnel`); err != nil {
		return nil, fmt.Errorf("analyse: %w", err)
	}
	return ids, nil
}

// loadEnrolments copies one active enrollment of the sequence per lead, at
// step stepKey, due one after another at rate a second from first.
func loadEnrolments(ctx context.Context, st *store.Store, ws, seq uuid.UUID, leads []uuid.UUID, stepKey string, first time.Time, rate float64) error {
	now := time.Now()
	rows := make([][]any, len(leads))
	for i, lead := range leads {
		due := first.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		rows[i] = []any{store.NewID(), ws, seq, lead, "active", stepKey, due, "bench", now, now}
	}
	_, err := st.Pool.CopyFrom(ctx, pgx.Identifier{"enrollments"},
		[]string{"id", "workspace_id", "sequence_id", "lead_id", "state", "step_key", "next_run_at", "enrolled_by", "created_at", "updated_at"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("copy enrollments: %w", err)
	}
	return nil
}
