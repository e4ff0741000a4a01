// Package faults holds Herald's fault tests (issue 3, "Tests"): a node
// runs in-process against vendorsim while the emulator misbehaves (503s
// with Retry-After, GOAWAY every N requests, the APNs stream limit
// dropping to 1 after a rejection, a 2 s slow vendor, a token endpoint
// failing for a while), and each test checks that every push Herald
// acknowledged reached the emulator, none twice, and which outcomes the
// others got. The package has no code of its own: only tests.
package faults
