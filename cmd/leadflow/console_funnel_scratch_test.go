package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"leadflow/store"
)

// TestConsoleFunnelCountsOpportunitiesFromScratch: the funnel page shows
// the period's opportunities sales made with no lead behind them on a line
// of their own, and counts none of them in its stages.
func TestConsoleFunnelCountsOpportunitiesFromScratch(t *testing.T) {
	t.Parallel()
	app := startRunApp(t)
	ctx := context.Background()
	const password = "correct horse battery"
	mia := app.person(t, "funnel-scratch-ws", "mia@funnel-scratch.test", store.UserMarketing, password)
	ws := mia.WorkspaceID
	for i, created := range []time.Time{time.Now(), time.Now().Add(-time.Hour), time.Now().AddDate(0, 0, -60)} {
		a, err := app.st.InsertAccount(ctx, store.Account{WorkspaceID: ws, Name: "Account " + string(rune('A'+i))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.st.InsertOpportunity(ctx, store.Opportunity{WorkspaceID: ws, AccountID: a.ID, Name: "Made by sales",
			Stage: store.StageQualification, CreatedAt: created}); err != nil {
			t.Fatal(err)
		}
	}

	h, _ := signInOverHTTP(t, app.base, "mia@funnel-scratch.test", password, "/console/funnel")
	status, _, doc := h.get("/console/funnel")
	if status != http.StatusOK {
		t.Fatalf("funnel: status %d", status)
	}
	// The last 30 days hold two of the three.
	if got := htmlText(htmlOne(t, doc, "counts of opportunities from scratch", htmlElement("strong", "id", "funnel-from-scratch"))); got != "2" {
		t.Errorf("opportunities made by sales = %q, want 2", got)
	}
	for _, row := range htmlBodyRows(htmlOne(t, doc, "funnel step tables", htmlElement("table", "class", "funnel-steps"))) {
		if row[1] != "0" {
			t.Errorf("stage %s counts %s, want 0: no lead is behind an opportunity made from scratch", row[0], row[1])
		}
	}
}
