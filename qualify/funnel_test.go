package qualify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"leadflow/qualify"
	"leadflow/store"
)

// funnelData is a small arranged history: leads with their first response,
// status moves and opportunities at known times, in and out of January 2031.
type funnelData struct {
	formA, formB uuid.UUID
}

// at is a time in January 2031 (UTC): funnelAt(3, "11:00:00") is 3 January.
func funnelAt(day int, clock string) time.Time {
	t, err := time.Parse(time.DateTime, time.Date(2031, 1, day, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)+" "+clock)
	if err != nil {
		panic(err)
	}
	return t
}

func arrangeFunnel(t *testing.T, b *convertBundle) funnelData {
	t.Helper()
	ctx := context.Background()
	d := funnelData{formA: store.NewID(), formB: store.NewID()}
	for id, name := range map[uuid.UUID]string{d.formA: "Contact us", d.formB: "Webinar"} {
		b.exec(t, `INSERT INTO forms (id, workspace_id, key, name, kind) VALUES ($1, $2, $3, $4, 'contact_us')`,
			id, b.ws.ID, "f"+id.String()[:8]+id.String()[24:], name)
	}
	response := func(form uuid.UUID, lead *uuid.UUID, source string, received time.Time, verdict string) {
		b.exec(t, `INSERT INTO responses (id, workspace_id, form_id, received_at, raw, fields, lead_source, verdict, lead_id)
			VALUES ($1, $2, $3, $4, '{}', '{}', $5, $6, $7)`, store.NewID(), b.ws.ID, form, received, source, verdict, lead)
	}
	lead := func(source string, created time.Time) uuid.UUID {
		l, err := b.st.InsertLead(ctx, store.Lead{WorkspaceID: b.ws.ID, LeadSource: source, Status: store.LeadNew, CreatedAt: created})
		if err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	moved := func(lead uuid.UUID, status string, when time.Time) {
		b.exec(t, `INSERT INTO lead_status_history (workspace_id, lead_id, from_status, to_status, at)
			VALUES ($1, $2, 'x', $3, $4)`, b.ws.ID, lead, status, when)
	}
	opportunity := func(lead uuid.UUID, amount string, forecast bool, created time.Time) {
		a, err := b.st.InsertAccount(ctx, store.Account{WorkspaceID: b.ws.ID, Name: "Co " + lead.String()})
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := b.st.EnsureContact(ctx, store.Contact{WorkspaceID: b.ws.ID, AccountID: &a.ID})
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.st.InsertOpportunity(ctx, store.Opportunity{
			WorkspaceID: b.ws.ID, AccountID: a.ID, ContactID: c.ID, LeadID: lead, Name: "Deal",
			Amount: amount, Stage: store.StageQualification, InForecast: forecast, CreatedAt: created,
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	// L1 (web) goes all the way: response, lead 30 s later, nurturing 1 h
	// after, qualified 2 days after, accepted 1 day after, opportunity 10 s
	// after and converted with it.
	l1 := lead("web", funnelAt(1, "10:00:30"))
	response(d.formA, &l1, "web", funnelAt(1, "10:00:00"), "ok")
	moved(l1, store.LeadNurturing, funnelAt(1, "11:00:30"))
	moved(l1, store.LeadMarketingQualified, funnelAt(3, "11:00:30"))
	moved(l1, store.LeadSalesAccepted, funnelAt(4, "11:00:30"))
	opportunity(l1, "1000", true, funnelAt(4, "11:00:40"))
	moved(l1, store.LeadConverted, funnelAt(4, "11:00:40"))

	// L2 (web): lead 90 s after its response, nurturing 2 h later,
	// qualified 5 days later.
	l2 := lead("web", funnelAt(5, "00:01:30"))
	response(d.formA, &l2, "web", funnelAt(5, "00:00:00"), "ok")
	moved(l2, store.LeadNurturing, funnelAt(5, "02:01:30"))
	moved(l2, store.LeadMarketingQualified, funnelAt(10, "02:01:30"))

	// L4 (web) was a lead and nurtured in December; it qualifies in range,
	// 12 days after it was first nurtured.
	l4 := lead("web", time.Date(2030, 12, 20, 0, 0, 0, 0, time.UTC))
	response(d.formA, &l4, "web", time.Date(2030, 12, 19, 0, 0, 0, 0, time.UTC), "ok")
	moved(l4, store.LeadNurturing, time.Date(2030, 12, 21, 0, 0, 0, 0, time.UTC))
	moved(l4, store.LeadMarketingQualified, funnelAt(2, "00:00:00"))

	// L5 (web): lead 120 s after its response, never nurtured, qualified
	// after the range.
	l5 := lead("web", funnelAt(15, "00:02:00"))
	response(d.formA, &l5, "web", funnelAt(15, "00:00:00"), "ok")
	moved(l5, store.LeadMarketingQualified, time.Date(2031, 2, 5, 0, 0, 0, 0, time.UTC))

	// Spam is no response of the funnel.
	response(d.formA, nil, "web", funnelAt(6, "00:00:00"), "spam")

	// L3 (ads): lead 60 s after its response; nothing more.
	l3 := lead("ads", funnelAt(7, "00:01:00"))
	response(d.formB, &l3, "ads", funnelAt(7, "00:00:00"), "ok")
	// A response not (yet) made into a lead.
	response(d.formB, nil, "ads", funnelAt(20, "00:00:00"), "ok")

	// A lead merged into L1 is history, not a second lead.
	l6 := lead("web", funnelAt(8, "00:00:00"))
	moved(l6, store.LeadNurturing, funnelAt(8, "01:00:00"))
	b.exec(t, `UPDATE leads SET merged_into = $2 WHERE id = $1`, l6, l1)

	// L7 (web) went all the way in November: outside the range, but its
	// opportunity is in the forecast.
	l7 := lead("web", time.Date(2030, 11, 1, 0, 0, 0, 0, time.UTC))
	moved(l7, store.LeadConverted, time.Date(2030, 11, 2, 0, 0, 0, 0, time.UTC))
	opportunity(l7, "250.5", true, time.Date(2030, 11, 2, 0, 0, 0, 0, time.UTC))
	// An opportunity out of the forecast.
	l8 := lead("ads", time.Date(2030, 11, 1, 0, 0, 0, 0, time.UTC))
	opportunity(l8, "99999", false, time.Date(2030, 11, 2, 0, 0, 0, 0, time.UTC))

	// Opportunities sales made from scratch, with no lead behind them: two
	// in the range, one before it. They are in no stage and no group.
	scratch := func(workspaceID uuid.UUID, created time.Time) {
		a, err := b.st.InsertAccount(ctx, store.Account{WorkspaceID: workspaceID, Name: "Scratch " + store.NewID().String()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.st.InsertOpportunity(ctx, store.Opportunity{
			WorkspaceID: workspaceID, AccountID: a.ID, Name: "Made by sales",
			Stage: store.StageQualification, CreatedAt: created,
		}); err != nil {
			t.Fatal(err)
		}
	}
	scratch(b.ws.ID, funnelAt(1, "00:00:00"))
	scratch(b.ws.ID, funnelAt(31, "23:59:59"))
	scratch(b.ws.ID, time.Date(2030, 12, 31, 23, 59, 59, 0, time.UTC))

	// Another workspace's funnel is its own.
	other, err := b.st.EnsureWorkspace(ctx, "other-"+store.NewID().String())
	if err != nil {
		t.Fatal(err)
	}
	scratch(other.ID, funnelAt(9, "00:00:00"))
	if _, err := b.st.InsertLead(ctx, store.Lead{WorkspaceID: other.ID, LeadSource: "web", Status: store.LeadNew, CreatedAt: funnelAt(9, "00:00:00")}); err != nil {
		t.Fatal(err)
	}
	return d
}

// stage builds an expected funnel stage; rate and median are nil when < 0.
func funnelStage(name string, count int64, rate, median float64) qualify.FunnelStage {
	s := qualify.FunnelStage{Stage: name, Count: count}
	if rate >= 0 {
		s.ConversionRate = &rate
	}
	if median >= 0 {
		s.MedianSeconds = &median
	}
	return s
}

const noValue = -1

func TestFunnel(t *testing.T) {
	t.Parallel()
	b := convertSetup(t)
	d := arrangeFunnel(t, b)
	from, to := funnelAt(1, "00:00:00"), time.Date(2031, 2, 1, 0, 0, 0, 0, time.UTC)

	web := []qualify.FunnelStage{
		funnelStage(qualify.FunnelResponses, 3, noValue, noValue),
		funnelStage(qualify.FunnelLeads, 3, 1, 90),                       // 30, 90, 120 s
		funnelStage(qualify.FunnelNurturing, 2, 0.6667, 5400),            // 1 h and 2 h
		funnelStage(qualify.FunnelMarketingQualified, 3, 1.5, 5*24*3600), // 2, 5 and 12 days
		funnelStage(qualify.FunnelSalesAccepted, 1, 0.3333, 24*3600),     // 1 day
		funnelStage(qualify.FunnelOpportunities, 1, 1, 10),               // 10 s
		funnelStage(qualify.FunnelConverted, 1, 1, 0),                    // with the opportunity
	}
	ads := []qualify.FunnelStage{
		funnelStage(qualify.FunnelResponses, 2, noValue, noValue),
		funnelStage(qualify.FunnelLeads, 1, 0.5, 60),
		funnelStage(qualify.FunnelNurturing, 0, 0, noValue),
		funnelStage(qualify.FunnelMarketingQualified, 0, noValue, noValue),
		funnelStage(qualify.FunnelSalesAccepted, 0, noValue, noValue),
		funnelStage(qualify.FunnelOpportunities, 0, noValue, noValue),
		funnelStage(qualify.FunnelConverted, 0, noValue, noValue),
	}
	total := []qualify.FunnelStage{
		funnelStage(qualify.FunnelResponses, 5, noValue, noValue),
		funnelStage(qualify.FunnelLeads, 4, 0.8, 75), // 30, 60, 90, 120 s
		funnelStage(qualify.FunnelNurturing, 2, 0.5, 5400),
		funnelStage(qualify.FunnelMarketingQualified, 3, 1.5, 5*24*3600),
		funnelStage(qualify.FunnelSalesAccepted, 1, 0.3333, 24*3600),
		funnelStage(qualify.FunnelOpportunities, 1, 1, 10),
		funnelStage(qualify.FunnelConverted, 1, 1, 0),
	}
	forecast := store.Forecast{Opportunities: 2, Amount: "1250.50"}

	for _, tc := range []struct {
		by   string
		want qualify.FunnelReport
	}{
		{store.FunnelBySource, qualify.FunnelReport{
			From: from, To: to, By: store.FunnelBySource,
			Total:                    qualify.FunnelGroup{Stages: total},
			Groups:                   []qualify.FunnelGroup{{Key: "ads", Stages: ads}, {Key: "web", Stages: web}},
			Forecast:                 forecast,
			OpportunitiesFromScratch: 2,
		}},
		{store.FunnelByForm, qualify.FunnelReport{
			From: from, To: to, By: store.FunnelByForm,
			Total: qualify.FunnelGroup{Stages: total},
			Groups: sortGroups([]qualify.FunnelGroup{
				{Key: d.formA.String(), Name: "Contact us", Stages: web},
				{Key: d.formB.String(), Name: "Webinar", Stages: ads},
			}),
			Forecast:                 forecast,
			OpportunitiesFromScratch: 2,
		}},
	} {
		t.Run(tc.by, func(t *testing.T) {
			got, err := b.eng.Funnel(context.Background(), b.ws.ID, qualify.FunnelQuery{From: from, To: to, By: tc.by})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("funnel (-want +got):\n%s", diff)
			}
		})
	}
}

func sortGroups(gs []qualify.FunnelGroup) []qualify.FunnelGroup {
	if gs[0].Key > gs[1].Key {
		gs[0], gs[1] = gs[1], gs[0]
	}
	return gs
}

func TestFunnelRefusesBadQuery(t *testing.T) {
	t.Parallel()
	b := convertSetup(t)
	_, err := b.eng.Funnel(context.Background(), b.ws.ID, qualify.FunnelQuery{
		From: funnelAt(2, "00:00:00"), To: funnelAt(1, "00:00:00"), By: "country",
	})
	var verr *qualify.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("bad query: %v, want a validation error", err)
	}
	if diff := cmp.Diff([]string{"by", "from"}, convertKeys(verr.Fields)); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}
}
