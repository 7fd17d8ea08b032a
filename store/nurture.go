package store

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// WorkspaceSettings are a workspace's sending settings.
type WorkspaceSettings struct {
	SenderName        string  `db:"sender_name" json:"sender_name"`
	SenderEmail       string  `db:"sender_email" json:"sender_email"`
	PostalAddress     string  `db:"postal_address" json:"postal_address"`
	SendRatePerSecond float64 `db:"send_rate_per_second" json:"send_rate_per_second"`
	RequireConsent    bool    `db:"require_consent" json:"require_consent"`
	Timezone          string  `db:"timezone" json:"timezone"`
}

// Template is an email template with merge fields.
type Template struct {
	ID          uuid.UUID         `db:"id" json:"id"`
	WorkspaceID uuid.UUID         `db:"workspace_id" json:"-"`
	Name        string            `db:"name" json:"name"`
	Subject     string            `db:"subject" json:"subject"`
	HTMLBody    string            `db:"html_body" json:"html_body"`
	TextBody    string            `db:"text_body" json:"text_body"`
	Defaults    map[string]string `db:"defaults" json:"defaults"`
	CreatedAt   time.Time         `db:"created_at" json:"created_at"`
	UpdatedAt   time.Time         `db:"updated_at" json:"updated_at"`
}

// Sequence statuses.
const (
	SequenceDraft  = "draft"
	SequenceActive = "active"
	SequencePaused = "paused"
)

// Sequence is a nurture programme. Steps and SendWindow are the nurture
// package's JSON; the store keeps them as they are.
type Sequence struct {
	ID             uuid.UUID       `db:"id" json:"id"`
	WorkspaceID    uuid.UUID       `db:"workspace_id" json:"-"`
	Name           string          `db:"name" json:"name"`
	Status         string          `db:"status" json:"status"`
	Timezone       string          `db:"timezone" json:"timezone"`
	SendWindow     json.RawMessage `db:"send_window" json:"send_window"`
	ExitCriteria   []string        `db:"exit_criteria" json:"exit_criteria"`
	TriggerFormIDs []uuid.UUID     `db:"trigger_form_ids" json:"trigger_form_ids"`
	Steps          json.RawMessage `db:"steps" json:"steps"`
	Version        int             `db:"version" json:"version"`
	CreatedAt      time.Time       `db:"created_at" json:"created_at"`
	UpdatedAt      time.Time       `db:"updated_at" json:"updated_at"`
}

// Enrollment states.
const (
	EnrollmentActive    = "active"
	EnrollmentCompleted = "completed"
	EnrollmentExited    = "exited"
)

// Enrollment is a lead's place in a sequence.
type Enrollment struct {
	ID          uuid.UUID  `db:"id" json:"id"`
	WorkspaceID uuid.UUID  `db:"workspace_id" json:"-"`
	SequenceID  uuid.UUID  `db:"sequence_id" json:"sequence_id"`
	LeadID      uuid.UUID  `db:"lead_id" json:"lead_id"`
	State       string     `db:"state" json:"state"`
	StepKey     string     `db:"step_key" json:"step_key"`
	NextRunAt   *time.Time `db:"next_run_at" json:"next_run_at"`
	EnqueuedAt  *time.Time `db:"enqueued_at" json:"-"`
	ExitReason  string     `db:"exit_reason" json:"exit_reason,omitempty"`
	EnrolledBy  string     `db:"enrolled_by" json:"enrolled_by"`
	CreatedAt   time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt   time.Time  `db:"updated_at" json:"updated_at"`
}

// EnrollmentStep is what happened at one step of an enrollment.
type EnrollmentStep struct {
	ID           int64          `db:"id" json:"-"`
	EnrollmentID uuid.UUID      `db:"enrollment_id" json:"-"`
	StepKey      string         `db:"step_key" json:"step_key"`
	Outcome      string         `db:"outcome" json:"outcome"`
	Detail       map[string]any `db:"detail" json:"detail,omitempty"`
	At           time.Time      `db:"at" json:"at"`
}

// Message kinds and statuses.
const (
	MessageMarketing     = "marketing"
	MessageTransactional = "transactional"

	MessageQueued     = "queued"
	MessageSent       = "sent"
	MessageFailed     = "failed"
	MessageSuppressed = "suppressed"
)

// Message is one email: created (with its rendered content) before the SMTP
// transaction, unique by its dedupe key.
type Message struct {
	ID           uuid.UUID  `db:"id" json:"id"`
	WorkspaceID  uuid.UUID  `db:"workspace_id" json:"-"`
	LeadID       *uuid.UUID `db:"lead_id" json:"lead_id"`
	ResponseID   *uuid.UUID `db:"response_id" json:"response_id,omitempty"`
	EnrollmentID *uuid.UUID `db:"enrollment_id" json:"enrollment_id,omitempty"`
	StepKey      string     `db:"step_key" json:"step_key,omitempty"`
	TemplateID   *uuid.UUID `db:"template_id" json:"template_id,omitempty"`
	DedupeKey    string     `db:"dedupe_key" json:"-"`
	Kind         string     `db:"kind" json:"kind"`
	ToEmail      string     `db:"to_email" json:"to_email"`
	Subject      string     `db:"subject" json:"subject"`
	HTMLBody     string     `db:"html_body" json:"-"`
	TextBody     string     `db:"text_body" json:"-"`
	Links        []string   `db:"links" json:"-"`
	MessageID    string     `db:"message_id" json:"message_id"`
	Status       string     `db:"status" json:"status"`
	Attempts     int        `db:"attempts" json:"attempts"`
	LastError    string     `db:"last_error" json:"last_error,omitempty"`
	EnqueuedAt   *time.Time `db:"enqueued_at" json:"-"`
	SentAt       *time.Time `db:"sent_at" json:"sent_at"`
	OpenedAt     *time.Time `db:"opened_at" json:"opened_at"`
	ClickedAt    *time.Time `db:"clicked_at" json:"clicked_at"`
	CreatedAt    time.Time  `db:"created_at" json:"created_at"`
}

// Suppression reasons.
const (
	SuppressUnsubscribed = "unsubscribed"
	SuppressBounced      = "bounced"
	SuppressComplained   = "complained"
)
