package nurture_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"leadflow/nurture"
	"leadflow/store"
)

// bounce posts a bounce report with a key of the role in ws.
func (b *trackBundle) bounce(t *testing.T, ws store.Workspace, role store.Role, body string) answer {
	t.Helper()
	return b.do(t, http.MethodPost, "/api/v1/bounces", "application/json", body,
		"X-Test-Workspace", ws.ID.String(), "X-Test-Role", string(role))
}

func decodeBounceResult(t *testing.T, a answer) nurture.BounceResult {
	t.Helper()
	if a.status != http.StatusCreated {
		t.Fatalf("POST /bounces = %d: %s", a.status, a.body)
	}
	var r nurture.BounceResult
	if err := json.Unmarshal([]byte(a.body), &r); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
	return r
}

func (b *trackBundle) countBounces(t *testing.T) int {
	t.Helper()
	var n int
	if err := b.st.Pool.QueryRow(b.ctx, `SELECT count(*) FROM bounces`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHardBounceOfAMessageSuppressesAndExits(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	l := b.lead(t, b.ws, "ada@example.com")
	enr := b.sequenceWithEnrollments(t, b.ws, l)
	m := b.message(t, l)

	res := decodeBounceResult(t, b.bounce(t, b.ws, store.RoleMarketing,
		`{"message_id": "`+m.ID.String()+`", "type": "hard", "detail": "550 5.1.1 user unknown"}`))
	want := nurture.BounceResult{
		Bounce: nurture.Bounce{ID: res.Bounce.ID, EmailCanonical: "ada@example.com", MessageID: &m.ID,
			Kind: store.BounceHard, Detail: "550 5.1.1 user unknown", CreatedAt: b.clock.Now()},
		Suppressed: true, SuppressReason: store.SuppressBounced, LeadID: &l.ID,
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("bounce result (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ada@example.com bounced"}, b.suppressions(t, b.ws)); diff != "" {
		t.Errorf("suppressions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"exited bounced"}, b.enrollmentStates(t, enr...)); diff != "" {
		t.Errorf("enrollments (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"bounced " + res.Bounce.ID.String()}, b.engagement(t, l.ID)); diff != "" {
		t.Errorf("engagement (-want +got):\n%s", diff)
	}
}

func TestSoftBouncesSuppressOnTheThirdWithinThirtyDays(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	l := b.lead(t, b.ws, "ada@example.com")
	enr := b.sequenceWithEnrollments(t, b.ws, l)
	now := b.clock.Now()
	day := 24 * time.Hour
	for i, c := range []struct {
		at         time.Time
		softInSpan int
		suppressed bool
	}{
		{now.Add(-45 * day), 1, false}, // falls out of the window later
		{now.Add(-20 * day), 2, false},
		{now.Add(-10 * day), 2, false},
		{now, 3, true},
	} {
		b.clock.Set(c.at)
		// Reported for the address as it was sent: another spelling of the
		// same canonical address counts for it.
		res := decodeBounceResult(t, b.bounce(t, b.ws, store.RoleAdmin, `{"email": "Ada+news@Example.com", "type": "soft", "detail": "452 mailbox full"}`))
		if res.SoftBounces != c.softInSpan || res.Suppressed != c.suppressed {
			t.Errorf("soft bounce %d: %d in the window, suppressed %v; want %d, %v", i+1, res.SoftBounces, res.Suppressed, c.softInSpan, c.suppressed)
		}
		wantState := "active"
		if c.suppressed {
			wantState = "exited bounced"
		}
		if diff := cmp.Diff([]string{wantState}, b.enrollmentStates(t, enr...)); diff != "" {
			t.Errorf("soft bounce %d: enrollments (-want +got):\n%s", i+1, diff)
		}
	}
	if diff := cmp.Diff([]string{"ada@example.com bounced"}, b.suppressions(t, b.ws)); diff != "" {
		t.Errorf("suppressions (-want +got):\n%s", diff)
	}
	if got := b.engagement(t, l.ID); len(got) != 4 {
		t.Errorf("engagement = %v, want a bounced event per report", got)
	}
}

func TestComplaintByMessageIDHeaderSuppressesAsComplained(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	l := b.lead(t, b.ws, "ada@example.com")
	m := b.message(t, l)
	res := decodeBounceResult(t, b.bounce(t, b.ws, store.RoleMarketing,
		`{"message_id": "<`+m.MessageID+`>", "type": "complaint"}`))
	if !res.Suppressed || res.SuppressReason != store.SuppressComplained || res.Bounce.MessageID == nil || *res.Bounce.MessageID != m.ID {
		t.Errorf("complaint = %+v", res)
	}
	if diff := cmp.Diff([]string{"ada@example.com complained"}, b.suppressions(t, b.ws)); diff != "" {
		t.Errorf("suppressions (-want +got):\n%s", diff)
	}
}

func TestBounceOfAnAddressWithoutALead(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	res := decodeBounceResult(t, b.bounce(t, b.ws, store.RoleMarketing, `{"email": "Nobody@Example.com", "type": "hard"}`))
	if !res.Suppressed || res.LeadID != nil || res.Bounce.EmailCanonical != "nobody@example.com" {
		t.Errorf("bounce = %+v", res)
	}
	// A lead made later from that address is not emailed either.
	if diff := cmp.Diff([]string{"nobody@example.com bounced"}, b.suppressions(t, b.ws)); diff != "" {
		t.Errorf("suppressions (-want +got):\n%s", diff)
	}
}

func TestBounceRefusesBadReportsAndOtherWorkspaces(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	theirs := b.message(t, b.lead(t, b.other, "grace@example.com"))
	for _, c := range []struct {
		name   string
		role   store.Role
		body   string
		status int
		fields []string
	}{
		{"another workspace's message", store.RoleMarketing, `{"message_id": "` + theirs.ID.String() + `", "type": "hard"}`, http.StatusNotFound, nil},
		{"another workspace's Message-ID", store.RoleMarketing, `{"message_id": "<` + theirs.MessageID + `>", "type": "hard"}`, http.StatusNotFound, nil},
		{"no such message", store.RoleMarketing, `{"message_id": "` + uuid.NewString() + `", "type": "soft"}`, http.StatusNotFound, nil},
		{"no address", store.RoleMarketing, `{"type": "hard"}`, http.StatusUnprocessableEntity, []string{"email"}},
		{"bad type and address", store.RoleMarketing, `{"email": "not an address", "type": "bouncy"}`, http.StatusUnprocessableEntity, []string{"email", "type"}},
		{"unknown member", store.RoleMarketing, `{"email": "a@example.com", "type": "hard", "mesage_id": "x"}`, http.StatusUnprocessableEntity, []string{"mesage_id"}},
		{"wrong type of member", store.RoleMarketing, `{"email": 7, "type": "hard"}`, http.StatusUnprocessableEntity, []string{"email"}},
		{"long detail", store.RoleMarketing, `{"email": "a@example.com", "type": "hard", "detail": "` + strings.Repeat("x", 2001) + `"}`, http.StatusUnprocessableEntity, []string{"detail"}},
		{"not JSON", store.RoleMarketing, `email=a@example.com`, http.StatusBadRequest, nil},
		{"sales key", store.RoleSales, `{"email": "a@example.com", "type": "hard"}`, http.StatusForbidden, nil},
	} {
		a := b.bounce(t, b.ws, c.role, c.body)
		if a.status != c.status {
			t.Errorf("%s: POST /bounces = %d, want %d: %s", c.name, a.status, c.status, a.body)
			continue
		}
		var body struct{ Fields map[string]string }
		_ = json.Unmarshal([]byte(a.body), &body)
		var fields []string
		for f := range body.Fields {
			fields = append(fields, f)
		}
		if diff := cmp.Diff(c.fields, fields, sortStrings); diff != "" {
			t.Errorf("%s: fields at fault (-want +got):\n%s", c.name, diff)
		}
	}
	if n := b.countBounces(t); n != 0 {
		t.Errorf("refused reports stored %d bounces", n)
	}
	for _, ws := range []store.Workspace{b.ws, b.other} {
		if got := b.suppressions(t, ws); len(got) != 0 {
			t.Errorf("refused reports suppressed %v", got)
		}
	}
}

var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

func TestHardBounceOfAnOldAddressLeavesTheLeadsNewOne(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	l := b.lead(t, b.ws, "ada@old.example")
	enr := b.sequenceWithEnrollments(t, b.ws, l)
	m := b.message(t, l)
	b.changeEmail(t, l, "ada@new.example")

	res := decodeBounceResult(t, b.bounce(t, b.ws, store.RoleMarketing, `{"message_id": "`+m.ID.String()+`", "type": "hard"}`))
	if res.Bounce.EmailCanonical != "ada@old.example" || res.LeadID == nil || *res.LeadID != l.ID {
		t.Errorf("bounce = %+v", res)
	}
	// The old address is gone; the lead's new one still gets its sequence.
	if diff := cmp.Diff([]string{"ada@old.example bounced"}, b.suppressions(t, b.ws)); diff != "" {
		t.Errorf("suppressions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"active"}, b.enrollmentStates(t, enr...)); diff != "" {
		t.Errorf("enrollments (-want +got):\n%s", diff)
	}
}

func TestConcurrentSoftBouncesCountEachOther(t *testing.T) {
	t.Parallel()
	b := setupTracking(t)
	b.lead(t, b.ws, "ada@example.com")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results []nurture.BounceResult
		errs    []error
	)
	start := make(chan struct{})
	for range nurture.SoftBounceLimit {
		wg.Go(func() {
			<-start
			res, err := b.eng.RecordBounce(b.ctx, b.ws.ID, nurture.BounceReport{Email: "ada@example.com", Type: "soft"}, "test")
			mu.Lock()
			defer mu.Unlock()
			results, errs = append(results, res), append(errs, err)
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	var counts []int
	for _, r := range results {
		counts = append(counts, r.SoftBounces)
	}
	slices.Sort(counts)
	if diff := cmp.Diff([]int{1, 2, 3}, counts); diff != "" {
		t.Errorf("soft bounces each report saw (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ada@example.com bounced"}, b.suppressions(t, b.ws)); diff != "" {
		t.Errorf("suppressions (-want +got):\n%s", diff)
	}
}
