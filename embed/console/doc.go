// Package console is the shell of leadflow's console, the pages people
// sign in to: sign-in (password, one-time link by email, password reset),
// sessions, CSRF, the layout and navigation, and the admin's People page.
// The pages of each domain are mounted on the group Routes returns, limited
// with Require, listed in the navigation with Nav, and rendered with Page
// and Render.
//
// Invariants:
//   - Sessions live in PostgreSQL, kept by the SHA-256 of their secret, and
//     are read with their person on every request: a role change holds at
//     once, a deactivation or a password change ends them, and any number of
//     serve processes share them.
//   - Every state-changing console request carries the session's CSRF token
//     (a hidden field or the X-CSRF-Token header); without it the answer is
//     403 and nothing changes. Posts a browser marks as cross-site are
//     refused before any session is read, sign-in forms included.
//   - A page a role may not use is neither in its navigation nor reachable:
//     it answers 403.
//   - A sign-in link or password reset request answers alike, and as soon,
//     whether or not the address belongs to anyone: who it belongs to is
//     looked up, and their emails sent, after the answer; Close finishes
//     the emails asked for.
//   - A refused password sign-in costs an argon2id check whether or not the
//     address has a password to check.
//   - After sign-in a person lands on the local path they asked for, never on
//     another site; one-time links are spent by a POST, so a mail scanner
//     that follows them spends nothing.
//   - Pages carry a Content-Security-Policy without inline script or style;
//     assets are served from the binary under content-hashed names.
package console
