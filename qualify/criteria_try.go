package qualify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"leadflow/store"
)

// CriteriaTrial is what a criteria expression decides about one lead, and
// the values of the lead it read to decide.
type CriteriaTrial struct {
	Lead       store.Lead
	Qualifies  bool
	Reads      []string
	Values     map[string]any
	Expression string
}

// TryCriteria runs an expression (a saved version's or a draft) on one of
// the workspace's leads, compiled and run exactly as qualification runs
// criteria, within the same budget, and changes nothing. A bad expression
// or an unknown lead is a ValidationError on "expression" or "lead".
func (e *Engine) TryCriteria(ctx context.Context, workspaceID uuid.UUID, expression, lead string) (CriteriaTrial, error) {
	bad := map[string]string{}
	expression = strings.TrimSpace(expression)
	var c *compiledCriteria
	switch {
	case expression == "":
		bad["expression"] = "must not be empty"
	case len(expression) > maxCriteriaExpression:
		bad["expression"] = fmt.Sprintf("must be at most %d characters", maxCriteriaExpression)
	default:
		program, reads, err := compileExpression(expression)
		if err != nil {
			bad["expression"] = firstLine(err)
		} else {
			c = &compiledCriteria{program: program, reads: reads}
		}
	}
	var l store.Lead
	id, err := uuid.Parse(strings.TrimSpace(lead))
	if err != nil {
		bad["lead"] = "must be a lead's ID"
	} else {
		l, err = e.cfg.Store.GetLead(ctx, workspaceID, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			bad["lead"] = "no lead of this workspace has this ID"
		case err != nil:
			return CriteriaTrial{}, fmt.Errorf("try criteria: %w", err)
		}
	}
	if len(bad) > 0 {
		return CriteriaTrial{}, &ValidationError{Fields: bad}
	}
	ok, vals, err := c.evaluate(l)
	if err != nil {
		return CriteriaTrial{}, invalid("expression", "fails on this lead: "+firstLine(errors.Unwrap(err)))
	}
	return CriteriaTrial{Lead: l, Qualifies: ok, Reads: c.reads, Values: vals, Expression: expression}, nil
}
