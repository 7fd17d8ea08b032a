// Package metrics defines leadflow's Prometheus metrics and builds the
// registry a process serves on its metrics address.
//
// The instruments (counters and histograms) are process-wide, as the
// runtime's own statistics are: the domains record on them with one call at
// the place where the thing counted happens, and NewRegistry gathers them
// together with the collectors read at scrape time (queue depth, database
// pools, the Go runtime and the process).
//
// Invariants:
//   - Labels are bounded: a form is named by its ID, every other label
//     takes a value from a fixed set. No lead, email address, token or
//     other caller-supplied text is ever a label value.
//   - A scrape never waits on Redis for longer than the queue collector's
//     timeout: a slow or absent Redis reports leadflow_queue_up 0 instead.
package metrics
