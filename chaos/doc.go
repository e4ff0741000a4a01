// Package chaos proves that a Herald cluster keeps what it acknowledged
// while its nodes are killed and restarted, and holds the journal format
// that the load generator (cmd/heraldbench) writes and verifies.
//
// The tests start real processes: herald nodes, vendorsim and heraldbench,
// all on 127.0.0.1. heraldbench plays an IM core: it binds devices and
// changes settings with values that name their own write, records every
// acknowledged mutation and push in a journal, and never gets killed.
// Meanwhile a chaos loop kills nodes with SIGKILL and restarts them on the
// same data directory. At the end the cluster must show every
// acknowledged mutation, a majority of each key's replicas must hold it on
// disk, and vendorsim must have received every acknowledged push.
//
// TestChaosShort (about a minute, three nodes) runs in the normal suite.
// TestChaosLong (five nodes, ten minutes, plus SIGSTOP/SIGCONT) runs with
// HERALD_CHAOS_LONG=1; TestPushThroughput with HERALD_CHAOS_BENCH=1.
package chaos
