package qualify

import "fmt"

// ValidationError names the fields of a request that are invalid, field
// name -> message; the API answers it with 422.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid input: %d field(s)", len(e.Fields))
}

// FieldErrors gives the fields at fault, field name -> message.
func (e *ValidationError) FieldErrors() map[string]string { return e.Fields }

// invalid is a ValidationError of one field.
func invalid(field, message string) *ValidationError {
	return &ValidationError{Fields: map[string]string{field: message}}
}
