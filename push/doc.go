// Package push holds Herald's pure push logic: the decision pipeline of
// SPEC.md §2 (presence, silent and forced flags, do-not-disturb, modes,
// channel selection, filters, notifier checks) and the rendering of the
// vendor-neutral notification (§7.3, §8-§10).
//
// Nothing here has actors, storage, goroutines or a wall clock: callers pass
// the state they own and the current time. A user grain calls, per message
// and recipient: ParseExt once per message, Eligible, then (for an accepted
// message) CountBadge on the recipient's devices, then Decide. Decide reads
// its inputs and never mutates them.
package push
