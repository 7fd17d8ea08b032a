package local

import (
	"testing"

	"go.uber.org/goleak"
)

// The package starts servers and goroutines of its own: none may outlive a
// test. It needs no database, so a plain leak check will do.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// net/http's idle keep-alive connections of the test client.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}
