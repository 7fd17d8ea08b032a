// Package qualify turns interest into sales: it scores leads from their
// engagement (with decay) and grades their fit, applies the qualification
// criteria marketing and sales agreed on, hands qualified leads to a sales
// owner, converts accepted ones into an account, a contact and an
// opportunity, and reports the funnel.
//
// Invariants:
//   - Scores are derived: recomputed from engagement events and the rules, so
//     a rule change can be re-applied to every lead. A database trigger marks
//     a lead for rescoring on every engagement event, whoever recorded it, so
//     no event is missed; the worker drains those marks idempotently.
//   - Every qualification decision is recorded with the criteria version and
//     the values that met it.
//   - A lead has at most one open handoff (a unique index), and a handoff is
//     unique per qualification decision, whatever the retries and races.
//   - Conversion happens in one transaction and never makes a second contact
//     for a known person.
package qualify
