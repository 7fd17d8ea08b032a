package nurture

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Step types.
const (
	StepEmail     = "email"
	StepWait      = "wait"
	StepCondition = "condition"
	StepExit      = "exit"
)

// Where a condition goes besides a step key.
const (
	GotoNext = "next"
	GotoExit = "exit"
)

// Step is one step of a sequence. Its key is stable across edits: an
// enrollment points at the key of the step it will run next.
type Step struct {
	Key  string `json:"key"`
	Type string `json:"type"`
	// email
	TemplateID *uuid.UUID `json:"template_id,omitempty"`
	// wait
	Duration Duration `json:"duration,omitempty"`
	// condition: If holds -> Then, else -> Else. Each is a later step's key,
	// "next" (the default) or "exit".
	If   *Condition `json:"if,omitempty"`
	Then string     `json:"then,omitempty"`
	Else string     `json:"else,omitempty"`
}

// Condition is what a condition step tests about the lead. Exactly one of
// its tests is set.
type Condition struct {
	// Opened / Clicked: the lead opened / clicked the email sent at that
	// step (a step key, or "previous": the last email step before this one).
	Opened  string `json:"opened,omitempty"`
	Clicked string `json:"clicked,omitempty"`
	// ScoreAtLeast: the lead's score is at least this.
	ScoreAtLeast *int `json:"score_at_least,omitempty"`
	// Field / Equals: a lead field (country, title, company, lead_source,
	// primary_interest, status, grade, state, city) equals the value,
	// ignoring case.
	Field  string  `json:"field,omitempty"`
	Equals *string `json:"equals,omitempty"`
}

// SendWindow limits when emails go out: on these days, between start and
// end (HH:MM, 24-hour) in the lead's time zone where known, else the
// sequence's. An empty window means any time.
type SendWindow struct {
	Days  []string `json:"days,omitempty"`
	Start string   `json:"start,omitempty"`
	End   string   `json:"end,omitempty"`
}

// Duration is a time.Duration written as "90s", "15m", "48h" or "2d".
type Duration time.Duration

// ParseDuration reads a Go duration, or a whole number of days ("2d").
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 || n > 3650 {
			return 0, fmt.Errorf("duration %q: want a number of days from 0 to 3650", s)
		}
		return Duration(time.Duration(n) * 24 * time.Hour), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("duration %q: want a positive duration such as 90s, 15m, 48h or 2d", s)
	}
	return Duration(d), nil
}

// String writes the duration as ParseDuration reads it.
func (d Duration) String() string {
	td := time.Duration(d)
	if td > 0 && td%(24*time.Hour) == 0 {
		return strconv.Itoa(int(td/(24*time.Hour))) + "d"
	}
	return td.String()
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"48h\" or \"2d\"")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
