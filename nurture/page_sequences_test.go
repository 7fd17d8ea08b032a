package nurture

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBuilderErrorsLandNextToTheirStep: the builder's values become the
// API's members, and each error the API's validation names comes back to
// the input of its step.
func TestBuilderErrorsLandNextToTheirStep(t *testing.T) {
	t.Parallel()
	f := sequenceForm{Name: "Onboarding", Timezone: "UTC", Steps: []stepForm{
		{Type: StepEmail, Duration: "2d"}, // no template; a stray duration is not sent
		{Type: StepWait},
		{Type: StepCondition, Test: "opened", Ref: "nope", Then: "back"},
	}}
	members, err := f.members()
	if err != nil {
		t.Fatal(err)
	}
	var steps []Step
	if err := json.Unmarshal(members["steps"], &steps); err != nil {
		t.Fatal(err)
	}
	AssignStepKeys(steps, nil)
	err = ValidateSteps(steps, nil)
	fields := fieldErrors(err)
	if fields == nil {
		t.Fatalf("ValidateSteps = %v, want field errors", err)
	}
	f.showErrors(fields)
	got := map[int]map[string]string{}
	for i, s := range f.Steps {
		got[i] = s.Errors
	}
	want := map[int]map[string]string{
		0: {"template_id": "is required for an email step"},
		1: {"duration": "is required for a wait step: at least 1s, such as \"90s\", \"48h\" or \"2d\""},
		2: {
			"ref":  "\"nope\" must be the key of an earlier email step, or \"previous\"",
			"then": "\"back\" must be the key of a later step, \"next\" or \"exit\": a sequence only goes forward",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors by step (-want +got):\n%s", diff)
	}
	if len(f.Errors) != 0 {
		t.Errorf("errors of the sequence itself = %v, want none", f.Errors)
	}
}
