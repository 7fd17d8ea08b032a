package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/labstack/echo/v4"
)

// ValidationError names the members of a request body that are at fault;
// the error handler answers it 422 with the fields.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid request: %v", e.Fields)
}

// FieldErrors is what the error handler shows.
func (e *ValidationError) FieldErrors() map[string]string { return e.Fields }

// errNotObject is every body that is not one JSON object.
func errNotObject() error {
	return echo.NewHTTPError(http.StatusBadRequest, "the body must be a JSON object")
}

// ReadObject reads a request body of at most maxBody bytes that must be one
// JSON object. It returns the raw body and its top-level members, so that
// handlers can tell which members were sent.
func ReadObject(c echo.Context, maxBody int64) ([]byte, map[string]json.RawMessage, error) {
	return readObject(c, maxBody, false)
}

// ReadOptionalObject is ReadObject where an empty body is an empty object.
func ReadOptionalObject(c echo.Context, maxBody int64) ([]byte, map[string]json.RawMessage, error) {
	return readObject(c, maxBody, true)
}

func readObject(c echo.Context, maxBody int64, optional bool) ([]byte, map[string]json.RawMessage, error) {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != echo.MIMEApplicationJSON {
			return nil, nil, echo.NewHTTPError(http.StatusUnsupportedMediaType, "send the body as application/json")
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("read body: %w", err)
	}
	if optional && len(bytes.TrimSpace(data)) == 0 {
		return data, map[string]json.RawMessage{}, nil
	}
	// Unmarshal refuses trailing data after the object.
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil || members == nil {
		return nil, nil, errNotObject()
	}
	return data, members, nil
}

// Decode reads a body of at most maxBody bytes that must be one JSON object
// into dst, a pointer to a struct, strictly (see Unmarshal).
func Decode(c echo.Context, maxBody int64, dst any) error {
	data, members, err := ReadObject(c, maxBody)
	if err != nil {
		return err
	}
	return Unmarshal(data, members, dst)
}

// Unmarshal decodes data, whose top-level members are members, into dst
// strictly: members dst does not have, or of the wrong type, are a
// *ValidationError naming them. Unlike encoding/json alone, it names every
// unknown member and matches names exactly.
func Unmarshal(data []byte, members map[string]json.RawMessage, dst any) error {
	known := jsonNames(reflect.TypeOf(dst).Elem())
	fields := map[string]string{}
	for name := range members {
		if !known[name] {
			fields[name] = "unknown field"
		}
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	if err := json.Unmarshal(data, dst); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return &ValidationError{Fields: map[string]string{te.Field: "must be " + JSONKind(te.Type)}}
		}
		return errNotObject()
	}
	return nil
}

// UnmarshalMember decodes the nested object data, sent as member, into dst
// strictly, like Unmarshal, naming its fields "member.field".
func UnmarshalMember(member string, data json.RawMessage, dst any) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil || members == nil {
		return &ValidationError{Fields: map[string]string{member: "must be an object"}}
	}
	known := jsonNames(reflect.TypeOf(dst).Elem())
	bad := map[string]string{}
	for name := range members {
		if !known[name] {
			bad[member+"."+name] = "unknown field"
		}
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	if err := json.Unmarshal(data, dst); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return &ValidationError{Fields: map[string]string{member + "." + te.Field: "must be " + JSONKind(te.Type)}}
		}
		return &ValidationError{Fields: map[string]string{member: "must be an object"}}
	}
	return nil
}

// Bind decodes each member sent into its target, for handlers that act on
// which members were sent. A member without a target, or that does not
// decode, is a *ValidationError naming it; every such member is named at
// once.
func Bind(members map[string]json.RawMessage, targets map[string]any) error {
	bad := map[string]string{}
	for name, raw := range members {
		dst, ok := targets[name]
		if !ok {
			bad[name] = "unknown field"
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			bad[name] = DecodeMessage(err, reflect.TypeOf(dst).Elem())
		}
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	return nil
}

// MergeFields adds the fields of an error that names fields (a
// *ValidationError of any package) to bad and returns nil, or returns any
// other error.
func MergeFields(bad map[string]string, err error) error {
	if err == nil {
		return nil
	}
	if fe, ok := errors.AsType[fieldErrors](err); ok {
		maps.Copy(bad, fe.FieldErrors())
		return nil
	}
	return err
}

// fieldErrors is an error that names the fields at fault; every domain's
// ValidationError is one.
type fieldErrors interface {
	error
	FieldErrors() map[string]string
}

// DecodeMessage says what was wrong with a value of type t that did not
// decode, for a field error.
func DecodeMessage(err error, t reflect.Type) string {
	if _, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return "must be " + JSONKind(t)
	}
	if _, ok := errors.AsType[*json.SyntaxError](err); ok {
		return "is not valid JSON"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonNames is the set of JSON member names a struct type decodes.
func jsonNames(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		switch name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name {
		case "-":
		case "":
			names[f.Name] = true
		default:
			names[name] = true
		}
	}
	return names
}

// JSONKind describes a Go type in JSON's words, for an error message: "must
// be " + JSONKind(t).
func JSONKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		// JSON's own words: a person writing the body types true or false.
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array" + ofElems(t.Elem())
	case reflect.Map:
		return "an object" + ofElems(t.Elem())
	case reflect.Struct:
		return "an object"
	}
	return "of another type"
}

// ofElems names the values of an array or object when they are all of one
// simple kind.
func ofElems(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return " of strings"
	case reflect.Int, reflect.Int64:
		return " of integers"
	}
	return ""
}
