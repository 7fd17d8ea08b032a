package nurture

import "fmt"

// ValidationError names the fields at fault in a request or a configuration;
// the HTTP layer answers it with 422 and the fields.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid input: %d field(s)", len(e.Fields))
}

// FieldErrors gives the fields at fault, field name -> message.
func (e *ValidationError) FieldErrors() map[string]string { return e.Fields }
