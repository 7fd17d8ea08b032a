package main

import (
	"net/smtp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func leads(ids ...string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func TestTally(t *testing.T) {
	t.Parallel()
	const a, b, c, d = "a@x.example", "b@x.example", "c@x.example", "d@x.example"
	tests := []struct {
		name  string
		posts []post
		facts facts
		want  row
		fails []string
	}{
		{
			name: "every 2xx committed, one lead and one email each",
			posts: []post{
				{Email: a, Status: 202, ResponseID: "r1"},
				{Email: a, Status: 202, ResponseID: "r2"},
				{Email: b, Status: 202, ResponseID: "r3"},
			},
			facts: facts{
				Committed:  leads("r1", "r2", "r3"),
				Leads:      map[string]map[string]bool{a: leads("L1"), b: leads("L2")},
				Deliveries: []delivery{{To: a, MessageID: "<m1>"}, {To: b, MessageID: "<m2>"}},
			},
			want: row{Posts: 3, Answered: 3, Committed: 3, Expected: 2, Delivered: 2},
		},
		{
			name: "a 2xx not committed is lost; an error answer is not counted as 2xx",
			posts: []post{
				{Email: a, Status: 202, ResponseID: "r1"},
				{Email: b, Status: 500},
				{Email: c, Status: 0, Err: "connection refused"},
				{Email: c, Status: -1},
			},
			facts: facts{Committed: leads(), Stuck: 0},
			want: row{
				Posts: 4, Answered: 1, Lost: 1, Expected: 1,
				Errors: map[string]int{"500": 1, "connection refused": 1, "not sent": 1},
			},
			fails: []string{"1 lost", "1 undelivered"},
		},
		{
			name: "a post answered 500 but committed is owed its email",
			posts: []post{
				{Email: a, Status: 500},
			},
			facts: facts{
				Committed:  leads(),
				Leads:      map[string]map[string]bool{a: leads("L1")},
				Deliveries: []delivery{{To: a, MessageID: "<m1>"}},
			},
			want: row{Posts: 1, Errors: map[string]int{"500": 1}, Expected: 1, Delivered: 1},
		},
		{
			name: "two live leads for one person",
			posts: []post{
				{Email: a, Status: 202, ResponseID: "r1"},
				{Email: a, Status: 202, ResponseID: "r2"},
			},
			facts: facts{
				Committed:  leads("r1", "r2"),
				Leads:      map[string]map[string]bool{a: leads("L1", "L2")},
				Deliveries: []delivery{{To: a, MessageID: "<m1>"}, {To: a, MessageID: "<m2>"}},
			},
			want:  row{Posts: 2, Answered: 2, Committed: 2, DupLeads: 1, Expected: 1, Delivered: 1, Doubled: 1, DoubledNewID: 1},
			fails: []string{"1 duplicate leads", "1 doubled (1 as a second message)"},
		},
		{
			name: "resends of the same message within the gap pass, beyond it fail",
			posts: []post{
				{Email: a, Status: 202, ResponseID: "r1"},
				{Email: b, Status: 202, ResponseID: "r2"},
			},
			facts: facts{
				Committed: leads("r1", "r2"),
				Leads:     map[string]map[string]bool{a: leads("L1"), b: leads("L2")},
				Deliveries: []delivery{
					{To: a, MessageID: "<m1>"}, {To: a, MessageID: "<m1>"},
					{To: b, MessageID: "<m2>"}, {To: b, MessageID: "<m2>"}, {To: b, MessageID: "<m2>"},
				},
			},
			want:  row{Posts: 2, Answered: 2, Committed: 2, Expected: 2, Delivered: 2, Doubled: 3},
			fails: []string{"3 doubled (gap allows 0)"},
		},
		{
			name: "stuck work, queued messages, a 2xx without an ID, mail to a stranger",
			posts: []post{
				{Email: a, Status: 202, ResponseID: "r1"},
				{Email: b, Status: 202},
				{Email: c, Status: 422},
			},
			facts: facts{
				Committed:      leads("r1"),
				Stuck:          2,
				QueuedMessages: 1,
				Leads:          map[string]map[string]bool{a: leads("L1"), d: leads("L9")},
				Deliveries:     []delivery{{To: c, MessageID: "<m3>"}},
			},
			want: row{
				Posts: 3, Answered: 2, Committed: 1, NoID: 1, Stuck: 2, QueuedMessages: 1, Expected: 2, Unexpected: 1,
				Errors: map[string]int{"422": 1},
			},
			fails: []string{"1 2xx without response_id", "1 unexpected emails", "2 stuck", "2 undelivered"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tally("s", tt.posts, tt.facts)
			tt.want.Scenario = "s"
			if tt.want.Errors == nil {
				tt.want.Errors = map[string]int{}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("tally (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.fails, got.failures(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("failures (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGapAllowsResendsOfTheSameMessageOnly(t *testing.T) {
	t.Parallel()
	r := row{Expected: 2, Delivered: 2, Doubled: 2, AllowedDoubles: 10}
	if f := r.failures(); len(f) != 0 {
		t.Errorf("two resends within a gap of 10: failures %q, want none", f)
	}
	r.DoubledNewID = 1
	if diff := cmp.Diff([]string{"2 doubled (1 as a second message)"}, r.failures()); diff != "" {
		t.Errorf("a second message is never in the gap (-want +got):\n%s", diff)
	}
}

func TestSettled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    row
		want bool
	}{
		{"all done", row{Expected: 3, Delivered: 3}, true},
		{"a response not processed", row{Stuck: 1, Expected: 3, Delivered: 3}, false},
		{"a message sent but not recorded", row{QueuedMessages: 1, Expected: 3, Delivered: 3}, false},
		{"an email not delivered", row{Expected: 3, Delivered: 2}, false},
	}
	for _, tt := range tests {
		if got := tt.r.settled(); got != tt.want {
			t.Errorf("%s: settled() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	writeTable(&b, []row{
		{Scenario: "baseline", Fault: "no fault", Posts: 10, Answered: 10, Committed: 10, Expected: 9, Delivered: 9, Errors: map[string]int{}},
		{Scenario: "kill-work", Posts: 10, Answered: 8, Committed: 8, Expected: 8, Delivered: 8, Doubled: 1, AllowedDoubles: 10,
			SettleTimedOut: true, Errors: map[string]int{"500": 1, "connection refused": 1}},
	})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := []string{
		"| scenario  | posts | 2xx | committed | lost | dup leads | stuck | emails expected | delivered | doubled    | settled | verdict |",
		"|-----------|-------|-----|-----------|------|-----------|-------|-----------------|-----------|------------|---------|---------|",
		"| baseline  | 10    | 10  | 10        | 0    | 0         | 0     | 9               | 9         | 0          | -       | ok      |",
		"| kill-work | 10    | 8   | 8         | 0    | 0         | 0     | 8               | 8         | 1 (gap 10) | no      | ok      |",
		"",
		"- baseline: no fault",
		"- kill-work: not 2xx: 500 x1, connection refused x1; doubled: 1 with the same Message-ID, 0 as a second message",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

func TestPlanPeople(t *testing.T) {
	t.Parallel()
	const n = 10000
	plan := planPeople(7, n)
	if diff := cmp.Diff(plan, planPeople(7, n)); diff != "" {
		t.Fatalf("the same seed gave another plan (-first +second):\n%s", diff)
	}
	if slices.Equal(plan, planPeople(8, n)) {
		t.Error("another seed gave the same plan")
	}
	next, repeats, twins := 0, 0, 0
	for i, p := range plan {
		switch {
		case p == next:
			next++
		case p > next:
			t.Fatalf("post %d is person %d before person %d has posted", i, p, next)
		case i > 0 && p == plan[i-1]:
			twins++
		default:
			repeats++
		}
	}
	// The shares are 5% and 8%: allow for chance, but not for their absence.
	if twins < n*3/100 || twins > n*7/100 {
		t.Errorf("%d of %d posts repeat the post before, want about 5%%", twins, n)
	}
	if repeats < n*5/100 || repeats > n*11/100 {
		t.Errorf("%d of %d posts repeat an earlier person, want about 8%%", repeats, n)
	}
}

func TestChildEnvPointsOnlyAtTheSuitesServers(t *testing.T) {
	t.Parallel()
	got := childEnv([]string{
		"PATH=/usr/bin",
		"LEADFLOW_DATABASE_URL=postgres://elsewhere",
		"LEADFLOW_DATABASE_URL_FILE=/run/secrets/db",
		"LEADFLOW_WORKER_CONCURRENCY=4",
	}, map[string]string{"LEADFLOW_DATABASE_URL": "postgres://suite"})
	slices.Sort(got)
	want := []string{"LEADFLOW_DATABASE_URL=postgres://suite", "LEADFLOW_WORKER_CONCURRENCY=4", "PATH=/usr/bin"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}

func TestMailSinkRecordsEveryDeliveryAndRestarts(t *testing.T) {
	t.Parallel()
	sink, err := newMailSink(0)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Stop()
	send := func(id string) error {
		msg := "From: f@x.example\r\nTo: a@x.example\r\nMessage-ID: " + id + "\r\nSubject: hi\r\n\r\nhello\r\n"
		return smtp.SendMail(sink.Addr(), nil, "f@x.example", []string{"A@x.example", "b@x.example"}, []byte(msg))
	}
	if err := send("<1@x.example>"); err != nil {
		t.Fatal(err)
	}
	addr := sink.Addr()
	sink.Stop()
	if err := send("<2@x.example>"); err == nil {
		t.Fatal("a stopped sink accepted mail")
	}
	if err := sink.Start(); err != nil {
		t.Fatal(err)
	}
	if sink.Addr() != addr {
		t.Errorf("restarted on %s, want %s", sink.Addr(), addr)
	}
	if err := send("<3@x.example>"); err != nil {
		t.Fatal(err)
	}
	var got []delivery
	for _, d := range sink.Deliveries() {
		got = append(got, delivery{To: d.To, MessageID: d.MessageID})
	}
	want := []delivery{
		{To: "a@x.example", MessageID: "<1@x.example>"}, {To: "b@x.example", MessageID: "<1@x.example>"},
		{To: "a@x.example", MessageID: "<3@x.example>"}, {To: "b@x.example", MessageID: "<3@x.example>"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
}
