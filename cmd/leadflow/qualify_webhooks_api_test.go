package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"leadflow/store"
)

// webhookDelivery is a delivery as the deliveries list answers it.
type webhookDelivery struct {
	Event         string     `json:"event"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	InFlight      bool       `json:"in_flight"`
	LastStatus    *int       `json:"last_status"`
	LastError     string     `json:"last_error"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
}

func TestQualifyWebhookDeliveriesListed(t *testing.T) {
	t.Parallel()
	b := setupSalesAPI(t)
	hook := expectJSON[struct {
		ID string `json:"id"`
	}](t, b, http.StatusCreated, b.a.admin, "POST", "/api/v1/webhooks",
		map[string]any{"url": "https://crm.example/hooks/leadflow", "events": []string{"handoff.created"}})
	path := "/api/v1/webhooks/" + hook.ID + "/deliveries"

	// Four deliveries, oldest first: delivered, failed for good, retrying
	// after a timeout, and one in flight.
	at := time.Date(2031, 3, 10, 9, 0, 0, 0, time.UTC)
	ok, bad := 204, 500
	later, lease := at.Add(40*time.Second), time.Now().Add(time.Hour)
	for _, d := range []struct {
		status           string
		attempts         int
		lastStatus       *int
		lastError        string
		next, leased     *time.Time
		delivered, tried *time.Time
	}{
		{"delivered", 1, &ok, "", &at, nil, &at, &at},
		{"failed", 15, &bad, "receiver answered 500", &at, nil, nil, &at},
		{"pending", 3, nil, "receiver did not answer within 10s", &later, nil, nil, &at},
		{"pending", 0, nil, "", &lease, &lease, nil, nil},
	} {
		id := store.NewID()
		_, err := b.st.Pool.Exec(context.Background(), `
			INSERT INTO webhook_deliveries (id, workspace_id, webhook_id, event, dedupe_key, payload, status, attempts,
				last_status, last_error, next_attempt_at, leased_until, delivered_at, last_attempt_at)
			VALUES ($1, $2, $3, 'handoff.created', $12, '{}', $4, $5, $6, $7, $8, $9, $10, $11)`,
			id, b.a.ws.ID, hook.ID, d.status, d.attempts, d.lastStatus, d.lastError, d.next, d.leased, d.delivered, d.tried, id.String())
		if err != nil {
			t.Fatal(err)
		}
	}

	type page struct {
		Items      []webhookDelivery `json:"items"`
		NextCursor *string           `json:"next_cursor"`
	}
	first := expectJSON[page](t, b, http.StatusOK, b.a.admin, "GET", path+"?limit=2", nil)
	if first.NextCursor == nil {
		t.Fatal("first page has no next cursor")
	}
	second := expectJSON[page](t, b, http.StatusOK, b.a.admin, "GET", path+"?limit=2&cursor="+*first.NextCursor, nil)
	if second.NextCursor != nil {
		t.Errorf("second page has a next cursor")
	}
	// Newest first.
	want := []webhookDelivery{
		{Event: "handoff.created", Status: "pending", InFlight: true},
		{Event: "handoff.created", Status: "pending", Attempts: 3, LastError: "receiver did not answer within 10s", LastAttemptAt: &at, NextAttemptAt: &later},
		{Event: "handoff.created", Status: "failed", Attempts: 15, LastStatus: &bad, LastError: "receiver answered 500", LastAttemptAt: &at},
		{Event: "handoff.created", Status: "delivered", Attempts: 1, LastStatus: &ok, LastAttemptAt: &at, DeliveredAt: &at},
	}
	if diff := cmp.Diff(want, append(first.Items, second.Items...)); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}

	// Another workspace's key finds no such webhook; other roles may not
	// look.
	expectError(t, b, http.StatusNotFound, "not_found", b.b.admin, "GET", path, nil)
	expectError(t, b, http.StatusNotFound, "not_found", b.a.admin, "GET", "/api/v1/webhooks/"+store.NewID().String()+"/deliveries", nil)
	expectError(t, b, http.StatusForbidden, "forbidden", b.a.sales, "GET", path, nil)
	expectError(t, b, http.StatusForbidden, "forbidden", b.a.marketing, "GET", path, nil)
	expectError(t, b, http.StatusBadRequest, "bad_request", b.a.admin, "GET", path+"?limit=0", nil)
}
