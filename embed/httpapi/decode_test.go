package httpapi_test

import (
	"reflect"
	"testing"

	"leadflow/embed/httpapi"
)

func TestJSONKindNamesEveryTypeInJSONWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t    reflect.Type
		want string
	}{
		{reflect.TypeFor[string](), "a string"},
		{reflect.TypeFor[*bool](), "true or false"},
		{reflect.TypeFor[int64](), "an integer"},
		{reflect.TypeFor[*float64](), "a number"},
		{reflect.TypeFor[[]string](), "an array of strings"},
		{reflect.TypeFor[[]int](), "an array of integers"},
		{reflect.TypeFor[[]struct{}](), "an array"},
		{reflect.TypeFor[map[string]string](), "an object of strings"},
		{reflect.TypeFor[map[string]any](), "an object"},
		{reflect.TypeFor[struct{ A int }](), "an object"},
	}
	for _, tt := range tests {
		if got := httpapi.JSONKind(tt.t); got != tt.want {
			t.Errorf("JSONKind(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestMapKeepsNilAndEmptyApart(t *testing.T) {
	t.Parallel()
	double := func(i int) int { return 2 * i }
	if got := httpapi.Map[int, int](nil, double); got != nil {
		t.Errorf("Map(nil) = %#v, want nil (null stays null)", got)
	}
	if got := httpapi.Map([]int{}, double); got == nil || len(got) != 0 {
		t.Errorf("Map([]) = %#v, want an empty slice ([] stays [])", got)
	}
	if got := httpapi.Map([]int{1, 2}, double); len(got) != 2 || got[1] != 4 {
		t.Errorf("Map([1 2]) = %v, want [2 4]", got)
	}
	if got := httpapi.MapPtr[int, int](nil, double); got != nil {
		t.Errorf("MapPtr(nil) = %v, want nil", got)
	}
	one := 1
	if got := httpapi.MapPtr(&one, double); got == nil || *got != 2 {
		t.Errorf("MapPtr(&1) = %v, want &2", got)
	}
}
