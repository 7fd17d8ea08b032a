package metrics

import (
	"testing"

	"leadflow/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }
