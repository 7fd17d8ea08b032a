// Package nurture is leadflow's email programme: templates, sequences and
// their steps, enrollment, scheduling, rendering, sending through SMTP,
// tracking of opens, clicks and unsubscribes, and suppression.
//
// Invariants:
//   - The schedule lives in PostgreSQL: an enrollment's next run time is a
//     column, and the scheduler puts due steps on the queue. Redis only
//     carries the work; after a flush or a crash of every worker the
//     scheduler puts the same steps there again, and nothing is skipped.
//   - Each email happens once: a message row, unique per enrollment and
//     step (its dedupe key), is committed before the SMTP transaction, and a
//     sent message is never sent again.
//   - Suppressed addresses (unsubscribed, bounced, complained) get no
//     marketing email from any sequence of their workspace.
//   - Every tracking link is signed; a token names a message and a link
//     index, never a URL, so a tampered token does nothing and there is no
//     open redirect.
package nurture
