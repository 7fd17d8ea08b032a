package capture

// Fields are a submission's person and context fields after normalisation.
// They are stored with the response (responses.fields) and are what the
// worker resolves to a lead.
type Fields struct {
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	// Email is trimmed and lower-cased; EmailCanonical additionally drops
	// +tags and Gmail dots, and is what matching compares.
	Email          string `json:"email,omitempty"`
	EmailCanonical string `json:"email_canonical,omitempty"`
	// Phone is E.164 (+14155550100), parsed with the form's default region,
	// with ";ext=" and its extension when it has one.
	Phone string `json:"phone,omitempty"`
	// PhoneUnverified is an optional phone number that did not parse, as
	// typed: kept for people to read, never matched on.
	PhoneUnverified string `json:"phone_unverified,omitempty"`
	Company         string `json:"company,omitempty"`
	Title           string `json:"title,omitempty"`
	City            string `json:"city,omitempty"`
	State           string `json:"state,omitempty"`
	Country         string `json:"country,omitempty"`
	LeadSource      string `json:"lead_source,omitempty"`
	Description     string `json:"description,omitempty"`
	CampaignID      string `json:"campaign_id,omitempty"`
	ProductInterest string `json:"product_interest,omitempty"`
	Consent         bool   `json:"consent,omitempty"`
	ConsentText     string `json:"consent_text,omitempty"`
	// CustomDropped and CustomTruncated note what the form's custom-field
	// caps did: fields dropped past the count, values cut to the length.
	CustomDropped   int `json:"custom_dropped,omitempty"`
	CustomTruncated int `json:"custom_truncated,omitempty"`
}
