package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// post is one submission the load generator made and what it was told.
type post struct {
	Person int    // the person's index within the scenario
	Email  string // the person's address, lower case
	// Status is the HTTP status answered; 0 when no answer came (Err says
	// why), -1 when the load generator had too many posts in flight to send
	// it at all.
	Status int
	// ResponseID is what a 2xx answer named.
	ResponseID string
	Err        string
}

func (p post) answered2xx() bool { return p.Status >= 200 && p.Status < 300 }

// outcome names a post's answer for the error summary: a status code, or
// the class of transport error.
func (p post) outcome() string {
	switch {
	case p.Status > 0:
		return strconv.Itoa(p.Status)
	case p.Status < 0:
		return "not sent"
	case p.Err != "":
		return p.Err
	}
	return "no answer"
}

// facts are what PostgreSQL and the SMTP sink say about one scenario.
type facts struct {
	// Committed holds the response IDs, among those named by 2xx answers,
	// that are in the responses table.
	Committed map[string]bool
	// Stuck counts the scenario form's responses (whether or not their
	// poster heard a 2xx) that are not processed.
	Stuck int
	// Leads maps a person's address to the IDs of the live leads that
	// hold it or that its responses went to (merged leads followed).
	Leads map[string]map[string]bool
	// QueuedMessages counts messages to the scenario's people that are
	// still to be sent, or sent but not yet recorded as sent.
	QueuedMessages int
	// Deliveries are the SMTP sink's deliveries to the scenario's people.
	Deliveries []delivery
}

// row is one scenario's line in the report.
type row struct {
	Scenario string
	Fault    string

	Posts     int
	Answered  int // 2xx answers
	Committed int // 2xx answers whose response is in PostgreSQL
	Lost      int // 2xx answers whose response is not
	NoID      int // 2xx answers that named no response (cannot be checked)
	// Errors counts the other answers by outcome (status code or error).
	Errors map[string]int

	DupLeads int // people with more than one live lead
	Stuck    int // responses not processed

	Expected  int // people who should have had the welcome email
	Delivered int // of them, how many got it at least once
	Doubled   int // deliveries past the first, to any of the scenario's people
	// DoubledNewID counts, per person, Message-IDs past the first: two
	// different messages, which no documented gap allows.
	DoubledNewID int
	Unexpected   int // deliveries to people who should have had none

	QueuedMessages int

	// AllowedDoubles is the documented gap: resends of the same message
	// (same Message-ID) by a process killed mid-send.
	AllowedDoubles int
	// SettledIn is how long after the load the pipeline settled; zero with
	// SettleTimedOut when it had not within the deadline.
	SettledIn      time.Duration
	SettleTimedOut bool
	Notes          []string
}

// tally reads a scenario's posts against the facts.
func tally(scenario string, posts []post, f facts) row {
	r := row{Scenario: scenario, Posts: len(posts), Errors: map[string]int{}, Stuck: f.Stuck, QueuedMessages: f.QueuedMessages}
	people := map[string]bool{}   // everyone who posted
	expected := map[string]bool{} // who should get the welcome email
	for _, p := range posts {
		people[p.Email] = true
		if !p.answered2xx() {
			r.Errors[p.outcome()]++
			continue
		}
		r.Answered++
		expected[p.Email] = true
		switch {
		case p.ResponseID == "":
			r.NoID++
		case f.Committed[p.ResponseID]:
			r.Committed++
		default:
			r.Lost++
		}
	}
	for email, leads := range f.Leads {
		if !people[email] {
			continue
		}
		if len(leads) > 0 {
			// A post answered with an error may still have been committed:
			// its person has a lead and is owed the email all the same.
			expected[email] = true
		}
		if len(leads) > 1 {
			r.DupLeads++
		}
	}
	r.Expected = len(expected)

	byPerson := map[string][]string{} // address -> Message-IDs delivered
	for _, d := range f.Deliveries {
		if people[d.To] {
			byPerson[d.To] = append(byPerson[d.To], d.MessageID)
		}
	}
	for email, ids := range byPerson {
		if !expected[email] {
			r.Unexpected += len(ids)
			continue
		}
		r.Delivered++
		r.Doubled += len(ids) - 1
		slices.Sort(ids)
		r.DoubledNewID += len(slices.Compact(ids)) - 1
	}
	return r
}

// settled reports whether nothing is left to happen: every response
// processed, every message sent and recorded, every email delivered.
func (r row) settled() bool {
	return r.Stuck == 0 && r.QueuedMessages == 0 && r.Delivered >= r.Expected
}

// failures names the promises the row breaks: a 2xx lost, a person with two
// leads, an email doubled beyond the documented gap, and work still not done
// at the end of the run.
func (r row) failures() []string {
	var f []string
	if r.Lost > 0 {
		f = append(f, fmt.Sprintf("%d lost", r.Lost))
	}
	if r.NoID > 0 {
		f = append(f, fmt.Sprintf("%d 2xx without response_id", r.NoID))
	}
	if r.DupLeads > 0 {
		f = append(f, fmt.Sprintf("%d duplicate leads", r.DupLeads))
	}
	switch {
	case r.DoubledNewID > 0:
		f = append(f, fmt.Sprintf("%d doubled (%d as a second message)", r.Doubled, r.DoubledNewID))
	case r.Doubled > r.AllowedDoubles:
		f = append(f, fmt.Sprintf("%d doubled (gap allows %d)", r.Doubled, r.AllowedDoubles))
	}
	if r.Unexpected > 0 {
		f = append(f, fmt.Sprintf("%d unexpected emails", r.Unexpected))
	}
	if r.Stuck > 0 {
		f = append(f, fmt.Sprintf("%d stuck", r.Stuck))
	}
	if missing := r.Expected - r.Delivered; missing > 0 {
		f = append(f, fmt.Sprintf("%d undelivered", missing))
	}
	return f
}

// writeTable prints the rows as a Markdown table, then a line per row with
// what did not answer 2xx and any notes.
func writeTable(w io.Writer, rows []row) {
	header := []string{"scenario", "posts", "2xx", "committed", "lost", "dup leads", "stuck",
		"emails expected", "delivered", "doubled", "settled", "verdict"}
	lines := [][]string{header}
	for _, r := range rows {
		settled := "-"
		switch {
		case r.SettleTimedOut:
			settled = "no"
		case r.SettledIn > 0:
			settled = r.SettledIn.Round(100 * time.Millisecond).String()
		}
		doubled := strconv.Itoa(r.Doubled)
		if r.AllowedDoubles > 0 {
			doubled += fmt.Sprintf(" (gap %d)", r.AllowedDoubles)
		}
		verdict := "ok"
		if f := r.failures(); len(f) > 0 {
			verdict = "FAIL: " + strings.Join(f, ", ")
		}
		lines = append(lines, []string{
			r.Scenario, strconv.Itoa(r.Posts), strconv.Itoa(r.Answered), strconv.Itoa(r.Committed),
			strconv.Itoa(r.Lost), strconv.Itoa(r.DupLeads), strconv.Itoa(r.Stuck),
			strconv.Itoa(r.Expected), strconv.Itoa(r.Delivered), doubled, settled, verdict,
		})
	}
	widths := make([]int, len(header))
	for _, l := range lines {
		for i, c := range l {
			widths[i] = max(widths[i], len(c))
		}
	}
	for n, l := range lines {
		var b strings.Builder
		for i, c := range l {
			fmt.Fprintf(&b, "| %-*s ", widths[i], c)
		}
		fmt.Fprintln(w, b.String()+"|")
		if n == 0 {
			b.Reset()
			for i := range l {
				b.WriteString("|" + strings.Repeat("-", widths[i]+2))
			}
			fmt.Fprintln(w, b.String()+"|")
		}
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		var parts []string
		if r.Fault != "" {
			parts = append(parts, r.Fault)
		}
		if len(r.Errors) > 0 {
			var errs []string
			for _, k := range slices.SortedFunc(maps.Keys(r.Errors), func(a, b string) int {
				return cmp.Or(cmp.Compare(r.Errors[b], r.Errors[a]), cmp.Compare(a, b))
			}) {
				errs = append(errs, fmt.Sprintf("%s x%d", k, r.Errors[k]))
			}
			parts = append(parts, "not 2xx: "+strings.Join(errs, ", "))
		}
		if r.Doubled > 0 {
			parts = append(parts, fmt.Sprintf("doubled: %d with the same Message-ID, %d as a second message", r.Doubled-r.DoubledNewID, r.DoubledNewID))
		}
		parts = append(parts, r.Notes...)
		fmt.Fprintf(w, "- %s: %s\n", r.Scenario, strings.Join(parts, "; "))
	}
}
