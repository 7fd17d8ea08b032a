// Package httpapi holds what every HTTP face of leadflow shares: the admin
// API that machines call and the console that people use. It decodes request
// bodies strictly, answers every error with one body, reads and writes
// pages of lists, and carries the principal a request was authenticated as.
//
// It lives beside the console's shell in embed because the principal comes
// from there (API keys today, sign-in sessions next); the domains import it
// for their handlers, and it imports store and Echo, never a domain.
//
// Invariants:
//   - Every error answer is {code, message, fields}; a 5xx never shows its
//     cause and is logged once.
//   - A body member the target does not know is refused, never ignored, and
//     a member of the wrong type is named with the JSON type it must be, in
//     the same words on every face.
//   - A list is {items, next_cursor}; the cursor is opaque.
package httpapi
