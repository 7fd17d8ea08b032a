package qualify

import (
	"testing"

	"time"

	"leadflow/embed/httpapi"
	"leadflow/store"
	"leadflow/store/storetest"
)

// The API shows every row exactly as it did when the rows carried the
// JSON tags themselves: testdata/wire holds those answers, for a row with
// every field set and for an empty one.
// wireNow is when the webhook payloads of the test happened.
var wireNow = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// The webhook payloads too: a receiver sees rows as it did before.
func TestWireTypesKeepTheAPIShape(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		got  func() any
	}{
		{"handoff", func() any { return newHandoff(storetest.Filled[store.Handoff]()) }},
		{"handoff_zero", func() any { return newHandoff(store.Handoff{}) }},
		{"handoff_decision_event", func() any { return newHandoffDecisionEvent(storetest.Filled[store.HandoffDecisionEvent]()) }},
		{"handoff_decision_event_zero", func() any { return newHandoffDecisionEvent(store.HandoffDecisionEvent{}) }},
		{"lead", func() any { return newLead(storetest.Filled[store.Lead]()) }},
		{"lead_zero", func() any { return newLead(store.Lead{}) }},
		{"user", func() any { return newUser(storetest.Filled[store.User]()) }},
		{"user_zero", func() any { return newUser(store.User{}) }},
		{"team", func() any { return newTeam(storetest.Filled[store.Team]()) }},
		{"team_zero", func() any { return newTeam(store.Team{}) }},
		{"team_member", func() any { return newTeamMember(storetest.Filled[store.TeamMember]()) }},
		{"team_member_zero", func() any { return newTeamMember(store.TeamMember{}) }},
		{"webhook", func() any { return newWebhook(storetest.Filled[store.Webhook]()) }},
		{"webhook_zero", func() any { return newWebhook(store.Webhook{}) }},
		{"criteria", func() any { return newCriteria(storetest.Filled[store.Criteria]()) }},
		{"criteria_zero", func() any { return newCriteria(store.Criteria{}) }},
		{"criteria_event", func() any { return newCriteriaEvent(storetest.Filled[store.CriteriaEvent]()) }},
		{"criteria_event_zero", func() any { return newCriteriaEvent(store.CriteriaEvent{}) }},
		{"score_job", func() any { return newScoreJob(storetest.Filled[store.ScoreJob]()) }},
		{"score_job_zero", func() any { return newScoreJob(store.ScoreJob{}) }},
		{"qualification_decision", func() any { return newQualificationDecision(storetest.Filled[store.QualificationDecision]()) }},
		{"qualification_decision_zero", func() any { return newQualificationDecision(store.QualificationDecision{}) }},
		{"account", func() any { return newAccount(storetest.Filled[store.Account]()) }},
		{"account_zero", func() any { return newAccount(store.Account{}) }},
		{"contact", func() any { return newContact(storetest.Filled[store.Contact]()) }},
		{"contact_zero", func() any { return newContact(store.Contact{}) }},
		{"opportunity", func() any { return newOpportunity(storetest.Filled[store.Opportunity]()) }},
		{"opportunity_zero", func() any { return newOpportunity(store.Opportunity{}) }},
		{"stage_change", func() any { return newStageChange(storetest.Filled[store.StageChange]()) }},
		{"stage_change_zero", func() any { return newStageChange(store.StageChange{}) }},
		{"forecast", func() any { return newForecast(storetest.Filled[store.Forecast]()) }},
		{"forecast_zero", func() any { return newForecast(store.Forecast{}) }},
		{"handoff_view", func() any {
			return apiHandoff{Handoff: newHandoff(storetest.Filled[store.Handoff]()), Lead: newLead(storetest.Filled[store.Lead]()),
				Events: httpapi.Map(storetest.Filled[[]store.HandoffDecisionEvent](), newHandoffDecisionEvent)}
		}},
		{"team_view", func() any {
			return apiTeam{Team: newTeam(storetest.Filled[store.Team]()), Members: httpapi.Map(storetest.Filled[[]store.TeamMember](), newTeamMember)}
		}},
		{"created_webhook", func() any {
			return apiCreatedWebhook{Webhook: newWebhook(storetest.Filled[store.Webhook]()), Secret: "whsec_x"}
		}},
		{"criteria_view", func() any {
			v := criteriaView(storetest.Filled[store.Criteria]())
			v.Events = httpapi.Map(storetest.Filled[[]store.CriteriaEvent](), newCriteriaEvent)
			return v
		}},
		{"criteria_view_zero", func() any { return criteriaView(store.Criteria{}) }},
		{"qualification", func() any {
			return apiQualification{Decisions: httpapi.Map(storetest.Filled[[]store.QualificationDecision](), newQualificationDecision), Evaluation: storetest.Filled[Evaluation]()}
		}},
		{"conversion", func() any { return newAPIConversion(storetest.Filled[Conversion]()) }},
		{"conversion_zero", func() any { return newAPIConversion(Conversion{}) }},
		{"rejection", func() any { return newAPIRejection(storetest.Filled[Rejection]()) }},
		{"call_result", func() any { return newAPICallResult(storetest.Filled[CallResult]()) }},
		{"call_result_zero", func() any { return newAPICallResult(CallResult{}) }},
		{"direct_conversion", func() any { return newAPIDirectConversion(storetest.Filled[DirectConversion]()) }},
		{"direct_conversion_zero", func() any { return newAPIDirectConversion(DirectConversion{}) }},
		{"convert_preview", func() any { return newAPIConvertPreview(storetest.Filled[ConvertPreview]()) }},
		{"convert_preview_zero", func() any { return newAPIConvertPreview(ConvertPreview{}) }},
		{"opportunity_detail", func() any { return newAPIOpportunityDetail(storetest.Filled[OpportunityDetail]()) }},
		{"funnel_report", func() any { return newAPIFunnelReport(storetest.Filled[FunnelReport]()) }},
		{"webhook_created", func() any {
			owner := storetest.Filled[store.User]()
			return handoffPayload(EventHandoffCreated, wireNow, storetest.Filled[store.Handoff](), storetest.Filled[store.Lead](), &owner,
				map[string]any{"assigned_via": "round_robin"})
		}},
		{"webhook_created_unowned", func() any {
			return handoffPayload(EventHandoffCreated, wireNow, store.Handoff{}, store.Lead{}, nil, map[string]any{"assigned_via": "none"})
		}},
		{"webhook_accepted", func() any {
			out, owner := storetest.Filled[Conversion](), storetest.Filled[store.User]()
			return handoffPayload(EventHandoffAccepted, wireNow, out.Handoff, storetest.Filled[store.Lead](), &owner, map[string]any{
				"account": out.Account, "contact": out.Contact, "opportunity": out.Opportunity,
			})
		}},
		{"webhook_accepted_no_opportunity", func() any {
			return handoffPayload(EventHandoffAccepted, wireNow, store.Handoff{}, store.Lead{}, nil, map[string]any{
				"account": store.Account{}, "contact": store.Contact{}, "opportunity": (*store.Opportunity)(nil),
			})
		}},
		{"webhook_rejected", func() any {
			out, owner := storetest.Filled[Rejection](), storetest.Filled[store.User]()
			return handoffPayload(EventHandoffRejected, wireNow, out.Handoff, out.Lead, &owner, map[string]any{
				"reason": "no budget", "recycle_sequence_id": out.RecycleSequenceID,
			})
		}},
		{"webhook_reassigned", func() any {
			newOwner, oldOwner := storetest.Filled[store.User](), storetest.Filled[store.User]()
			return handoffPayload(EventHandoffReassigned, wireNow, storetest.Filled[store.Handoff](), storetest.Filled[store.Lead](), &newOwner, map[string]any{
				"previous_owner": &oldOwner, "escalated": true,
			})
		}},
		{"webhook_reassigned_from_nobody", func() any {
			return handoffPayload(EventHandoffReassigned, wireNow, store.Handoff{}, store.Lead{}, nil, map[string]any{
				"previous_owner": (*store.User)(nil), "escalated": false,
			})
		}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.GoldenJSON(t, tt.name, tt.got())
		})
	}
}
