package store

import (
	"encoding/json"
	"net/netip"
	"time"

	"github.com/google/uuid"
)

// Response statuses: pending until the worker has resolved it; held while
// marked as spam (until released); awaiting confirmation while a double
// opt-in form's response waits for its confirmation click; failed once its
// processing failed too many times (until a person retries it).
const (
	ResponsePending              = "pending"
	ResponseProcessed            = "processed"
	ResponseHeld                 = "held"
	ResponseAwaitingConfirmation = "awaiting_confirmation"
	ResponseFailed               = "failed"
)

// Response verdicts.
const (
	VerdictOK       = "ok"
	VerdictSpam     = "spam"
	VerdictReleased = "released"
)

// Response is one form submission, immutable once committed except for its
// processing outcome and spam verdict.
type Response struct {
	ID            uuid.UUID           `db:"id" json:"id"`
	WorkspaceID   uuid.UUID           `db:"workspace_id" json:"-"`
	FormID        uuid.UUID           `db:"form_id" json:"form_id"`
	ReceivedAt    time.Time           `db:"received_at" json:"received_at"`
	IP            *netip.Addr         `db:"ip" json:"ip"`
	UserAgent     string              `db:"user_agent" json:"user_agent"`
	Referrer      string              `db:"referrer" json:"referrer"`
	Raw           map[string][]string `db:"raw" json:"raw"`
	Fields        json.RawMessage     `db:"fields" json:"fields"`
	Custom        map[string]string   `db:"custom" json:"custom"`
	UTM           map[string]string   `db:"utm" json:"utm"`
	LeadSource    string              `db:"lead_source" json:"lead_source"`
	Campaign      string              `db:"campaign" json:"campaign"`
	Verdict       string              `db:"verdict" json:"verdict"`
	VerdictReason string              `db:"verdict_reason" json:"verdict_reason"`
	Status        string              `db:"status" json:"status"`
	Outcome       string              `db:"outcome" json:"outcome"`
	LeadID        *uuid.UUID          `db:"lead_id" json:"lead_id"`
	ProcessedAt   *time.Time          `db:"processed_at" json:"processed_at"`
	// ConfirmedAt is when the person confirmed a double opt-in response.
	ConfirmedAt *time.Time `db:"confirmed_at" json:"confirmed_at,omitempty"`
	// Attempts counts the processing runs that failed; LastError is the
	// newest of their errors. A response that failed too often is marked
	// failed (FailedAt) and waits for a person to retry it.
	Attempts  int        `db:"attempts" json:"attempts"`
	LastError string     `db:"last_error" json:"last_error,omitempty"`
	FailedAt  *time.Time `db:"failed_at" json:"failed_at,omitempty"`
}

// responseColumns lists Response's columns in struct order.
const responseColumns = `id, workspace_id, form_id, received_at, ip, user_agent, referrer, raw,
	fields, custom, utm, lead_source, campaign, verdict, verdict_reason, status, outcome,
	lead_id, processed_at, confirmed_at, attempts, last_error, failed_at`

// ResponseFile is a file uploaded with a multipart response.
type ResponseFile struct {
	ID          uuid.UUID `db:"id" json:"id"`
	ResponseID  uuid.UUID `db:"response_id" json:"response_id"`
	Field       string    `db:"field" json:"field"`
	Filename    string    `db:"filename" json:"filename"`
	ContentType string    `db:"content_type" json:"content_type"`
	Size        int       `db:"size" json:"size"`
	Data        []byte    `db:"data" json:"-"`
}
