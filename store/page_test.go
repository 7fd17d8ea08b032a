package store_test

import (
	"errors"
	"testing"

	"leadflow/store"
)

func TestParseIDOfAMalformedIDIsNotFound(t *testing.T) {
	t.Parallel()
	if _, err := store.ParseID("42"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ParseID(42) = %v, want ErrNotFound", err)
	}
}
