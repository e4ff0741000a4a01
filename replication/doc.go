// Package replication runs Herald's registers over the ring: every user,
// app and token register lives on the top three ring nodes by rendezvous
// hash, and a write is acknowledged once a majority of them fsynced it.
//
// Each node runs the acceptor actor "herald-register" (SpawnAcceptor),
// which answers the messages of messages/replication.proto from the
// node's Pebble store on a bounded pool of goroutines, so that concurrent
// Accepts share fsyncs. NewRegisters implements persistence.Registers on
// top: Activate prepares a fresh ballot on the replicas, adopts the newest
// (ballot, seq) of a quorum and writes it back under its own ballot, which
// repairs the replicas it reaches and fences every older activation; a
// Lease writes each mutation as the next seq of its ballot. While the ring
// changes (View.Previous set), every quorum is joint: a majority of the
// current replicas and a majority of the previous ones.
//
// The local replica is called directly; a remote one gets a request that
// carries the caller's deadline, and a node that membership reports dead
// is not asked at all, so a dead replica costs a caller nothing.
//
// Migrate copies registers to the nodes that a ring change made replicas,
// and AntiEntropy compares versions with the other replicas in the
// background and copies newer values onto the ones that lag. Soft state
// (PutSoft) is forwarded to the other replicas in batches, without
// waiting.
package replication
