package capture_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"leadflow/capture"
	"leadflow/capture/traffic"
	"leadflow/store"
)

// identityScore is how well resolution told the generated people apart.
type identityScore struct {
	persons, leads, submissions int
	// wronglyMerged: persons sharing a lead with another person.
	wronglyMerged int
	// split: persons whose submissions ended on more than one lead;
	// splitUnflagged: those whose leads no possible duplicate joins.
	split, splitUnflagged int
	// flags and goodFlags: open possible duplicates, and those joining one
	// person's records.
	flags, goodFlags int
	// contactLeads: leads holding a submission that gave its person's
	// contact's email or phone, and leads linked to any contact;
	// contactLinked: those linked to exactly their person's contact.
	contactLeads, contactLinked int
}

// BenchmarkIdentityTraffic posts seeded, messy form traffic with a known
// person behind each submission through the real intake endpoint, resolves
// it with the real response:process worker, and scores the leads made:
// persons wrongly merged (goal 0), persons split across leads (goal <= 2%,
// each joined by a possible-duplicate flag), flag precision (goal >= 80%)
// and contacts linked correctly (goal 100%). Run it alone, once:
//
//	go test -run '^$' -bench BenchmarkIdentityTraffic -benchtime 1x ./capture/
//
// LEADFLOW_IDENTITY_SEEDS picks the seeds (comma-separated, default 1,2,3);
// LEADFLOW_IDENTITY_SPLITS=1 logs each split person's submissions and the
// lead each one ended on, to see why they were not matched (run with -v).
func BenchmarkIdentityTraffic(b *testing.B) {
	benchIdentity(b, traffic.Config{People: 400})
}

// BenchmarkNamesakeColleagues is BenchmarkIdentityTraffic on traffic where
// 5% of people share their name with a colleague, far more than real firms
// have: a stress of the rules that join by name (persons wrongly merged,
// goal 0) and of contact links. Its flag precision is low by design: a
// namesake colleague writing from a personal address is a pair a person has
// to look at.
//
//	go test -run '^$' -bench BenchmarkNamesakeColleagues -benchtime 1x ./capture/
func BenchmarkNamesakeColleagues(b *testing.B) {
	benchIdentity(b, traffic.Config{People: 400, NamesakeColleagues: 0.05})
}

func benchIdentity(b *testing.B, cfg traffic.Config) {
	seeds, err := identitySeeds(os.Getenv("LEADFLOW_IDENTITY_SEEDS"))
	if err != nil {
		b.Fatal(err)
	}
	for _, seed := range seeds {
		b.Run(fmt.Sprintf("seed=%d", seed), func(b *testing.B) {
			cfg.Seed = seed
			tr := traffic.Generate(cfg)
			var s identityScore
			for range b.N {
				s = runIdentityTraffic(b, tr)
			}
			reportIdentity(b, s)
		})
	}
}

func identitySeeds(list string) ([]uint64, error) {
	if strings.TrimSpace(list) == "" {
		return []uint64{1, 2, 3}, nil
	}
	var seeds []uint64
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("LEADFLOW_IDENTITY_SEEDS: %w", err)
		}
		seeds = append(seeds, n)
	}
	return seeds, nil
}

func reportIdentity(b *testing.B, s identityScore) {
	pct := func(n, of int) float64 {
		if of == 0 {
			return 0
		}
		return 100 * float64(n) / float64(of)
	}
	b.ReportMetric(float64(s.submissions), "submissions")
	b.ReportMetric(float64(s.persons), "persons")
	b.ReportMetric(float64(s.leads), "leads")
	b.ReportMetric(float64(s.wronglyMerged), "persons_wrongly_merged")
	b.ReportMetric(pct(s.split, s.persons), "split_%")
	b.ReportMetric(float64(s.splitUnflagged), "splits_unflagged")
	b.ReportMetric(float64(s.flags), "flags")
	b.ReportMetric(pct(s.goodFlags, s.flags), "flag_precision_%")
	b.ReportMetric(pct(s.contactLinked, s.contactLeads), "contacts_linked_%")
}

func runIdentityTraffic(b *testing.B, tr traffic.Traffic) identityScore {
	b.StopTimer()
	ctx := context.Background()
	ib := setupIntake(b, intakeOptions{})
	form := ib.newForm(b, store.Form{})
	proc, err := capture.NewProcessor(capture.ProcessorConfig{Store: ib.store})
	if err != nil {
		b.Fatal(err)
	}
	contactPerson := map[uuid.UUID]int{}
	personContact := map[int]uuid.UUID{}
	for _, c := range tr.Contacts {
		ct := store.Contact{WorkspaceID: ib.workspace.ID, FirstName: c.FirstName, LastName: c.LastName, Company: c.Company}
		if ct.Email, ct.EmailCanonical, err = capture.NormalizeEmail(c.Email); err != nil {
			b.Fatal(err)
		}
		if c.Phone != "" {
			if ct.Phone, err = capture.NormalizePhone(c.Phone, "US"); err != nil {
				b.Fatal(err)
			}
		}
		saved, err := ib.store.InsertContact(ctx, ct)
		if err != nil {
			b.Fatal(err)
		}
		contactPerson[saved.ID] = c.PersonID
		personContact[c.PersonID] = saved.ID
	}

	b.StartTimer()
	responsePerson := map[uuid.UUID]int{}
	responseSub := map[uuid.UUID]int{}
	// Responses that carry their person's contact's email or phone.
	knowsContact := map[uuid.UUID]bool{}
	carries := carriesContact(tr)
	for i, sub := range tr.Submissions {
		rec := ib.do(b, intakeRequest{key: form.Key, contentType: "application/x-www-form-urlencoded",
			body: strings.NewReader(sub.Values.Encode()), header: map[string]string{"Accept": "application/json"}})
		if rec.Code != http.StatusAccepted {
			b.Fatalf("post %v: status %d: %s", sub.Values, rec.Code, rec.Body)
		}
		id := acceptedID(b, rec)
		responsePerson[id] = sub.PersonID
		responseSub[id] = i
		knowsContact[id] = carries[i]
	}
	// One worker, so the submissions resolve in the order they came.
	srv := asynq.NewServerFromRedisClient(ib.redis, asynq.Config{
		Concurrency: 1, Queues: map[string]int{capture.Queue: 1}, LogLevel: asynq.FatalLevel,
		ShutdownTimeout: 10 * time.Second,
	})
	mux := asynq.NewServeMux()
	mux.Handle(capture.TypeProcessResponse, proc)
	if err := srv.Start(mux); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var pending int
		if err := ib.store.Pool.QueryRow(ctx, `SELECT count(*) FROM responses WHERE status <> 'processed'`).Scan(&pending); err != nil {
			b.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d responses still not processed", pending)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	srv.Shutdown()
	b.StopTimer()
	sc := scoreIdentity(b, ib.store, tr, responsePerson, knowsContact, contactPerson, personContact)
	if os.Getenv("LEADFLOW_IDENTITY_SPLITS") != "" {
		logSplits(b, ib.store, tr, responseSub)
	}
	return sc
}

// logSplits logs every person whose submissions ended on several leads: the
// person, then each submission in the order it was resolved with its lead.
func logSplits(b *testing.B, s *store.Store, tr traffic.Traffic, responseSub map[uuid.UUID]int) {
	ctx := context.Background()
	type landed struct {
		sub  int
		lead uuid.UUID
	}
	byPerson := map[int][]landed{}
	rows, err := s.Pool.Query(ctx, `SELECT id, lead_id FROM responses`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id, lead uuid.UUID
		if err := rows.Scan(&id, &lead); err != nil {
			b.Fatal(err)
		}
		i := responseSub[id]
		byPerson[tr.Submissions[i].PersonID] = append(byPerson[tr.Submissions[i].PersonID], landed{i, lead})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	for _, p := range tr.People {
		subs := byPerson[p.ID]
		leads := map[uuid.UUID]bool{}
		for _, l := range subs {
			leads[l.lead] = true
		}
		if len(leads) < 2 {
			continue
		}
		slices.SortFunc(subs, func(x, y landed) int { return x.sub - y.sub })
		var out strings.Builder
		fmt.Fprintf(&out, "split person %d %s %s (%s) work=%s personal=%s mobile=%s office=%s ext=%s contact=%v twin_of=%d\n",
			p.ID, p.FirstName, p.LastName, p.Company, p.WorkEmail, p.PersonalEmail, p.Mobile, p.Office, p.Extension,
			p.IsContact, p.NameTwinOf)
		for _, l := range subs {
			v := tr.Submissions[l.sub].Values
			fmt.Fprintf(&out, "  #%d lead=%s first=%q last=%q email=%q phone=%q company=%q\n", l.sub, l.lead.String()[:8],
				v.Get("first_name"), v.Get("last_name"), v.Get("email"), v.Get("phone"), v.Get("company"))
		}
		b.Log(out.String())
	}

	// Flags joining no common person, with whose leads they join.
	leadPeople := map[uuid.UUID]map[int]bool{}
	for p, subs := range byPerson {
		for _, l := range subs {
			if leadPeople[l.lead] == nil {
				leadPeople[l.lead] = map[int]bool{}
			}
			leadPeople[l.lead][p] = true
		}
	}
	// Leads holding several people, with how each submission found them.
	for lead, ps := range leadPeople {
		if len(ps) < 2 {
			continue
		}
		rows, err := s.Pool.Query(ctx, `SELECT r.id, coalesce(a.detail->>'matched_by', a.action) FROM responses r
			JOIN lead_audit a ON a.response_id = r.id AND a.action IN ('created', 'response_merged', 'merged')
			WHERE r.lead_id = $1 ORDER BY r.id`, lead)
		if err != nil {
			b.Fatal(err)
		}
		var out strings.Builder
		fmt.Fprintf(&out, "wrongly merged lead %s persons %v\n", lead, slices.Sorted(maps.Keys(ps)))
		for rows.Next() {
			var id uuid.UUID
			var how string
			if err := rows.Scan(&id, &how); err != nil {
				b.Fatal(err)
			}
			v := tr.Submissions[responseSub[id]].Values
			fmt.Fprintf(&out, "  person %d %s: first=%q last=%q email=%q phone=%q company=%q\n", tr.Submissions[responseSub[id]].PersonID,
				how, v.Get("first_name"), v.Get("last_name"), v.Get("email"), v.Get("phone"), v.Get("company"))
		}
		rows.Close()
		b.Log(out.String())
	}
	rows, err = s.Pool.Query(ctx, `SELECT d.lead_id, d.match_lead_id, d.match_contact_id, d.reason, d.similarity,
			l.first_name || ' ' || l.last_name || ' <' || l.email || '> ' || l.company || ' ' || l.phone,
			coalesce(m.first_name || ' ' || m.last_name || ' <' || m.email || '> ' || m.company || ' ' || m.phone,
				c.first_name || ' ' || c.last_name || ' <' || c.email || '> ' || c.company || ' ' || c.phone)
		FROM possible_duplicates d JOIN leads l ON l.id = d.lead_id
		LEFT JOIN leads m ON m.id = d.match_lead_id LEFT JOIN contacts c ON c.id = d.match_contact_id
		WHERE d.status = 'open'`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var lead uuid.UUID
		var matchLead, matchContact *uuid.UUID
		var reason, a, c string
		var sim float32
		if err := rows.Scan(&lead, &matchLead, &matchContact, &reason, &sim, &a, &c); err != nil {
			b.Fatal(err)
		}
		if matchLead == nil {
			continue
		}
		good := false
		for p := range leadPeople[lead] {
			good = good || leadPeople[*matchLead][p]
		}
		if !good {
			b.Logf("wrong flag %s %.2f: %s %v | %s %v", reason, sim, a, slices.Sorted(maps.Keys(leadPeople[lead])),
				c, slices.Sorted(maps.Keys(leadPeople[*matchLead])))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
}

func scoreIdentity(b *testing.B, s *store.Store, tr traffic.Traffic, responsePerson map[uuid.UUID]int,
	knowsContact map[uuid.UUID]bool, contactPerson map[uuid.UUID]int, personContact map[int]uuid.UUID) identityScore {
	ctx := context.Background()
	sc := identityScore{persons: len(tr.People), submissions: len(tr.Submissions)}
	leadPersons := map[uuid.UUID]map[int]bool{}
	// leadKnowsContact: a response of the lead gave its contact's email or phone.
	leadKnowsContact := map[uuid.UUID]bool{}
	personLeads := map[int]map[uuid.UUID]bool{}
	rows, err := s.Pool.Query(ctx, `SELECT id, lead_id FROM responses`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id, lead uuid.UUID
		if err := rows.Scan(&id, &lead); err != nil {
			b.Fatal(err)
		}
		p := responsePerson[id]
		if leadPersons[lead] == nil {
			leadPersons[lead] = map[int]bool{}
		}
		if personLeads[p] == nil {
			personLeads[p] = map[uuid.UUID]bool{}
		}
		leadPersons[lead][p] = true
		personLeads[p][lead] = true
		leadKnowsContact[lead] = leadKnowsContact[lead] || knowsContact[id]
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	sc.leads = len(leadPersons)

	for _, ps := range leadPersons {
		if len(ps) > 1 {
			sc.wronglyMerged += len(ps)
		}
	}

	// Flags, as a graph between leads for the splits.
	flagged := map[uuid.UUID][]uuid.UUID{}
	rows, err = s.Pool.Query(ctx, `SELECT lead_id, match_lead_id, match_contact_id FROM possible_duplicates WHERE status = 'open'`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var lead uuid.UUID
		var matchLead, matchContact *uuid.UUID
		if err := rows.Scan(&lead, &matchLead, &matchContact); err != nil {
			b.Fatal(err)
		}
		sc.flags++
		switch {
		case matchLead != nil:
			flagged[lead] = append(flagged[lead], *matchLead)
			flagged[*matchLead] = append(flagged[*matchLead], lead)
			for p := range leadPersons[lead] {
				if leadPersons[*matchLead][p] {
					sc.goodFlags++
					break
				}
			}
		case matchContact != nil:
			if leadPersons[lead][contactPerson[*matchContact]] {
				sc.goodFlags++
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}

	for _, leads := range personLeads {
		if len(leads) < 2 {
			continue
		}
		sc.split++
		var start uuid.UUID
		for l := range leads {
			start = l
			break
		}
		seen := map[uuid.UUID]bool{start: true}
		queue := []uuid.UUID{start}
		for len(queue) > 0 {
			l := queue[0]
			queue = queue[1:]
			for _, m := range flagged[l] {
				if !seen[m] {
					seen[m] = true
					queue = append(queue, m)
				}
			}
		}
		for l := range leads {
			if !seen[l] {
				sc.splitUnflagged++
				break
			}
		}
	}

	rows, err = s.Pool.Query(ctx, `SELECT id, contact_id FROM leads WHERE merged_into IS NULL`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id uuid.UUID
		var contact *uuid.UUID
		if err := rows.Scan(&id, &contact); err != nil {
			b.Fatal(err)
		}
		var want *uuid.UUID
		if ps := leadPersons[id]; len(ps) == 1 {
			for p := range ps {
				if c, ok := personContact[p]; ok && leadKnowsContact[id] {
					want = &c
				}
			}
		}
		if want == nil && contact == nil {
			continue
		}
		sc.contactLeads++
		if want != nil && contact != nil && *want == *contact {
			sc.contactLinked++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return sc
}

// carriesContact reports, per submission, whether it gives its person's
// contact's email or phone number: what lets resolution know the contact.
func carriesContact(tr traffic.Traffic) []bool {
	number := func(raw string) string {
		p, err := capture.NormalizePhone(raw, "US")
		if err != nil {
			return ""
		}
		n, _, _ := strings.Cut(p, ";")
		return n
	}
	canonical := func(raw string) string {
		_, c, err := capture.NormalizeEmail(raw)
		if err != nil {
			return ""
		}
		return c
	}
	contacts := map[int]traffic.Contact{}
	for _, c := range tr.Contacts {
		contacts[c.PersonID] = c
	}
	out := make([]bool, len(tr.Submissions))
	for i, sub := range tr.Submissions {
		c, ok := contacts[sub.PersonID]
		if !ok {
			continue
		}
		e, p := sub.Values.Get("email"), sub.Values.Get("phone")
		out[i] = (e != "" && canonical(e) == canonical(c.Email)) ||
			(p != "" && c.Phone != "" && number(p) == number(c.Phone))
	}
	return out
}
