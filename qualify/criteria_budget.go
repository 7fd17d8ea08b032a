package qualify

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"github.com/expr-lang/expr/vm/runtime"
)

// What one run of a criteria expression on one lead may spend. expr itself
// bounds the size of the expression (MaxNodes) and counts the elements of
// the ranges, arrays and maps it builds (the VM's MemoryBudget), but not
// the bytes of the strings it builds nor the turns of its loops: a
// repeat() of a long string, or a reduce() that doubles a string, runs the
// process out of memory before expr notices. criteriaBudgetPatch makes the
// expression account for those too.
const (
	criteriaMaxNodes     = 1000
	criteriaMemoryBudget = 100_000
	// criteriaMaxBytes bounds the strings and arrays one run builds.
	criteriaMaxBytes = 1 << 20
	// criteriaMaxSteps bounds the turns of predicates (all, any, filter,
	// map, reduce...), nested ones included.
	criteriaMaxSteps = 100_000
	// criteriaTimeBudget is a backstop behind the deterministic bounds
	// above; generous, so that a pause of the machine never fails a sane
	// rule.
	criteriaTimeBudget = time.Second
)

// ErrCriteriaBudget is a criteria run that went past its budget.
var ErrCriteriaBudget = errors.New("criteria exceed their evaluation budget")

// The names the budget patch gives its helpers and the env member that
// carries the budget; "__" keeps them apart from the lead's fields.
const (
	budgetName   = "__budget"
	budgetAdd    = "__add"
	budgetStep   = "__step"
	budgetString = "__string"
	budgetValue  = "__value"
)

// evalBudget is what is left of one run's budget.
type evalBudget struct {
	bytes, steps int
	deadline     time.Time
}

func newEvalBudget() *evalBudget {
	return &evalBudget{deadline: time.Now().Add(criteriaTimeBudget)}
}

// spend counts n bytes built.
func (b *evalBudget) spend(n int) error {
	if n < 0 || n > criteriaMaxBytes-b.bytes {
		return fmt.Errorf("%w: more than %d bytes of strings and arrays", ErrCriteriaBudget, criteriaMaxBytes)
	}
	b.bytes += n
	return b.inTime()
}

// step counts one turn of a loop.
func (b *evalBudget) step() error {
	b.steps++
	if b.steps > criteriaMaxSteps {
		return fmt.Errorf("%w: more than %d loop steps", ErrCriteriaBudget, criteriaMaxSteps)
	}
	if b.steps%256 == 0 {
		return b.inTime()
	}
	return nil
}

func (b *evalBudget) inTime() error {
	if time.Now().After(b.deadline) {
		return fmt.Errorf("%w: ran longer than %s", ErrCriteriaBudget, criteriaTimeBudget)
	}
	return nil
}

// budgetOf is the budget a helper was handed by the patch.
func budgetOf(v any) (*evalBudget, error) {
	b, ok := v.(*evalBudget)
	if !ok || b == nil {
		return nil, errors.New("the evaluation budget is not available here")
	}
	return b, nil
}

// sizeOf estimates the bytes a value built: a string's length, or a
// word per element (and the strings) of an array or a map.
func sizeOf(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case []string:
		n := 16 * len(v)
		for _, s := range v {
			n += len(s)
		}
		return n
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return 16 * rv.Len()
	}
	return 0
}

// criteriaBudgetOptions are the compile options that put an expression
// under its budget.
func criteriaBudgetOptions() []expr.Option {
	typed := func(name string, fn func(b *evalBudget, args []any) (any, error), types ...any) expr.Option {
		return expr.Function(name, func(params ...any) (any, error) {
			if len(params) == 0 {
				return nil, errors.New(name + ": missing budget")
			}
			b, err := budgetOf(params[0])
			if err != nil {
				return nil, err
			}
			return fn(b, params[1:])
		}, types...)
	}
	return []expr.Option{
		expr.MaxNodes(criteriaMaxNodes),
		// The builtins whose result can be far larger than their input
		// are replaced by versions that check the size first.
		typed("repeat", budgetRepeat, new(func(*evalBudget, string, int) string)),
		typed("replace", budgetReplace, new(func(*evalBudget, string, string, string) string)),
		typed("join", budgetJoin, new(func(*evalBudget, []string, string) string), new(func(*evalBudget, []string) string),
			new(func(*evalBudget, []any, string) string), new(func(*evalBudget, []any) string)),
		typed(budgetAdd, func(b *evalBudget, args []any) (any, error) {
			x, xs := args[0].(string)
			y, ys := args[1].(string)
			if xs && ys {
				if err := b.spend(len(x) + len(y)); err != nil {
					return nil, err
				}
				return x + y, nil
			}
			return runtime.Add(args[0], args[1]), nil
		}, new(func(*evalBudget, string, string) string), new(func(*evalBudget, any, any) any)),
		typed(budgetStep, func(b *evalBudget, _ []any) (any, error) {
			return true, b.step()
		}, new(func(*evalBudget) bool)),
		typed(budgetString, func(b *evalBudget, args []any) (any, error) {
			return args[0], b.spend(sizeOf(args[0]))
		}, new(func(*evalBudget, string) string)),
		typed(budgetValue, func(b *evalBudget, args []any) (any, error) {
			return args[0], b.spend(sizeOf(args[0]))
		}, new(func(*evalBudget, any) any)),
		expr.Patch(criteriaBudgetPatch{}),
	}
}

func budgetRepeat(b *evalBudget, args []any) (any, error) {
	s, n := args[0].(string), runtime.ToInt(args[1])
	if n < 0 {
		return nil, fmt.Errorf("invalid argument for repeat (expected positive integer, got %d)", n)
	}
	if len(s) > 0 && n > criteriaMaxBytes/len(s) {
		return nil, fmt.Errorf("%w: repeat would build more than %d bytes", ErrCriteriaBudget, criteriaMaxBytes)
	}
	if err := b.spend(len(s) * n); err != nil {
		return nil, err
	}
	return strings.Repeat(s, n), nil
}

func budgetReplace(b *evalBudget, args []any) (any, error) {
	s, old, repl := args[0].(string), args[1].(string), args[2].(string)
	n := strings.Count(s, old)
	if grow := len(repl) - len(old); grow > 0 && n > (criteriaMaxBytes-len(s))/grow {
		return nil, fmt.Errorf("%w: replace would build more than %d bytes", ErrCriteriaBudget, criteriaMaxBytes)
	}
	if err := b.spend(len(s) + n*(len(repl)-len(old))); err != nil {
		return nil, err
	}
	return strings.ReplaceAll(s, old, repl), nil
}

func budgetJoin(b *evalBudget, args []any) (any, error) {
	sep := ""
	if len(args) == 2 {
		sep = args[1].(string)
	}
	var parts []string
	switch v := args[0].(type) {
	case []string:
		parts = v
	case []any:
		parts = make([]string, len(v))
		for i, p := range v {
			s, ok := p.(string)
			if !ok {
				return nil, fmt.Errorf("join: element %d is a %T, not a string", i, p)
			}
			parts[i] = s
		}
	}
	size := len(sep) * max(len(parts)-1, 0)
	for _, p := range parts {
		size += len(p)
	}
	if err := b.spend(size); err != nil {
		return nil, err
	}
	return strings.Join(parts, sep), nil
}

// criteriaBudgetPatch rewrites an expression so that it spends its budget:
// string concatenation goes through __add, every turn of a predicate calls
// __step, the results of builtins that build strings or arrays go through
// __string or __value, and the replaced builtins receive the budget. It
// runs after a first type check, so node types are known where the
// expression makes them known.
type criteriaBudgetPatch struct{}

func (criteriaBudgetPatch) Visit(node *ast.Node) {
	budget := func() ast.Node { return &ast.IdentifierNode{Value: budgetName} }
	call := func(name string, args ...ast.Node) ast.Node {
		return &ast.CallNode{Callee: &ast.IdentifierNode{Value: name}, Arguments: append([]ast.Node{budget()}, args...)}
	}
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		if n.Operator != "+" {
			return
		}
		l, r := kindOf(n.Left), kindOf(n.Right)
		builds := (l == reflect.String || l == reflect.Interface) && (r == reflect.String || r == reflect.Interface)
		if builds {
			ast.Patch(node, call(budgetAdd, n.Left, n.Right))
		}
	case *ast.PredicateNode:
		n.Node = &ast.SequenceNode{Nodes: []ast.Node{call(budgetStep), n.Node}}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		switch id.Value {
		case "repeat", "replace", "join":
			n.Arguments = append([]ast.Node{budget()}, n.Arguments...)
		}
	case *ast.BuiltinNode:
		switch kindOf(n) {
		case reflect.String:
			ast.Patch(node, call(budgetString, n))
		case reflect.Interface, reflect.Slice, reflect.Array, reflect.Map:
			ast.Patch(node, call(budgetValue, n))
		}
	}
}

// kindOf is the kind of a node's type after the first check; Interface
// when it is not known.
func kindOf(n ast.Node) reflect.Kind {
	t := n.Type()
	if t == nil {
		return reflect.Interface
	}
	return t.Kind()
}

// runCriteria runs a compiled criteria program on env under a fresh
// budget.
func runCriteria(program *vm.Program, env CriteriaEnv) (any, error) {
	env.Spend = newEvalBudget()
	machine := vm.VM{MemoryBudget: criteriaMemoryBudget}
	return machine.Run(program, env)
}
