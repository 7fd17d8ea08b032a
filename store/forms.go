package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Form kinds.
const (
	FormContactUs         = "contact_us"
	FormEventRegistration = "event_registration"
)

// Form is a capture endpoint's configuration.
type Form struct {
	ID                 uuid.UUID         `db:"id"`
	WorkspaceID        uuid.UUID         `db:"workspace_id"`
	Key                string            `db:"key"`
	Name               string            `db:"name"`
	Kind               string            `db:"kind"`
	AllowedOrigins     []string          `db:"allowed_origins"`
	AllowedReturnURLs  []string          `db:"allowed_return_urls"`
	ThankYouURL        string            `db:"thank_you_url"`
	HoneypotField      string            `db:"honeypot_field"`
	RateLimitPerMinute int               `db:"rate_limit_per_minute"`
	DefaultRegion      string            `db:"default_region"`
	EventID            *uuid.UUID        `db:"event_id"`
	Campaign           string            `db:"campaign"`
	MaxBodyBytes       int               `db:"max_body_bytes"`
	MaxFileBytes       int               `db:"max_file_bytes"`
	FieldMapping       map[string]string `db:"field_mapping"`
	ConsentText        string            `db:"consent_text"`
	CreatedAt          time.Time         `db:"created_at"`
	UpdatedAt          time.Time         `db:"updated_at"`
	// DoubleOptIn: a response makes no lead until its person confirms by
	// the link emailed to them.
	DoubleOptIn bool `db:"double_opt_in"`
	// RequiredFields are the leadflow fields (email, phone, ...) a submission
	// is refused without, or with a value that cannot be used.
	RequiredFields []string `db:"required_fields"`
	// MaxCustomFields and MaxCustomValueChars bound the custom fields one
	// submission keeps: fields past the count are dropped and longer values
	// cut, both noted on the response.
	MaxCustomFields     int `db:"max_custom_fields"`
	MaxCustomValueChars int `db:"max_custom_value_chars"`
}

// formColumns lists Form's columns in struct order.
const formColumns = `id, workspace_id, key, name, kind, allowed_origins, allowed_return_urls,
	thank_you_url, honeypot_field, rate_limit_per_minute, default_region, event_id, campaign,
	max_body_bytes, max_file_bytes, field_mapping, consent_text, created_at, updated_at, double_opt_in,
	required_fields, max_custom_fields, max_custom_value_chars`

// FormByKey finds a form by its public key, whatever its workspace: the
// capture endpoint knows only the key.
func (q *Queries) FormByKey(ctx context.Context, key string) (Form, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+formColumns+` FROM forms WHERE key = $1`, key)
	f, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Form])
	return f, interpret(err, "form by key")
}

// Event is what an event-registration form registers people for.
type Event struct {
	ID          uuid.UUID  `db:"id"`
	WorkspaceID uuid.UUID  `db:"workspace_id"`
	Name        string     `db:"name"`
	StartsAt    *time.Time `db:"starts_at"`
	Capacity    *int       `db:"capacity"`
	CreatedAt   time.Time  `db:"created_at"`
}
