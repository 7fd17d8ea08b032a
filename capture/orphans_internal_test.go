package capture

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

// Each dead generation of a response's task gets the next ID, the same in
// every sweeper.
func TestOrphanRecoveryTaskID(t *testing.T) {
	t.Parallel()
	id := uuid.MustParse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
	base := processTaskID(id)
	tests := []struct{ dead, want string }{
		{base, base + ":1"},
		{base + ":1", base + ":2"},
		{base + ":41", base + ":42"},
		{base + ":garbled", base + ":1"},
	}
	var got, want []string
	for _, tt := range tests {
		got = append(got, recoveryTaskID(tt.dead, id))
		want = append(want, tt.want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recovery task IDs (-want +got):\n%s", diff)
	}
}
