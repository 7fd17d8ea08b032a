package storetest

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

// Filled is a T with every exported field set to a value of its own, so
// that what a mapper drops or mixes up shows: strings hold their field's
// name, numbers and IDs differ field by field, pointers, slices and maps
// hold one element. It is for testing that a wire type shows a row whole.
func Filled[T any]() T {
	var v T
	n := 0
	fill(reflect.ValueOf(&v).Elem(), "", &n)
	return v
}

var (
	typeTime = reflect.TypeFor[time.Time]()
	typeUUID = reflect.TypeFor[uuid.UUID]()
	typeAddr = reflect.TypeFor[netip.Addr]()
	typeRaw  = reflect.TypeFor[json.RawMessage]()
)

func fill(v reflect.Value, name string, n *int) {
	*n++
	switch v.Type() {
	case typeTime:
		v.Set(reflect.ValueOf(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(*n) * time.Minute)))
		return
	case typeUUID:
		v.Set(reflect.ValueOf(uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "%s-%d", name, *n))))
		return
	case typeAddr:
		v.Set(reflect.ValueOf(netip.AddrFrom4([4]byte{192, 0, 2, byte(*n)})))
		return
	case typeRaw:
		v.Set(reflect.ValueOf(json.RawMessage(fmt.Sprintf(`{"%s":%d}`, name, *n))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("%s-%d", name, *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), name, n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), name, n)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fill(k, name+"_key", n)
		e := reflect.New(v.Type().Elem()).Elem()
		if v.Type().Elem().Kind() == reflect.Interface {
			e.Set(reflect.ValueOf(fmt.Sprintf("%s-%d", name, *n)))
		} else {
			fill(e, name, n)
		}
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fill(v.Field(i), f.Name, n)
			}
		}
	case reflect.Interface:
		v.Set(reflect.ValueOf(fmt.Sprintf("%s-%d", name, *n)))
	}
}

// GoldenJSON compares v as JSON with the file testdata/wire/name.json, which
// holds what the API answered when the file was written; with
// LEADFLOW_UPDATE_GOLDEN=1 it writes the file instead.
func GoldenJSON(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "wire", name+".json")
	if os.Getenv("LEADFLOW_UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
		t.Errorf("%s: JSON differs from %s (-want +got):\n%s", name, path, diff)
	}
}
