//go:build invariants

package persistence

// invariantsEnabled turns on costly self-checks that panic on a broken
// protocol invariant. Build or test with -tags invariants.
const invariantsEnabled = true
