// Package e2e holds Herald's end-to-end tests: they build the real
// binaries, start vendorsim and herald as separate processes on 127.0.0.1,
// and drive them over REST and through the Go client exactly as users do.
// Every process a test starts is stopped by the test's cleanup.
package e2e
