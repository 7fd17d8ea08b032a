package store

// QueriesOn runs the store's queries on any executor, so a test can see the
// SQL a method sends (and EXPLAIN it) without copying it.
func QueriesOn(db DBTX) *Queries { return &Queries{db: db} }
