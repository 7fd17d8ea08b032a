package store

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// ScoringRules are a workspace's scoring configuration. Points, FitRules and
// GradeThresholds are the qualify package's JSON; the store keeps them as
// they are.
type ScoringRules struct {
	WorkspaceID     uuid.UUID       `db:"workspace_id" json:"-"`
	Points          json.RawMessage `db:"points" json:"points"`
	FitRules        json.RawMessage `db:"fit_rules" json:"fit_rules"`
	GradeThresholds json.RawMessage `db:"grade_thresholds" json:"grade_thresholds"`
	HalfLifeSeconds int64           `db:"half_life_seconds" json:"half_life_seconds"`
	UpdatedAt       time.Time       `db:"updated_at" json:"updated_at"`
}

// ScoreJob is a background recompute of every lead's score.
type ScoreJob struct {
	ID          uuid.UUID  `db:"id" json:"id"`
	WorkspaceID uuid.UUID  `db:"workspace_id" json:"-"`
	Status      string     `db:"status" json:"status"`
	Total       int        `db:"total" json:"total"`
	Done        int        `db:"done" json:"done"`
	LastLeadID  *uuid.UUID `db:"last_lead_id" json:"-"`
	CreatedAt   time.Time  `db:"created_at" json:"created_at"`
	FinishedAt  *time.Time `db:"finished_at" json:"finished_at"`
}

// Criteria is one version of the qualification rules marketing and sales
// agreed on.
type Criteria struct {
	ID                uuid.UUID  `db:"id" json:"id"`
	WorkspaceID       uuid.UUID  `db:"workspace_id" json:"-"`
	Name              string     `db:"name" json:"name"`
	Version           int        `db:"version" json:"version"`
	Expression        string     `db:"expression" json:"expression"`
	Description       string     `db:"description" json:"description"`
	AgreedByMarketing string     `db:"agreed_by_marketing" json:"agreed_by_marketing"`
	AgreedBySales     string     `db:"agreed_by_sales" json:"agreed_by_sales"`
	Active            bool       `db:"active" json:"active"`
	CreatedAt         time.Time  `db:"created_at" json:"created_at"`
	ActivatedAt       *time.Time `db:"activated_at" json:"activated_at"`
	// DeactivatedAt and DeactivatedReason say when and why the system took
	// the version out of service (it failed at run time); activating it
	// again clears them.
	DeactivatedAt     *time.Time `db:"deactivated_at" json:"deactivated_at"`
	DeactivatedReason string     `db:"deactivated_reason" json:"deactivated_reason,omitempty"`
}

// Qualification outcomes.
const (
	DecisionQualified   = "qualified"
	DecisionDeadEnd     = "dead_end"
	DecisionMaybe       = "maybe"
	DecisionOpportunity = "opportunity"
)

// QualificationDecision records why a lead was (or was not) qualified.
type QualificationDecision struct {
	ID              uuid.UUID      `db:"id" json:"id"`
	WorkspaceID     uuid.UUID      `db:"workspace_id" json:"-"`
	LeadID          uuid.UUID      `db:"lead_id" json:"lead_id"`
	CriteriaID      *uuid.UUID     `db:"criteria_id" json:"criteria_id"`
	CriteriaVersion *int           `db:"criteria_version" json:"criteria_version"`
	Outcome         string         `db:"outcome" json:"outcome"`
	Values          map[string]any `db:"vals" json:"values"`
	Actor           string         `db:"actor" json:"actor"`
	Reason          string         `db:"reason" json:"reason,omitempty"`
	CreatedAt       time.Time      `db:"created_at" json:"created_at"`
}

// User roles (people in sales and marketing, not API key roles).
const (
	UserSalesRep     = "sales_rep"
	UserSalesManager = "sales_manager"
	UserSalesAdmin   = "sales_admin"
	UserMarketing    = "marketing"
)

// User is a person who can own leads and handoffs.
type User struct {
	ID          uuid.UUID `db:"id" json:"id"`
	WorkspaceID uuid.UUID `db:"workspace_id" json:"-"`
	Name        string    `db:"name" json:"name"`
	Email       string    `db:"email" json:"email"`
	Role        string    `db:"role" json:"role"`
	Available   bool      `db:"available" json:"available"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
}

// Team is a group of sales users with a manager.
type Team struct {
	ID          uuid.UUID  `db:"id" json:"id"`
	WorkspaceID uuid.UUID  `db:"workspace_id" json:"-"`
	Name        string     `db:"name" json:"name"`
	ManagerID   *uuid.UUID `db:"manager_id" json:"manager_id"`
	CreatedAt   time.Time  `db:"created_at" json:"created_at"`
}

// TeamMember is a user's place in a team's round-robin.
type TeamMember struct {
	TeamID   uuid.UUID `db:"team_id" json:"-"`
	UserID   uuid.UUID `db:"user_id" json:"user_id"`
	Weight   int       `db:"weight" json:"weight"`
	DailyCap *int      `db:"daily_cap" json:"daily_cap"`
}

// AssignmentRule sends leads of a territory to a team.
type AssignmentRule struct {
	ID          uuid.UUID `db:"id" json:"id"`
	WorkspaceID uuid.UUID `db:"workspace_id" json:"-"`
	Position    int       `db:"position" json:"position"`
	Country     string    `db:"country" json:"country"`
	State       string    `db:"state" json:"state"`
	TeamID      uuid.UUID `db:"team_id" json:"team_id"`
}

// AssignmentSettings say how handoffs run in a workspace.
type AssignmentSettings struct {
	WorkspaceID       uuid.UUID  `db:"workspace_id" json:"-"`
	SLASeconds        int64      `db:"sla_seconds" json:"sla_seconds"`
	MaxReassignments  int        `db:"max_reassignments" json:"max_reassignments"`
	RecycleSequenceID *uuid.UUID `db:"recycle_sequence_id" json:"recycle_sequence_id"`
	// RequalifyCooldownSeconds is how long after a rejection the criteria
	// may hand the lead off again (given new engagement since).
	RequalifyCooldownSeconds int64 `db:"requalify_cooldown_seconds" json:"requalify_cooldown_seconds"`
}

// Webhook is where handoff notifications are posted, signed.
type Webhook struct {
	ID          uuid.UUID `db:"id" json:"id"`
	WorkspaceID uuid.UUID `db:"workspace_id" json:"-"`
	URL         string    `db:"url" json:"url"`
	Events      []string  `db:"events" json:"events"`
	Secret      string    `db:"secret" json:"-"`
	Active      bool      `db:"active" json:"active"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
}

// WebhookDelivery is one notification to one webhook, retried until
// accepted.
type WebhookDelivery struct {
	ID            uuid.UUID       `db:"id" json:"id"`
	WorkspaceID   uuid.UUID       `db:"workspace_id" json:"-"`
	WebhookID     uuid.UUID       `db:"webhook_id" json:"webhook_id"`
	Event         string          `db:"event" json:"event"`
	DedupeKey     string          `db:"dedupe_key" json:"-"`
	Payload       json.RawMessage `db:"payload" json:"payload"`
	Status        string          `db:"status" json:"status"`
	Attempts      int             `db:"attempts" json:"attempts"`
	NextAttemptAt time.Time       `db:"next_attempt_at" json:"next_attempt_at"`
	EnqueuedAt    *time.Time      `db:"enqueued_at" json:"-"`
	LastError     string          `db:"last_error" json:"last_error,omitempty"`
	DeliveredAt   *time.Time      `db:"delivered_at" json:"delivered_at"`
	CreatedAt     time.Time       `db:"created_at" json:"created_at"`
	// LeasedUntil is set while an attempt is in flight.
	LeasedUntil   *time.Time `db:"leased_until" json:"-"`
	LastAttemptAt *time.Time `db:"last_attempt_at" json:"last_attempt_at"`
	// LastStatus is the receiver's HTTP status at the last attempt, nil
	// when it gave none.
	LastStatus *int `db:"last_status" json:"last_status"`
}

// Account is an organisation.
type Account struct {
	ID          uuid.UUID `db:"id" json:"id"`
	WorkspaceID uuid.UUID `db:"workspace_id" json:"-"`
	Name        string    `db:"name" json:"name"`
	Domain      string    `db:"domain" json:"domain"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
}

// Handoff statuses.
const (
	HandoffOpen     = "open"
	HandoffAccepted = "accepted"
	HandoffRejected = "rejected"
)

// Handoff is a qualified lead given to a sales owner.
type Handoff struct {
	ID            uuid.UUID  `db:"id" json:"id"`
	WorkspaceID   uuid.UUID  `db:"workspace_id" json:"-"`
	LeadID        uuid.UUID  `db:"lead_id" json:"lead_id"`
	DecisionID    uuid.UUID  `db:"decision_id" json:"decision_id"`
	OwnerID       *uuid.UUID `db:"owner_id" json:"owner_id"`
	TeamID        *uuid.UUID `db:"team_id" json:"team_id"`
	Status        string     `db:"status" json:"status"`
	SLADueAt      time.Time  `db:"sla_due_at" json:"sla_due_at"`
	Reassignments int        `db:"reassignments" json:"reassignments"`
	Reason        string     `db:"reason" json:"reason,omitempty"`
	DecidedBy     string     `db:"decided_by" json:"decided_by,omitempty"`
	DecidedAt     *time.Time `db:"decided_at" json:"decided_at"`
	CreatedAt     time.Time  `db:"created_at" json:"created_at"`
}

// Opportunity is a pending sale.
type Opportunity struct {
	ID          uuid.UUID  `db:"id" json:"id"`
	WorkspaceID uuid.UUID  `db:"workspace_id" json:"-"`
	AccountID   uuid.UUID  `db:"account_id" json:"account_id"`
	ContactID   uuid.UUID  `db:"contact_id" json:"contact_id"`
	LeadID      uuid.UUID  `db:"lead_id" json:"lead_id"`
	HandoffID   *uuid.UUID `db:"handoff_id" json:"handoff_id"`
	Name        string     `db:"name" json:"name"`
	// Amount is the numeric(14,2) as text ("1500.00"): money is never a float.
	Amount      string `db:"amount" json:"amount"`
	Stage       string `db:"stage" json:"stage"`
	Probability int    `db:"probability" json:"probability"`
	// ExpectedCloseDate is a calendar date, YYYY-MM-DD.
	ExpectedCloseDate *string    `db:"expected_close_date" json:"expected_close_date"`
	InForecast        bool       `db:"in_forecast" json:"in_forecast"`
	OwnerID           *uuid.UUID `db:"owner_id" json:"owner_id"`
	CreatedAt         time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt         time.Time  `db:"updated_at" json:"updated_at"`
}
