//go:build !invariants

package persistence

// invariantsEnabled is false in normal builds; see invariants_on.go.
const invariantsEnabled = false
