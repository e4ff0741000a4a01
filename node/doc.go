// Package node assembles one Herald node from its parts and runs it:
// storage, the actor system and its cluster membership, the grains, the
// delivery actors, the ingest actor and the REST API. cmd/herald only turns
// configuration into Options and waits for a signal.
//
// Start order: data directory and identity → Pebble → actor system, remote
// and memberlist → kinds → ingest → REST. Stop runs it backwards so that
// nothing acknowledged is lost: REST stops taking requests first and
// storage closes last, after in-flight deliveries had their deadline.
package node
