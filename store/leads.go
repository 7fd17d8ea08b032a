package store

import (
	"time"

	"github.com/google/uuid"
)

// Lead statuses.
const (
	LeadNew                = "new"
	LeadNurturing          = "nurturing"
	LeadMarketingQualified = "marketing_qualified"
	LeadSalesAccepted      = "sales_accepted"
	LeadConverted          = "converted"
	LeadContacted          = "contacted"
	LeadDisqualified       = "disqualified"
	LeadRecycled           = "recycled"
)

// Lead is a person who may buy.
type Lead struct {
	ID              uuid.UUID         `db:"id"`
	WorkspaceID     uuid.UUID         `db:"workspace_id"`
	FirstName       string            `db:"first_name"`
	LastName        string            `db:"last_name"`
	Email           string            `db:"email"`
	EmailCanonical  string            `db:"email_canonical"`
	Phone           string            `db:"phone"`
	Company         string            `db:"company"`
	Title           string            `db:"title"`
	City            string            `db:"city"`
	State           string            `db:"state"`
	Country         string            `db:"country"`
	LeadSource      string            `db:"lead_source"`
	Description     string            `db:"description"`
	Campaign        string            `db:"campaign"`
	PrimaryInterest string            `db:"primary_interest"`
	Interests       []string          `db:"interests"`
	Status          string            `db:"status"`
	Score           int               `db:"score"`
	Grade           string            `db:"grade"`
	OwnerID         *uuid.UUID        `db:"owner_id"`
	Consent         bool              `db:"consent"`
	ConsentText     string            `db:"consent_text"`
	ConsentAt       *time.Time        `db:"consent_at"`
	UTM             map[string]string `db:"utm"`
	Custom          map[string]string `db:"custom"`
	ContactID       *uuid.UUID        `db:"contact_id"`
	MergedInto      *uuid.UUID        `db:"merged_into"`
	CreatedAt       time.Time         `db:"created_at"`
	UpdatedAt       time.Time         `db:"updated_at"`
	// Timezone is the lead's IANA time zone, when known.
	Timezone string     `db:"timezone"`
	ScoredAt *time.Time `db:"scored_at"`
	// Budget, authority, need and timeline, as recorded by inside sales.
	Budget       string     `db:"budget"`
	Authority    string     `db:"authority"`
	Need         string     `db:"need"`
	Timeline     string     `db:"timeline"`
	FollowUpAt   *time.Time `db:"follow_up_at"`
	StatusReason string     `db:"status_reason"`
	// PhoneUnverified is a phone number that did not parse, as typed: for
	// sales to read, never matched on.
	PhoneUnverified string `db:"phone_unverified"`
}

// leadColumns lists Lead's columns in struct order.
const leadColumns = `id, workspace_id, first_name, last_name, email, email_canonical, phone,
	company, title, city, state, country, lead_source, description, campaign, primary_interest,
	interests, status, score, grade, owner_id, consent, consent_text, consent_at, utm, custom,
	contact_id, merged_into, created_at, updated_at, timezone, scored_at, budget, authority, need,
	timeline, follow_up_at, status_reason, phone_unverified`

// AuditEntry is one line of a lead's audit trail.
type AuditEntry struct {
	ID         int64          `db:"id"`
	LeadID     uuid.UUID      `db:"lead_id"`
	At         time.Time      `db:"at"`
	Actor      string         `db:"actor"`
	Action     string         `db:"action"`
	Field      string         `db:"field"`
	OldValue   string         `db:"old_value"`
	NewValue   string         `db:"new_value"`
	ResponseID *uuid.UUID     `db:"response_id"`
	Detail     map[string]any `db:"detail"`
}

// PossibleDuplicate flags a lead that looks like another lead or a contact
// (name and company alike) for a person to review; nothing is merged.
type PossibleDuplicate struct {
	ID             uuid.UUID  `db:"id"`
	LeadID         uuid.UUID  `db:"lead_id"`
	MatchLeadID    *uuid.UUID `db:"match_lead_id"`
	MatchContactID *uuid.UUID `db:"match_contact_id"`
	Similarity     float32    `db:"similarity"`
	Status         string     `db:"status"`
	CreatedAt      time.Time  `db:"created_at"`
	// Reason says why the pair was flagged: DuplicateSimilarName,
	// DuplicateSharedPhone or DuplicateSharedIdentity.
	Reason string `db:"reason"`
}

// Contact is a known person, from conversions and imports.
type Contact struct {
	ID             uuid.UUID `db:"id"`
	WorkspaceID    uuid.UUID `db:"workspace_id"`
	FirstName      string    `db:"first_name"`
	LastName       string    `db:"last_name"`
	Email          string    `db:"email"`
	EmailCanonical string    `db:"email_canonical"`
	Phone          string    `db:"phone"`
	Company        string    `db:"company"`
	Title          string    `db:"title"`
	Country        string    `db:"country"`
	CreatedAt      time.Time `db:"created_at"`
	UpdatedAt      time.Time `db:"updated_at"`
	// AccountID is the organisation the contact works for, once known.
	AccountID *uuid.UUID `db:"account_id"`
}

// contactColumns lists Contact's columns in struct order.
const contactColumns = `id, workspace_id, first_name, last_name, email, email_canonical, phone,
	company, title, country, created_at, updated_at, account_id`
