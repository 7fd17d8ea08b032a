// Package store is leadflow's access to PostgreSQL, the system of record.
//
// It owns the connection pool, explicit transactions, the embedded numbered
// migrations and the queries each domain needs, grouped by table family. It
// holds no business rules and imports no domain package, no HTTP framework and
// no queue.
//
// Invariants:
//   - Every record belongs to a workspace, and every query that reads or
//     writes a workspace's records takes the workspace ID, so one workspace
//     can never see another's rows.
//   - Driver errors leave this package as a few sentinels (ErrNotFound,
//     ErrConflict, ErrInvalidReference) wrapped with context; a missing row is
//     never (nil, nil).
//   - A transaction is explicit (Store.InTx) and never travels in a context.
//   - Rows carry db tags only: what an API shows of a row is the serving
//     domain's own type, so a column change is never silently an API
//     change. A JSON document column is a json.RawMessage or a map here; its
//     format belongs to the domain that writes it.
package store
