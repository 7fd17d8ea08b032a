package capture

import (
	"time"

	"testing"

	"leadflow/embed/httpapi"
	"leadflow/store"
	"leadflow/store/storetest"
)

// The API shows every row exactly as it did when the rows carried the
// JSON tags themselves: testdata/wire holds those answers, for a row with
// every field set and for an empty one.
func TestWireTypesKeepTheAPIShape(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		got  func() any
	}{
		{"form", func() any { return newForm(storetest.Filled[store.Form]()) }},
		{"form_zero", func() any { return newForm(store.Form{}) }},
		{"event", func() any { return newEvent(storetest.Filled[store.Event]()) }},
		{"event_zero", func() any { return newEvent(store.Event{}) }},
		{"event_counts", func() any { return newEventCounts(storetest.Filled[store.EventCounts]()) }},
		{"event_counts_zero", func() any { return newEventCounts(store.EventCounts{}) }},
		{"response", func() any { return newResponse(storetest.Filled[store.Response]()) }},
		{"response_zero", func() any { return newResponse(store.Response{}) }},
		{"response_file", func() any { return newResponseFile(storetest.Filled[store.ResponseFile]()) }},
		{"response_file_zero", func() any { return newResponseFile(store.ResponseFile{}) }},
		{"lead", func() any { return newLead(storetest.Filled[store.Lead]()) }},
		{"lead_zero", func() any { return newLead(store.Lead{}) }},
		{"audit_entry", func() any { return newAuditEntry(storetest.Filled[store.AuditEntry]()) }},
		{"audit_entry_zero", func() any { return newAuditEntry(store.AuditEntry{}) }},
		{"possible_duplicate", func() any { return newPossibleDuplicate(storetest.Filled[store.PossibleDuplicate]()) }},
		{"possible_duplicate_zero", func() any { return newPossibleDuplicate(store.PossibleDuplicate{}) }},
		{"contact", func() any { return newContact(storetest.Filled[store.Contact]()) }},
		{"contact_zero", func() any { return newContact(store.Contact{}) }},
		{"registration", func() any { return newRegistration(storetest.Filled[store.EventRegistration]()) }},
		{"registration_zero", func() any { return newRegistration(store.EventRegistration{}) }},
		{"registration_item", func() any { return newRegistrationItem(storetest.Filled[store.RegistrationListItem]()) }},
		{"registration_change", func() any {
			return newRegistrationChange(RegistrationChange{Registration: storetest.Filled[store.EventRegistration](), Changed: true,
				Promoted: storetest.Filled[[]store.EventRegistration]()})
		}},
		{"registration_change_zero", func() any { return newRegistrationChange(RegistrationChange{}) }},
		{"event_view", func() any {
			return apiEventView{Event: newEvent(storetest.Filled[store.Event]()), EventCounts: newEventCounts(storetest.Filled[store.EventCounts]())}
		}},
		{"response_view", func() any {
			return apiResponseView{Response: newResponse(storetest.Filled[store.Response]()), Files: httpapi.Map(storetest.Filled[[]store.ResponseFile](), newResponseFile)}
		}},
		{"lead_view", func() any {
			return apiLeadView{
				Lead:               newLead(storetest.Filled[store.Lead]()),
				Suppression:        &LeadSuppression{Reason: "unsubscribed", Since: storetest.Filled[time.Time]()},
				Responses:          httpapi.Map(storetest.Filled[[]store.Response](), newResponse),
				Audit:              httpapi.Map(storetest.Filled[[]store.AuditEntry](), newAuditEntry),
				PossibleDuplicates: httpapi.Map(storetest.Filled[[]store.PossibleDuplicate](), newPossibleDuplicate),
			}
		}},
		{"lead_view_zero", func() any { return apiLeadView{Lead: newLead(store.Lead{})} }},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.GoldenJSON(t, tt.name, tt.got())
		})
	}
}
