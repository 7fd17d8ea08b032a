package httpapi_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

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

func TestDecodeIsStrict(t *testing.T) {
	t.Parallel()
	type body struct {
		Name   string   `json:"name"`
		Active bool     `json:"active"`
		Tags   []string `json:"tags"`
	}
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int               // of an *echo.HTTPError, 0 for none
		wantFields  map[string]string // of a *ValidationError
	}{
		{"valid", "application/json", `{"name": "a", "active": true, "tags": ["x"]}`, 0, nil},
		{"every unknown member named", "application/json", `{"name": "a", "nmae": "b", "Active": true}`, 0,
			map[string]string{"nmae": "unknown field", "Active": "unknown field"}},
		{"type error", "application/json", `{"active": "yes"}`, 0, map[string]string{"active": "must be true or false"}},
		{"array type error", "application/json", `{"tags": "x"}`, 0, map[string]string{"tags": "must be an array of strings"}},
		{"trailing data", "application/json", `{"name": "a"} {"name": "b"}`, http.StatusBadRequest, nil},
		{"not an object", "application/json", `["name"]`, http.StatusBadRequest, nil},
		{"null", "application/json", `null`, http.StatusBadRequest, nil},
		{"empty", "application/json", ``, http.StatusBadRequest, nil},
		{"form body", "application/x-www-form-urlencoded", `name=a`, http.StatusUnsupportedMediaType, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			req.Header.Set(echo.HeaderContentType, tt.contentType)
			c := echo.New().NewContext(req, httptest.NewRecorder())
			var got body
			err := httpapi.Decode(c, 1<<10, &got)
			var status int
			if he, ok := errors.AsType[*echo.HTTPError](err); ok {
				status = he.Code
			}
			var fields map[string]string
			if ve, ok := errors.AsType[*httpapi.ValidationError](err); ok {
				fields = ve.Fields
			}
			if status != tt.wantStatus || !cmp.Equal(fields, tt.wantFields) || (tt.wantStatus == 0 && tt.wantFields == nil && err != nil) {
				t.Errorf("Decode(%s) = %v (status %d, fields %v), want status %d, fields %v", tt.body, err, status, fields, tt.wantStatus, tt.wantFields)
			}
		})
	}
}

func TestReadOptionalObjectTakesAnEmptyBodyAsNoMembers(t *testing.T) {
	t.Parallel()
	c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(" \n")), httptest.NewRecorder())
	_, members, err := httpapi.ReadOptionalObject(c, 1<<10)
	if err != nil || members == nil || len(members) != 0 {
		t.Errorf("ReadOptionalObject(blank) = %v, %v; want no members", members, err)
	}
	c = echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(" \n")), httptest.NewRecorder())
	if _, _, err := httpapi.ReadObject(c, 1<<10); err == nil {
		t.Error("ReadObject(blank) = nil error, want the body refused")
	}
}

func TestDecodeBoundsTheBody(t *testing.T) {
	t.Parallel()
	big := `{"name": "` + strings.Repeat("x", 2<<10) + `"}`
	c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(big)), httptest.NewRecorder())
	var got struct {
		Name string `json:"name"`
	}
	err := httpapi.Decode(c, 1<<10, &got)
	if _, ok := errors.AsType[*http.MaxBytesError](err); !ok {
		t.Errorf("Decode of %d bytes with a 1 KiB bound = %v, want a *http.MaxBytesError", len(big), err)
	}
}
