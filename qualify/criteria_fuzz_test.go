package qualify

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzCriteriaExpression compiles and runs whatever marketing might type as
// criteria on the sample leads: nothing may panic, run out of memory or run
// on, and an expression that passes the save check runs again the same way.
func FuzzCriteriaExpression(f *testing.F) {
	for _, seed := range []string{
		DemoCriteriaExpression,
		`len(repeat(repeat("x", 999999), 999999)) > 0`,
		`len(reduce(1..64, #acc + #acc, "x")) > 0`,
		`len(replace(repeat("x", 100000), "", repeat("y", 100000))) > 0`,
		`let a = map(1..1000, #); all(a, {all(a, {all(a, {# > 0})})})`,
		`len(join(map(1..100000, repeat("ab", 5)), ",")) > 0`,
		`len(toJSON(map(1..50000, title + company))) > 0`,
		`"x" | repeat(3) == "xxx" && join(interests, ",") != ""`,
		`country in ["US", "CA"] && (budget matches "^[0-9]+k$" || upper(title) contains "CTO")`,
		`interests[5] == "x"`,
		`let s = title + title; let t = s + s; len(t) > 0`,
		`count(1..10, # % 2 == 0) > score`,
	} {
		f.Add(seed)
	}
	samples := sampleLeads()
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > maxCriteriaExpression || !utf8.ValidString(src) {
			return
		}
		start := time.Now()
		saveErr := tryExpression(src)
		// Three samples, each within the time budget, and compiling.
		if took := time.Since(start); took > 4*criteriaTimeBudget+time.Second {
			t.Fatalf("the save check of %q took %s", src, took)
		}
		if saveErr != nil {
			if strings.Contains(saveErr.Error(), "panic") {
				t.Errorf("%q: %v", src, saveErr)
			}
			return
		}
		program, reads, err := compileExpression(src)
		if err != nil {
			t.Fatalf("%q passed the save check but does not compile: %v", src, err)
		}
		c := &compiledCriteria{program: program, reads: reads}
		for name, l := range samples {
			if _, _, err := c.evaluate(l); err != nil {
				t.Errorf("%q passed the save check but fails on %s: %v", src, name, err)
			}
		}
	})
}

// Expressions the budget's rewrite once made the compiler panic on (found by
// the fuzzer) are refused with expr's own message for people, never a
// panic's stack.
func TestCriteriaCompilerPanicsRefusedPlainly(t *testing.T) {
	for src, want := range map[string]string{
		`len(replace(title, title, "", title)) > 0`: "too many arguments to call replace",
		`len(repeat("x")) > 0`:                      "not enough arguments to call repeat",
		`join(interests, ",", "x") != ""`:           "too many arguments to call join",
		`"x" | repeat(2, 3) == "xx"`:                "too many arguments to call repeat",
		`(reduce(0..0, #0 + "")) != ""`:             "unknown pointer #0",
	} {
		err := tryExpression(src)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "panic") {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
	for _, src := range []string{`"x" | repeat(3) == "xxx"`, `replace(title, "a", "b") != ""`, `join(interests) != ""`} {
		if err := tryExpression(src); err != nil {
			t.Errorf("%s: %v, want it accepted", src, err)
		}
	}
}
