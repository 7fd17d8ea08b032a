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
	ID              uuid.UUID         `db:"id" json:"id"`
	WorkspaceID     uuid.UUID         `db:"workspace_id" json:"-"`
	FirstName       string            `db:"first_name" json:"first_name"`
	LastName        string            `db:"last_name" json:"last_name"`
	Email           string            `db:"email" json:"email"`
	EmailCanonical  string            `db:"email_canonical" json:"-"`
	Phone           string            `db:"phone" json:"phone"`
	Company         string            `db:"company" json:"company"`
	Title           string            `db:"title" json:"title"`
	City            string            `db:"city" json:"city"`
	State           string            `db:"state" json:"state"`
	Country         string            `db:"country" json:"country"`
	LeadSource      string            `db:"lead_source" json:"lead_source"`
	Description     string            `db:"description" json:"description"`
	Campaign        string            `db:"campaign" json:"campaign"`
	PrimaryInterest string            `db:"primary_interest" json:"primary_interest"`
	Interests       []string          `db:"interests" json:"interests"`
	Status          string            `db:"status" json:"status"`
	Score           int               `db:"score" json:"score"`
	Grade           string            `db:"grade" json:"grade"`
	OwnerID         *uuid.UUID        `db:"owner_id" json:"owner_id"`
	Consent         bool              `db:"consent" json:"consent"`
	ConsentText     string            `db:"consent_text" json:"consent_text"`
	ConsentAt       *time.Time        `db:"consent_at" json:"consent_at"`
	UTM             map[string]string `db:"utm" json:"utm"`
	Custom          map[string]string `db:"custom" json:"custom"`
	ContactID       *uuid.UUID        `db:"contact_id" json:"contact_id"`
	MergedInto      *uuid.UUID        `db:"merged_into" json:"merged_into,omitempty"`
	CreatedAt       time.Time         `db:"created_at" json:"created_at"`
	UpdatedAt       time.Time         `db:"updated_at" json:"updated_at"`
	// Timezone is the lead's IANA time zone, when known.
	Timezone string     `db:"timezone" json:"timezone"`
	ScoredAt *time.Time `db:"scored_at" json:"scored_at"`
	// Budget, authority, need and timeline, as recorded by inside sales.
	Budget       string     `db:"budget" json:"budget"`
	Authority    string     `db:"authority" json:"authority"`
	Need         string     `db:"need" json:"need"`
	Timeline     string     `db:"timeline" json:"timeline"`
	FollowUpAt   *time.Time `db:"follow_up_at" json:"follow_up_at"`
	StatusReason string     `db:"status_reason" json:"status_reason,omitempty"`
	// PhoneUnverified is a phone number that did not parse, as typed: for
	// sales to read, never matched on.
	PhoneUnverified string `db:"phone_unverified" json:"phone_unverified,omitempty"`
}

// leadColumns lists Lead's columns in struct order.
const leadColumns = `id, workspace_id, first_name, last_name, email, email_canonical, phone,
	company, title, city, state, country, lead_source, description, campaign, primary_interest,
	interests, status, score, grade, owner_id, consent, consent_text, consent_at, utm, custom,
	contact_id, merged_into, created_at, updated_at, timezone, scored_at, budget, authority, need,
	timeline, follow_up_at, status_reason, phone_unverified`

// AuditEntry is one line of a lead's audit trail.
type AuditEntry struct {
	ID         int64          `db:"id" json:"id"`
	LeadID     uuid.UUID      `db:"lead_id" json:"lead_id"`
	At         time.Time      `db:"at" json:"at"`
	Actor      string         `db:"actor" json:"actor"`
	Action     string         `db:"action" json:"action"`
	Field      string         `db:"field" json:"field,omitempty"`
	OldValue   string         `db:"old_value" json:"old_value,omitempty"`
	NewValue   string         `db:"new_value" json:"new_value,omitempty"`
	ResponseID *uuid.UUID     `db:"response_id" json:"response_id,omitempty"`
	Detail     map[string]any `db:"detail" json:"detail,omitempty"`
}

// PossibleDuplicate flags a lead that looks like another lead or a contact
// (name and company alike) for a person to review; nothing is merged.
type PossibleDuplicate struct {
	ID             uuid.UUID  `db:"id" json:"id"`
	LeadID         uuid.UUID  `db:"lead_id" json:"lead_id"`
	MatchLeadID    *uuid.UUID `db:"match_lead_id" json:"match_lead_id,omitempty"`
	MatchContactID *uuid.UUID `db:"match_contact_id" json:"match_contact_id,omitempty"`
	Similarity     float32    `db:"similarity" json:"similarity"`
	Status         string     `db:"status" json:"status"`
	CreatedAt      time.Time  `db:"created_at" json:"created_at"`
	// Reason says why the pair was flagged: DuplicateSimilarName,
	// DuplicateSharedPhone or DuplicateSharedIdentity.
	Reason string `db:"reason"`
}

// Contact is a known person, from conversions and imports.
type Contact struct {
	ID             uuid.UUID `db:"id" json:"id"`
	WorkspaceID    uuid.UUID `db:"workspace_id" json:"-"`
	FirstName      string    `db:"first_name" json:"first_name"`
	LastName       string    `db:"last_name" json:"last_name"`
	Email          string    `db:"email" json:"email"`
	EmailCanonical string    `db:"email_canonical" json:"-"`
	Phone          string    `db:"phone" json:"phone"`
	Company        string    `db:"company" json:"company"`
	Title          string    `db:"title" json:"title"`
	Country        string    `db:"country" json:"country"`
	CreatedAt      time.Time `db:"created_at" json:"created_at"`
	UpdatedAt      time.Time `db:"updated_at" json:"updated_at"`
	// AccountID is the organisation the contact works for, once known.
	AccountID *uuid.UUID `db:"account_id" json:"account_id"`
}

// contactColumns lists Contact's columns in struct order.
const contactColumns = `id, workspace_id, first_name, last_name, email, email_canonical, phone,
	company, title, country, created_at, updated_at, account_id`
