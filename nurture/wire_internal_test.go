package nurture

import (
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
		{"template", func() any { return newTemplate(storetest.Filled[store.Template]()) }},
		{"template_zero", func() any { return newTemplate(store.Template{}) }},
		{"workspace", func() any { return newWorkspace(storetest.Filled[store.Workspace]()) }},
		{"workspace_zero", func() any { return newWorkspace(store.Workspace{}) }},
		{"workspace_settings", func() any { return newWorkspaceSettings(storetest.Filled[store.WorkspaceSettings]()) }},
		{"workspace_settings_zero", func() any { return newWorkspaceSettings(store.WorkspaceSettings{}) }},
		{"message", func() any { return newMessage(storetest.Filled[store.Message]()) }},
		{"message_zero", func() any { return newMessage(store.Message{}) }},
		{"enrollment", func() any { return newEnrollment(storetest.Filled[store.Enrollment]()) }},
		{"enrollment_zero", func() any { return newEnrollment(store.Enrollment{}) }},
		{"failed_enrollment", func() any { return newFailedEnrollment(storetest.Filled[store.FailedEnrollment]()) }},
		{"failed_enrollment_zero", func() any { return newFailedEnrollment(store.FailedEnrollment{}) }},
		{"enrollment_message", func() any { return newEnrollmentMessage(storetest.Filled[store.EnrollmentMessage]()) }},
		{"enrollment_message_zero", func() any { return newEnrollmentMessage(store.EnrollmentMessage{}) }},
		{"bounce", func() any { return newBounce(storetest.Filled[store.Bounce]()) }},
		{"bounce_zero", func() any { return newBounce(store.Bounce{}) }},
		{"sequence_view", func() any {
			return apiSequenceView{Sequence: newSequence(storetest.Filled[store.Sequence]()), TriggerFormKeys: []string{"contact-us"}}
		}},
		{"sequence_view_zero", func() any { return apiSequenceView{Sequence: newSequence(store.Sequence{})} }},
		{"enrollment_view", func() any {
			m := storetest.Filled[store.EnrollmentMessage]()
			return apiEnrollmentView{Enrollment: newEnrollment(storetest.Filled[store.Enrollment]()), SequenceName: "welcome",
				Steps: []apiEnrollmentStep{{Key: "a", State: "done", Message: httpapi.MapPtr(&m, newEnrollmentMessage)}, {Key: "b", State: "pending"}}}
		}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.GoldenJSON(t, tt.name, tt.got())
		})
	}
}
