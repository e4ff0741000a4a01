// Package fanout turns one accepted message into a Deliver request per
// recipient and gathers their outcomes into one answer for the IM core.
//
// Every node runs one ingest actor, named IngestName, that validates
// incoming messages and spawns a short-lived fan-out actor per message.
// The fan-out asks each recipient's user grain to decide; grains answer at
// once, and each notification they sent reports its outcome to the fan-out
// directly from the delivery actor. The fan-out answers when every
// recipient has a final outcome, or at the request's deadline with the
// unfinished ones counted as pending; it then keeps collecting for a while
// so late outcomes are not dead letters.
package fanout
