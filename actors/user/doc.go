// Package user is the user grain: one virtual actor per user of an app
// (kind "user", identity "<appkey>/<user>"). It owns the user's register
// (bindings and settings), its soft state (device presence, badge counters,
// recently processed message ids) and runs the push decision for every
// message addressed to the user.
//
// The grain never waits on a vendor: it decides with push.Decide, hands each
// notification to the node's delivery actor and answers at once. Outcomes go
// from the delivery actor straight to the message's fan-out. A Preview runs
// the same decision on a copy of the state and changes nothing (the dry
// run of POST /push/preview).
//
// Bindings: an upsert first claims its (notifier, token) pair through the
// token grain and has every other user holding it drop it (SPEC.md §4);
// the grain keeps serving its mailbox meanwhile (see package token).
//
// Durability: binding and setting changes are answered only after the
// register write returned (synced). Soft state is written in batches without
// waiting for fsync; after a crash it may lag by about a second.
package user
