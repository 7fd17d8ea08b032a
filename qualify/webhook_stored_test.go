package qualify

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"leadflow/store"
	"leadflow/store/storetest"
)

// A handoff event's payload is a stored document (webhook_deliveries.payload)
// built from store rows. One written now is the document written before the
// rows lost their JSON tags, and one written before reads back unchanged.
func TestWebhookPayloadsAreStoredAsBefore(t *testing.T) {
	t.Parallel()
	b := hoSetup(t)
	b.webhook(t, "https://crm.example/hooks/leadflow", "whsec_test", EventHandoffAccepted)
	old, err := os.ReadFile("testdata/wire/webhook_accepted.json")
	if err != nil {
		t.Fatal(err)
	}
	out, owner := storetest.Filled[Conversion](), storetest.Filled[store.User]()
	now := handoffPayload(EventHandoffAccepted, wireNow, out.Handoff, storetest.Filled[store.Lead](), &owner, map[string]any{
		"account": out.Account, "contact": out.Contact, "opportunity": out.Opportunity,
	})
	at := b.clock.Now()
	for key, payload := range map[string]any{"written-now": now, "written-before": json.RawMessage(old)} {
		if n, err := b.st.QueueWebhookEvent(b.ctx, b.ws.ID, EventHandoffAccepted, key, payload, at); err != nil || n != 1 {
			t.Fatalf("queue %s = %d, %v; want one delivery", key, n, err)
		}
	}
	ds, err := b.st.ClaimWebhookDeliveries(b.ctx, at, at.Add(time.Minute), 10, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 {
		t.Fatalf("claimed %d deliveries, want 2", len(ds))
	}
	var want any
	if err := json.Unmarshal(old, &want); err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		var got any
		if err := json.Unmarshal(d.Payload, &got); err != nil {
			t.Fatalf("delivery %s: payload %s: %v", d.ID, d.Payload, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("delivery %s: stored payload differs from the old document (-want +got):\n%s", d.ID, diff)
		}
	}
}
