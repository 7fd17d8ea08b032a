package store

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// WorkspaceSettings are a workspace's sending settings.
type WorkspaceSettings struct {
	SenderName        string  `db:"sender_name"`
	SenderEmail       string  `db:"sender_email"`
	PostalAddress     string  `db:"postal_address"`
	SendRatePerSecond float64 `db:"send_rate_per_second"`
	RequireConsent    bool    `db:"require_consent"`
	Timezone          string  `db:"timezone"`
}

// Template is an email template with merge fields.
type Template struct {
	ID          uuid.UUID         `db:"id"`
	WorkspaceID uuid.UUID         `db:"workspace_id"`
	Name        string            `db:"name"`
	Subject     string            `db:"subject"`
	HTMLBody    string            `db:"html_body"`
	TextBody    string            `db:"text_body"`
	Defaults    map[string]string `db:"defaults"`
	CreatedAt   time.Time         `db:"created_at"`
	UpdatedAt   time.Time         `db:"updated_at"`
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
	ID             uuid.UUID       `db:"id"`
	WorkspaceID    uuid.UUID       `db:"workspace_id"`
	Name           string          `db:"name"`
	Status         string          `db:"status"`
	Timezone       string          `db:"timezone"`
	SendWindow     json.RawMessage `db:"send_window"`
	ExitCriteria   []string        `db:"exit_criteria"`
	TriggerFormIDs []uuid.UUID     `db:"trigger_form_ids"`
	Steps          json.RawMessage `db:"steps"`
	Version        int             `db:"version"`
	CreatedAt      time.Time       `db:"created_at"`
	UpdatedAt      time.Time       `db:"updated_at"`
}

// Enrollment states.
const (
	EnrollmentActive    = "active"
	EnrollmentCompleted = "completed"
	EnrollmentExited    = "exited"
)

// Enrollment is a lead's place in a sequence.
type Enrollment struct {
	ID          uuid.UUID  `db:"id"`
	WorkspaceID uuid.UUID  `db:"workspace_id"`
	SequenceID  uuid.UUID  `db:"sequence_id"`
	LeadID      uuid.UUID  `db:"lead_id"`
	State       string     `db:"state"`
	StepKey     string     `db:"step_key"`
	NextRunAt   *time.Time `db:"next_run_at"`
	EnqueuedAt  *time.Time `db:"enqueued_at"`
	ExitReason  string     `db:"exit_reason"`
	EnrolledBy  string     `db:"enrolled_by"`
	CreatedAt   time.Time  `db:"created_at"`
	UpdatedAt   time.Time  `db:"updated_at"`
}

// EnrollmentStep is what happened at one step of an enrollment.
type EnrollmentStep struct {
	ID           int64          `db:"id"`
	EnrollmentID uuid.UUID      `db:"enrollment_id"`
	StepKey      string         `db:"step_key"`
	Outcome      string         `db:"outcome"`
	Detail       map[string]any `db:"detail"`
	At           time.Time      `db:"at"`
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
	ID           uuid.UUID  `db:"id"`
	WorkspaceID  uuid.UUID  `db:"workspace_id"`
	LeadID       *uuid.UUID `db:"lead_id"`
	ResponseID   *uuid.UUID `db:"response_id"`
	EnrollmentID *uuid.UUID `db:"enrollment_id"`
	StepKey      string     `db:"step_key"`
	TemplateID   *uuid.UUID `db:"template_id"`
	DedupeKey    string     `db:"dedupe_key"`
	Kind         string     `db:"kind"`
	ToEmail      string     `db:"to_email"`
	Subject      string     `db:"subject"`
	HTMLBody     string     `db:"html_body"`
	TextBody     string     `db:"text_body"`
	Links        []string   `db:"links"`
	MessageID    string     `db:"message_id"`
	Status       string     `db:"status"`
	Attempts     int        `db:"attempts"`
	LastError    string     `db:"last_error"`
	EnqueuedAt   *time.Time `db:"enqueued_at"`
	SentAt       *time.Time `db:"sent_at"`
	OpenedAt     *time.Time `db:"opened_at"`
	ClickedAt    *time.Time `db:"clicked_at"`
	CreatedAt    time.Time  `db:"created_at"`
}

// Suppression reasons.
const (
	SuppressUnsubscribed = "unsubscribed"
	SuppressBounced      = "bounced"
	SuppressComplained   = "complained"
)
