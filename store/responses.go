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
	ID            uuid.UUID           `db:"id"`
	WorkspaceID   uuid.UUID           `db:"workspace_id"`
	FormID        uuid.UUID           `db:"form_id"`
	ReceivedAt    time.Time           `db:"received_at"`
	IP            *netip.Addr         `db:"ip"`
	UserAgent     string              `db:"user_agent"`
	Referrer      string              `db:"referrer"`
	Raw           map[string][]string `db:"raw"`
	Fields        json.RawMessage     `db:"fields"`
	Custom        map[string]string   `db:"custom"`
	UTM           map[string]string   `db:"utm"`
	LeadSource    string              `db:"lead_source"`
	Campaign      string              `db:"campaign"`
	Verdict       string              `db:"verdict"`
	VerdictReason string              `db:"verdict_reason"`
	Status        string              `db:"status"`
	Outcome       string              `db:"outcome"`
	LeadID        *uuid.UUID          `db:"lead_id"`
	ProcessedAt   *time.Time          `db:"processed_at"`
	// ConfirmedAt is when the person confirmed a double opt-in response.
	ConfirmedAt *time.Time `db:"confirmed_at"`
	// Attempts counts the processing runs that failed; LastError is the
	// newest of their errors. A response that failed too often is marked
	// failed (FailedAt) and waits for a person to retry it.
	Attempts  int        `db:"attempts"`
	LastError string     `db:"last_error"`
	FailedAt  *time.Time `db:"failed_at"`
	// Channel is how the response came in (ChannelWeb for a form post);
	// FormID is nil for every channel but web. RecordedBy names the person
	// or system that recorded a response by hand, and Answers holds the
	// questions asked and answers given (a phone survey's).
	Channel    string   `db:"channel"`
	RecordedBy string   `db:"recorded_by"`
	Answers    []Answer `db:"answers"`
}

// Answer is one question asked of a person and the answer they gave.
type Answer struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// The channels a response comes through.
const (
	ChannelWeb    = "web"
	ChannelPhone  = "phone"
	ChannelEmail  = "email"
	ChannelEvent  = "event"
	ChannelList   = "list"
	ChannelChat   = "chat"
	ChannelImport = "import"
)

// Channels lists every channel, in the order people are shown them.
var Channels = []string{ChannelWeb, ChannelPhone, ChannelEmail, ChannelEvent, ChannelList, ChannelChat, ChannelImport}

// responseColumns lists Response's columns in struct order.
const responseColumns = `id, workspace_id, form_id, received_at, ip, user_agent, referrer, raw,
	fields, custom, utm, lead_source, campaign, verdict, verdict_reason, status, outcome,
	lead_id, processed_at, confirmed_at, attempts, last_error, failed_at, channel, recorded_by, answers`

// ResponseFile is a file uploaded with a multipart response.
type ResponseFile struct {
	ID          uuid.UUID `db:"id"`
	ResponseID  uuid.UUID `db:"response_id"`
	Field       string    `db:"field"`
	Filename    string    `db:"filename"`
	ContentType string    `db:"content_type"`
	Size        int       `db:"size"`
	Data        []byte    `db:"data"`
}
