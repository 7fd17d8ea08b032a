package main

import "context"

// scenario is one fault under load. inject runs at a point of the load
// (a third of the way by default); restore, when set, at two thirds.
type scenario struct {
	name    string
	fault   string
	inject  func(s *suite, ctx context.Context) error
	restore func(s *suite, ctx context.Context) error
	// injectAt is the share of the load after which inject runs (0: a third).
	injectAt float64
	// gap: a process is killed while it may be sending, so the documented
	// gap applies (it resends what it had sent but not recorded, once, with
	// the same Message-ID).
	gap bool
}

func (sc scenario) at() float64 {
	if sc.injectAt > 0 {
		return sc.injectAt
	}
	return 1.0 / 3
}

// allScenarios are run in this order. kill -9 of work comes early: on
// recovery its orphaned tasks may take longest, and the final tally still
// counts what they do later.
func allScenarios() []scenario {
	return []scenario{
		{name: "baseline", fault: "no fault"},
		{
			name: "kill-work", fault: "kill -9 work at 1/3 of the load, started again {restart} later", gap: true,
			inject: func(s *suite, ctx context.Context) error { return s.killAndRestart(ctx, s.work) },
		},
		{
			name: "kill-serve", fault: "kill -9 serve at 1/3 of the load, started again {restart} later",
			inject: func(s *suite, ctx context.Context) error { return s.killAndRestart(ctx, s.serve) },
		},
		{
			name: "stop-redis", fault: "Redis stopped at 1/3 of the load, started again (empty) at 2/3",
			inject: (*suite).stopRedis, restore: (*suite).startRedis,
		},
		{
			name: "flush-redis", fault: "Redis FLUSHALL at 1/2 of the load", injectAt: 0.5,
			inject: (*suite).flushRedis,
		},
		{
			name: "stop-smtp", fault: "SMTP sink stopped (connections dropped) at 1/3 of the load, started again at 2/3",
			inject: (*suite).stopSMTP, restore: (*suite).startSMTP,
		},
		{
			name: "stop-postgres", fault: "PostgreSQL stopped (fast shutdown) at 1/3 of the load, started again at 2/3",
			inject: (*suite).stopPostgres, restore: (*suite).startPostgres,
		},
	}
}

func scenarioNames() []string {
	names := make([]string, len(allScenarios()))
	for i, sc := range allScenarios() {
		names[i] = sc.name
	}
	return names
}

func scenarioByName(name string) scenario {
	for _, sc := range allScenarios() {
		if sc.name == name {
			return sc
		}
	}
	panic("fault: unknown scenario " + name) // names are checked when the flags are read
}
