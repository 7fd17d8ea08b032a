package qualify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"leadflow/store"
)

// Fit rule operators.
const (
	// OpEquals: the field is value, ignoring case and surrounding space.
	OpEquals = "equals"
	// OpIn: the field is one of values, ignoring case.
	OpIn = "in"
	// OpContains: the field contains value, ignoring case.
	OpContains = "contains"
	// OpExists: the field is not blank.
	OpExists = "exists"
)

// fitFields are the lead fields fit rules can read.
var fitFields = []string{
	"title", "country", "company", "lead_source", "primary_interest", "state",
	"budget", "authority", "need", "timeline",
}

// gradeLetters are the grades thresholds can be set for, best first; a lead
// below every threshold is graded F.
var gradeLetters = []string{"A", "B", "C", "D", "E"}

// gradeNone is the grade of a lead below every threshold.
const gradeNone = "F"

// Bounds that keep rules sane and their sums far from overflow.
const (
	maxFitRules   = 100
	maxRuleValues = 100
	maxRulePoints = 10_000
	maxThreshold  = 1_000_000
	maxRuleText   = 200
)

// FitRule gives points to a lead whose field matches.
type FitRule struct {
	Field  string   `json:"field"`
	Op     string   `json:"op"`
	Value  string   `json:"value,omitempty"`
	Values []string `json:"values,omitempty"`
	Points int      `json:"points"`
}

// matches reports whether the lead's field satisfies the rule. Comparisons
// ignore case and surrounding space: "us", "US " and "Us" are one country.
func (r FitRule) matches(l store.Lead) bool {
	v := strings.TrimSpace(fitField(l, r.Field))
	switch r.Op {
	case OpEquals:
		return strings.EqualFold(v, strings.TrimSpace(r.Value))
	case OpIn:
		return slices.ContainsFunc(r.Values, func(s string) bool {
			return strings.EqualFold(v, strings.TrimSpace(s))
		})
	case OpContains:
		return v != "" && strings.Contains(strings.ToLower(v), strings.ToLower(strings.TrimSpace(r.Value)))
	case OpExists:
		return v != ""
	}
	return false
}

// fitField is the value of one of fitFields on a lead.
func fitField(l store.Lead, name string) string {
	switch name {
	case "title":
		return l.Title
	case "country":
		return l.Country
	case "company":
		return l.Company
	case "lead_source":
		return l.LeadSource
	case "primary_interest":
		return l.PrimaryInterest
	case "state":
		return l.State
	case "budget":
		return l.Budget
	case "authority":
		return l.Authority
	case "need":
		return l.Need
	case "timeline":
		return l.Timeline
	}
	return ""
}

// fitPoints sums the points of the rules a lead matches.
func fitPoints(l store.Lead, rules []FitRule) int {
	sum := 0
	for _, r := range rules {
		if r.matches(l) {
			sum += r.Points
		}
	}
	return sum
}

// gradeFor is the best grade whose threshold the fit points reach, F when
// none. Letters without a threshold are never given.
func gradeFor(points int, thresholds map[string]int) string {
	for _, g := range gradeLetters {
		if t, ok := thresholds[g]; ok && points >= t {
			return g
		}
	}
	return gradeNone
}

// parseFitRules reads fit rules sent by a client, naming every fault by its
// place, like fit_rules[2].op.
func parseFitRules(raw json.RawMessage, bad map[string]string) []FitRule {
	const name = "fit_rules"
	var items []json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &items) != nil {
		bad[name] = "must be an array of rules"
		return nil
	}
	if len(items) > maxFitRules {
		bad[name] = fmt.Sprintf("at most %d rules", maxFitRules)
		return nil
	}
	rules := make([]FitRule, 0, len(items))
	for i, item := range items {
		at := fmt.Sprintf("%s[%d]", name, i)
		var members map[string]json.RawMessage
		if json.Unmarshal(item, &members) != nil || members == nil {
			bad[at] = "must be an object"
			continue
		}
		var r FitRule
		ok := true
		for m, v := range members {
			var err error
			switch m {
			case "field":
				err = json.Unmarshal(v, &r.Field)
			case "op":
				err = json.Unmarshal(v, &r.Op)
			case "value":
				err = json.Unmarshal(v, &r.Value)
			case "values":
				err = json.Unmarshal(v, &r.Values)
			case "points":
				err = json.Unmarshal(v, &r.Points)
			default:
				bad[at+"."+m] = "unknown field"
				ok = false
				continue
			}
			if err != nil || isNull(v) {
				bad[at+"."+m] = "must be " + map[string]string{
					"field": "a string", "op": "a string", "value": "a string",
					"values": "an array of strings", "points": "an integer",
				}[m]
				ok = false
			}
		}
		if !ok {
			continue
		}
		r.Field, r.Op = strings.TrimSpace(r.Field), strings.TrimSpace(r.Op)
		if !slices.Contains(fitFields, r.Field) {
			bad[at+".field"] = "must be one of " + strings.Join(fitFields, ", ")
		}
		if abs(r.Points) > maxRulePoints {
			bad[at+".points"] = fmt.Sprintf("must be between -%d and %d", maxRulePoints, maxRulePoints)
		}
		switch r.Op {
		case OpEquals, OpContains:
			if strings.TrimSpace(r.Value) == "" {
				bad[at+".value"] = "is required for " + r.Op
			} else if len(r.Value) > maxRuleText {
				bad[at+".value"] = fmt.Sprintf("at most %d characters", maxRuleText)
			}
			if r.Values != nil {
				bad[at+".values"] = "only for the in operator"
			}
		case OpIn:
			if len(r.Values) == 0 {
				bad[at+".values"] = "is required for in"
			} else if len(r.Values) > maxRuleValues || slices.ContainsFunc(r.Values, func(s string) bool { return len(s) > maxRuleText }) {
				bad[at+".values"] = fmt.Sprintf("at most %d values of %d characters", maxRuleValues, maxRuleText)
			}
			if r.Value != "" {
				bad[at+".value"] = "use values for the in operator"
			}
		case OpExists:
			if r.Value != "" || r.Values != nil {
				bad[at+".op"] = "exists takes no value"
			}
		default:
			bad[at+".op"] = "must be one of equals, in, contains, exists"
		}
		rules = append(rules, r)
	}
	return rules
}

// parseGradeThresholds reads grade thresholds sent by a client: fit points
// per letter, each better letter needing more than the next.
func parseGradeThresholds(raw json.RawMessage, bad map[string]string) map[string]int {
	const name = "grade_thresholds"
	var t map[string]int
	if isNull(raw) || json.Unmarshal(raw, &t) != nil {
		bad[name] = "must be an object of integers, like {\"A\": 80, \"B\": 60}"
		return nil
	}
	for g, v := range t {
		switch {
		case !slices.Contains(gradeLetters, g):
			bad[name+"."+g] = "grades are A to E; F is every lead below them"
		case abs(v) > maxThreshold:
			bad[name+"."+g] = fmt.Sprintf("must be between -%d and %d", maxThreshold, maxThreshold)
		}
	}
	prev, prevLetter := 0, ""
	for _, g := range gradeLetters {
		v, ok := t[g]
		if !ok {
			continue
		}
		if prevLetter != "" && v >= prev {
			bad[name+"."+g] = fmt.Sprintf("must be below %s's %d", prevLetter, prev)
		}
		prev, prevLetter = v, g
	}
	return t
}

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
