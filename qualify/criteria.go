package qualify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"github.com/google/uuid"

	"leadflow/store"
)

// CriteriaEnv is everything a criteria expression can read about a lead;
// any other name is a compile error, so a typo is caught when the criteria
// are saved, not when a lead fails to qualify.
type CriteriaEnv struct {
	Score           int      `expr:"score"`
	Grade           string   `expr:"grade"`
	Status          string   `expr:"status"`
	PrimaryInterest string   `expr:"primary_interest"`
	Country         string   `expr:"country"`
	State           string   `expr:"state"`
	Title           string   `expr:"title"`
	Company         string   `expr:"company"`
	LeadSource      string   `expr:"lead_source"`
	Budget          string   `expr:"budget"`
	Authority       string   `expr:"authority"`
	Need            string   `expr:"need"`
	Timeline        string   `expr:"timeline"`
	Interests       []string `expr:"interests"`
	Consent         bool     `expr:"consent"`
	// Budget is what is left of the run's budget, for the helpers the
	// budget patch calls; it is no lead field.
	Spend *evalBudget `expr:"__budget"`
}

func envOf(l store.Lead) CriteriaEnv {
	return CriteriaEnv{
		Score: l.Score, Grade: l.Grade, Status: l.Status, PrimaryInterest: l.PrimaryInterest,
		Country: l.Country, State: l.State, Title: l.Title, Company: l.Company, LeadSource: l.LeadSource,
		Budget: l.Budget, Authority: l.Authority, Need: l.Need, Timeline: l.Timeline,
		Interests: orEmpty(l.Interests), Consent: l.Consent,
	}
}

// value is the member of env a name reads; ok is false for other names
// (an expression's own variables and functions).
func (env CriteriaEnv) value(name string) (any, bool) {
	switch name {
	case "score":
		return env.Score, true
	case "grade":
		return env.Grade, true
	case "status":
		return env.Status, true
	case "primary_interest":
		return env.PrimaryInterest, true
	case "country":
		return env.Country, true
	case "state":
		return env.State, true
	case "title":
		return env.Title, true
	case "company":
		return env.Company, true
	case "lead_source":
		return env.LeadSource, true
	case "budget":
		return env.Budget, true
	case "authority":
		return env.Authority, true
	case "need":
		return env.Need, true
	case "timeline":
		return env.Timeline, true
	case "interests":
		return env.Interests, true
	case "consent":
		return env.Consent, true
	}
	return nil, false
}

// Criteria text bounds.
const (
	maxCriteriaName       = 100
	maxCriteriaExpression = 2000
	maxCriteriaText       = 2000
	maxAgreedBy           = 200
)

// The demo's rule, seeded by SeedCriteria. With the default points
// (form_submitted 10, email_opened 2, email_clicked 5) a lead reaches 14 by
// posting a form and clicking a link in a nurture email (10 + 5), not by a
// form and an open alone (12); demoFitRules grade a lead that gives a
// product interest, a company and a lead source (like the README's demo
// post) B (30 + 20 + 10 = 60).
const (
	DemoCriteriaName       = "Marketing qualified lead"
	DemoCriteriaExpression = `primary_interest != "" && score >= 14 && grade in ["A", "B"]`
)

// demoFitRules are seeded with the demo criteria when the workspace has no
// fit rules: without any, every lead is graded F and nobody could qualify.
var demoFitRules = []FitRule{
	{Field: "primary_interest", Op: OpExists, Points: 30},
	{Field: "company", Op: OpExists, Points: 20},
	{Field: "lead_source", Op: OpExists, Points: 10},
	{Field: "title", Op: OpExists, Points: 10},
	{Field: "country", Op: OpExists, Points: 10},
}

// compiledCriteria is a criteria version ready to run.
type compiledCriteria struct {
	criteria store.Criteria
	program  *vm.Program
	// reads are the lead fields the expression reads, recorded with each
	// decision.
	reads []string
}

// compileExpression compiles a criteria expression against CriteriaEnv; it
// must yield a boolean.
func compileExpression(src string) (*vm.Program, []string, error) {
	// expr's own checker first, on the expression as written: its messages
	// are for people, and the budget's rewrite below assumes an expression
	// that checks.
	if _, err := expr.Compile(src, expr.Env(CriteriaEnv{}), expr.AsBool(), expr.MaxNodes(criteriaMaxNodes)); err != nil {
		return nil, nil, err
	}
	program, err := expr.Compile(src, append(criteriaBudgetOptions(), expr.Env(CriteriaEnv{}), expr.AsBool())...)
	if err != nil {
		if strings.Contains(err.Error(), "goroutine ") {
			// expr recovered a panic of its compiler: never show its stack.
			return nil, nil, errors.New("the expression cannot be run within the criteria budget: simplify it")
		}
		return nil, nil, err
	}
	var reads []string
	node := program.Node()
	ast.Find(node, func(n ast.Node) bool {
		if id, ok := n.(*ast.IdentifierNode); ok {
			if _, known := (CriteriaEnv{}).value(id.Value); known && !slices.Contains(reads, id.Value) {
				reads = append(reads, id.Value)
			}
		}
		return false
	})
	slices.Sort(reads)
	return program, reads, nil
}

func compileCriteria(c store.Criteria) (*compiledCriteria, error) {
	program, reads, err := compileExpression(c.Expression)
	if err != nil {
		return nil, err
	}
	return &compiledCriteria{criteria: c, program: program, reads: reads}, nil
}

// evaluate runs the criteria on a lead and returns the values it read.
func (c *compiledCriteria) evaluate(l store.Lead) (bool, map[string]any, error) {
	env := envOf(l)
	out, err := runCriteria(c.program, env)
	if err != nil {
		return false, nil, fmt.Errorf("run criteria %s v%d: %w", c.criteria.Name, c.criteria.Version, err)
	}
	vals := make(map[string]any, len(c.reads))
	for _, name := range c.reads {
		vals[name], _ = env.value(name)
	}
	ok, _ := out.(bool)
	return ok, vals, nil
}

// sampleLeads are the leads a new expression is tried on before it is
// saved: a lead that gave nothing, a typical one, and one with every text
// field long and many interests, so that an expression that fails or blows
// its budget on real leads is refused when saved rather than deactivated
// later.
func sampleLeads() map[string]store.Lead {
	long := strings.Repeat("x", 1000)
	many := make([]string, 100)
	for i := range many {
		many[i] = strings.Repeat("i", 100)
	}
	return map[string]store.Lead{
		"a lead that gave nothing": {Status: store.LeadNew, Grade: gradeNone},
		"a typical lead": {
			Score: 20, Grade: "B", Status: store.LeadNurturing, PrimaryInterest: "Widgets", Country: "US", State: "CA",
			Title: "Head of Operations", Company: "Acme Corp", LeadSource: "Web", Budget: "50k", Authority: "yes",
			Need: "Replace the old line", Timeline: "Q3", Interests: []string{"Widgets", "Gadgets"}, Consent: true,
		},
		"a lead with long fields": {
			Score: 1_000_000, Grade: "A", Status: store.LeadRecycled, PrimaryInterest: long, Country: long, State: long,
			Title: long, Company: long, LeadSource: long, Budget: long, Authority: long, Need: long, Timeline: long,
			Interests: many,
		},
	}
}

// tryExpression compiles an expression and runs it on the sample leads,
// each within the evaluation budget.
func tryExpression(src string) error {
	program, reads, err := compileExpression(src)
	if err != nil {
		return err
	}
	c := &compiledCriteria{program: program, reads: reads}
	names := slices.Sorted(maps.Keys(sampleLeads()))
	for _, name := range names {
		if _, _, err := c.evaluate(sampleLeads()[name]); err != nil {
			return fmt.Errorf("fails on %s: %s", name, firstLine(errors.Unwrap(err)))
		}
	}
	return nil
}

// firstLine is an error's message without expr's picture of the source.
func firstLine(err error) string {
	if err == nil {
		return ""
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}

// maxFailureReason bounds the reason recorded when a version is taken out
// of service.
const maxFailureReason = 500

// criteriaFailure is an active criteria version failing on a lead at run
// time.
type criteriaFailure struct {
	criteria store.Criteria
	leadID   uuid.UUID
	err      error
}

func (f *criteriaFailure) Error() string { return f.err.Error() }
func (f *criteriaFailure) Unwrap() error { return f.err }

// deactivateFailed takes a criteria version that failed at run time out of
// service, in a transaction of its own so that it sticks whatever becomes
// of the caller's: retrying it on every lead, at every run and every
// restart, would only fail again (or, for a runaway expression, cost a
// budget each time). Leads keep being scored; none qualifies by criteria
// until someone activates a version.
func (e *Engine) deactivateFailed(ctx context.Context, c store.Criteria, reason string, now time.Time) error {
	if len(reason) > maxFailureReason {
		reason = reason[:maxFailureReason]
	}
	done, err := e.cfg.Store.DeactivateFailedCriteria(ctx, c.WorkspaceID, c.ID, WorkerActor, reason, now)
	if err != nil {
		return fmt.Errorf("deactivate criteria %s: %w", c.ID, err)
	}
	if done {
		e.log.Error("criteria_deactivated", "criteria_id", c.ID, "workspace_id", c.WorkspaceID,
			"criteria_version", c.Version, "reason", reason)
	}
	return nil
}

// CriteriaInput is a criteria version as marketing and sales agreed it.
type CriteriaInput struct {
	Name              string
	Expression        string
	Description       string
	AgreedByMarketing string
	AgreedBySales     string
}

// validate trims the input and names every fault; the expression's fault
// is the compiler's message.
func (in *CriteriaInput) validate() error {
	bad := map[string]string{}
	in.Name = strings.TrimSpace(in.Name)
	in.Expression = strings.TrimSpace(in.Expression)
	in.Description = strings.TrimSpace(in.Description)
	in.AgreedByMarketing = strings.TrimSpace(in.AgreedByMarketing)
	in.AgreedBySales = strings.TrimSpace(in.AgreedBySales)
	text := func(field, v string, limit int, required bool) {
		switch {
		case v == "" && required:
			bad[field] = "is required"
		case len(v) > limit:
			bad[field] = fmt.Sprintf("at most %d characters", limit)
		}
	}
	text("name", in.Name, maxCriteriaName, true)
	text("expression", in.Expression, maxCriteriaExpression, true)
	text("description", in.Description, maxCriteriaText, false)
	text("agreed_by.marketing", in.AgreedByMarketing, maxAgreedBy, true)
	text("agreed_by.sales", in.AgreedBySales, maxAgreedBy, true)
	if _, ok := bad["expression"]; !ok {
		if err := tryExpression(in.Expression); err != nil {
			bad["expression"] = err.Error()
		}
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	return nil
}

// CreateCriteria saves a new criteria version: the next version of its
// name, inactive until activated.
func (e *Engine) CreateCriteria(ctx context.Context, workspaceID uuid.UUID, in CriteriaInput) (store.Criteria, error) {
	if err := in.validate(); err != nil {
		return store.Criteria{}, err
	}
	var out store.Criteria
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		var err error
		out, err = createCriteria(ctx, q, workspaceID, in, e.now)
		return err
	})
	return out, err
}

func createCriteria(ctx context.Context, q *store.Queries, workspaceID uuid.UUID, in CriteriaInput, now func() time.Time) (store.Criteria, error) {
	c := store.Criteria{
		WorkspaceID: workspaceID, Name: in.Name, Expression: in.Expression, Description: in.Description,
		AgreedByMarketing: in.AgreedByMarketing, AgreedBySales: in.AgreedBySales,
	}
	// Inside a transaction the lock makes concurrent saves of one name take
	// turns; outside one, the losers of a race take the next number.
	err := q.LockCriteriaName(ctx, workspaceID, in.Name)
	if err != nil {
		return store.Criteria{}, err
	}
	for range 3 {
		c.CreatedAt = now()
		var out store.Criteria
		if out, err = q.InsertCriteriaVersion(ctx, c); !errors.Is(err, store.ErrConflict) {
			return out, err
		}
	}
	return store.Criteria{}, err
}

// ActivateCriteria makes a criteria version the one the workspace's leads
// are qualified by, and deactivates the others. It applies to each lead at
// its next rescoring; a recompute job applies it to every lead at once.
func (e *Engine) ActivateCriteria(ctx context.Context, workspaceID, id uuid.UUID) (store.Criteria, error) {
	var out store.Criteria
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		var err error
		out, err = q.ActivateCriteria(ctx, workspaceID, id, e.now())
		return err
	})
	return out, err
}

// SeedCriteria gives a workspace that has no criteria the demo's, active:
// a lead qualifies only when it has a primary purchase interest, a score of
// 14 and a grade of A or B (see DemoCriteriaExpression). A workspace
// without fit rules also gets demoFitRules, without which every lead would
// be graded F. Run it inside a transaction to make it all or nothing.
func SeedCriteria(ctx context.Context, q *store.Queries, ws uuid.UUID) error {
	has, err := q.HasCriteria(ctx, ws)
	if err != nil || has {
		return err
	}
	rules, err := q.ScoringRulesOf(ctx, ws)
	if err != nil {
		return err
	}
	var fit []FitRule
	if err := json.Unmarshal(rules.FitRules, &fit); err != nil {
		return fmt.Errorf("stored fit rules: %w", err)
	}
	if len(fit) == 0 {
		rules.FitRules, _ = json.Marshal(demoFitRules)
		if _, err := q.PutScoringRules(ctx, rules); err != nil {
			return err
		}
	}
	in := CriteriaInput{
		Name:              DemoCriteriaName,
		Expression:        DemoCriteriaExpression,
		Description:       "The demo's rule: a primary purchase interest, a form and a click, and a good fit.",
		AgreedByMarketing: "Demo marketing",
		AgreedBySales:     "Demo sales",
	}
	if err := in.validate(); err != nil {
		return err
	}
	c, err := createCriteria(ctx, q, ws, in, time.Now)
	if err != nil {
		return err
	}
	_, err = q.ActivateCriteria(ctx, ws, c.ID, c.CreatedAt)
	return err
}
