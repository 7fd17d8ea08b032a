// Package capture is leadflow's intake: it accepts form submissions, keeps
// each one as a response, and resolves responses to leads.
//
// It owns forms, events, responses, normalisation (email, phone, names, UTM),
// spam defences, the response:process worker, duplicate detection and the
// merging of responses into leads and contacts.
//
// Invariants:
//   - A 2xx from the capture endpoint means the response is committed to
//     PostgreSQL. Enqueueing its processing happens after the commit and may
//     fail (Redis down); the sweeper re-enqueues every committed response that
//     was never processed, so nothing accepted is lost.
//   - Processing is idempotent: the task ID is the response ID, and a response
//     already processed is left alone, so retries and re-enqueues change
//     nothing the second time.
//   - One lead per person: resolution takes a transaction-scoped advisory lock
//     on the person's canonical email (and phone), and a unique index backs it.
//   - An unconfirmed person is never a lead: a double opt-in form's response
//     waits (awaiting_confirmation, which the sweeper leaves alone) until its
//     person confirms by the emailed link; only then is it processed.
package capture
