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
	WorkspaceID     uuid.UUID       `db:"workspace_id"`
	Points          json.RawMessage `db:"points"`
	FitRules        json.RawMessage `db:"fit_rules"`
	GradeThresholds json.RawMessage `db:"grade_thresholds"`
	HalfLifeSeconds int64           `db:"half_life_seconds"`
	UpdatedAt       time.Time       `db:"updated_at"`
}

// ScoreJob is a background recompute of every lead's score.
type ScoreJob struct {
	ID          uuid.UUID  `db:"id"`
	WorkspaceID uuid.UUID  `db:"workspace_id"`
	Status      string     `db:"status"`
	Total       int        `db:"total"`
	Done        int        `db:"done"`
	LastLeadID  *uuid.UUID `db:"last_lead_id"`
	CreatedAt   time.Time  `db:"created_at"`
	FinishedAt  *time.Time `db:"finished_at"`
}

// Criteria is one version of the qualification rules marketing and sales
// agreed on.
type Criteria struct {
	ID                uuid.UUID  `db:"id"`
	WorkspaceID       uuid.UUID  `db:"workspace_id"`
	Name              string     `db:"name"`
	Version           int        `db:"version"`
	Expression        string     `db:"expression"`
	Description       string     `db:"description"`
	AgreedByMarketing string     `db:"agreed_by_marketing"`
	AgreedBySales     string     `db:"agreed_by_sales"`
	Active            bool       `db:"active"`
	CreatedAt         time.Time  `db:"created_at"`
	ActivatedAt       *time.Time `db:"activated_at"`
	// DeactivatedAt and DeactivatedReason say when and why the system took
	// the version out of service (it failed at run time); activating it
	// again clears them.
	DeactivatedAt     *time.Time `db:"deactivated_at"`
	DeactivatedReason string     `db:"deactivated_reason"`
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
	ID              uuid.UUID      `db:"id"`
	WorkspaceID     uuid.UUID      `db:"workspace_id"`
	LeadID          uuid.UUID      `db:"lead_id"`
	CriteriaID      *uuid.UUID     `db:"criteria_id"`
	CriteriaVersion *int           `db:"criteria_version"`
	Outcome         string         `db:"outcome"`
	Values          map[string]any `db:"vals"`
	Actor           string         `db:"actor"`
	Reason          string         `db:"reason"`
	CreatedAt       time.Time      `db:"created_at"`
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
	ID          uuid.UUID `db:"id"`
	WorkspaceID uuid.UUID `db:"workspace_id"`
	Name        string    `db:"name"`
	Email       string    `db:"email"`
	Role        string    `db:"role"`
	Available   bool      `db:"available"`
	CreatedAt   time.Time `db:"created_at"`
}

// Team is a group of sales users with a manager.
type Team struct {
	ID          uuid.UUID  `db:"id"`
	WorkspaceID uuid.UUID  `db:"workspace_id"`
	Name        string     `db:"name"`
	ManagerID   *uuid.UUID `db:"manager_id"`
	CreatedAt   time.Time  `db:"created_at"`
}

// TeamMember is a user's place in a team's round-robin.
type TeamMember struct {
	TeamID   uuid.UUID `db:"team_id"`
	UserID   uuid.UUID `db:"user_id"`
	Weight   int       `db:"weight"`
	DailyCap *int      `db:"daily_cap"`
}

// AssignmentRule sends leads of a territory to a team.
type AssignmentRule struct {
	ID          uuid.UUID `db:"id"`
	WorkspaceID uuid.UUID `db:"workspace_id"`
	Position    int       `db:"position"`
	Country     string    `db:"country"`
	State       string    `db:"state"`
	TeamID      uuid.UUID `db:"team_id"`
}

// AssignmentSettings say how handoffs run in a workspace.
type AssignmentSettings struct {
	WorkspaceID       uuid.UUID  `db:"workspace_id"`
	SLASeconds        int64      `db:"sla_seconds"`
	MaxReassignments  int        `db:"max_reassignments"`
	RecycleSequenceID *uuid.UUID `db:"recycle_sequence_id"`
	// RequalifyCooldownSeconds is how long after a rejection the criteria
	// may hand the lead off again (given new engagement since).
	RequalifyCooldownSeconds int64 `db:"requalify_cooldown_seconds"`
}

// Webhook is where handoff notifications are posted, signed.
type Webhook struct {
	ID          uuid.UUID `db:"id"`
	WorkspaceID uuid.UUID `db:"workspace_id"`
	URL         string    `db:"url"`
	Events      []string  `db:"events"`
	Secret      string    `db:"secret"`
	Active      bool      `db:"active"`
	CreatedAt   time.Time `db:"created_at"`
}

// WebhookDelivery is one notification to one webhook, retried until
// accepted.
type WebhookDelivery struct {
	ID            uuid.UUID       `db:"id"`
	WorkspaceID   uuid.UUID       `db:"workspace_id"`
	WebhookID     uuid.UUID       `db:"webhook_id"`
	Event         string          `db:"event"`
	DedupeKey     string          `db:"dedupe_key"`
	Payload       json.RawMessage `db:"payload"`
	Status        string          `db:"status"`
	Attempts      int             `db:"attempts"`
	NextAttemptAt time.Time       `db:"next_attempt_at"`
	EnqueuedAt    *time.Time      `db:"enqueued_at"`
	LastError     string          `db:"last_error"`
	DeliveredAt   *time.Time      `db:"delivered_at"`
	CreatedAt     time.Time       `db:"created_at"`
	// LeasedUntil is set while an attempt is in flight.
	LeasedUntil   *time.Time `db:"leased_until"`
	LastAttemptAt *time.Time `db:"last_attempt_at"`
	// LastStatus is the receiver's HTTP status at the last attempt, nil
	// when it gave none.
	LastStatus *int `db:"last_status"`
}

// Account is an organisation.
type Account struct {
	ID          uuid.UUID `db:"id"`
	WorkspaceID uuid.UUID `db:"workspace_id"`
	Name        string    `db:"name"`
	Domain      string    `db:"domain"`
	CreatedAt   time.Time `db:"created_at"`
}

// Handoff statuses.
const (
	HandoffOpen     = "open"
	HandoffAccepted = "accepted"
	HandoffRejected = "rejected"
)

// Handoff is a qualified lead given to a sales owner.
type Handoff struct {
	ID            uuid.UUID  `db:"id"`
	WorkspaceID   uuid.UUID  `db:"workspace_id"`
	LeadID        uuid.UUID  `db:"lead_id"`
	DecisionID    uuid.UUID  `db:"decision_id"`
	OwnerID       *uuid.UUID `db:"owner_id"`
	TeamID        *uuid.UUID `db:"team_id"`
	Status        string     `db:"status"`
	SLADueAt      time.Time  `db:"sla_due_at"`
	Reassignments int        `db:"reassignments"`
	Reason        string     `db:"reason"`
	DecidedBy     string     `db:"decided_by"`
	DecidedAt     *time.Time `db:"decided_at"`
	CreatedAt     time.Time  `db:"created_at"`
}

// Opportunity is a pending sale.
type Opportunity struct {
	ID          uuid.UUID  `db:"id"`
	WorkspaceID uuid.UUID  `db:"workspace_id"`
	AccountID   uuid.UUID  `db:"account_id"`
	ContactID   uuid.UUID  `db:"contact_id"`
	LeadID      uuid.UUID  `db:"lead_id"`
	HandoffID   *uuid.UUID `db:"handoff_id"`
	Name        string     `db:"name"`
	// Amount is the numeric(14,2) as text ("1500.00"): money is never a float.
	Amount      string `db:"amount"`
	Stage       string `db:"stage"`
	Probability int    `db:"probability"`
	// ExpectedCloseDate is a calendar date, YYYY-MM-DD.
	ExpectedCloseDate *string    `db:"expected_close_date"`
	InForecast        bool       `db:"in_forecast"`
	OwnerID           *uuid.UUID `db:"owner_id"`
	CreatedAt         time.Time  `db:"created_at"`
	UpdatedAt         time.Time  `db:"updated_at"`
}
