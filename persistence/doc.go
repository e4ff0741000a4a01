// Package persistence is Herald's durable storage: one Pebble database per
// node, holding the acceptor side of the replicated registers and the
// node's soft state.
//
// # Registers
//
// Every user, app and token is one register: a single opaque value (a
// protobuf in practice) that a grain reads on activation and replaces on
// each mutation. A register is written in the manner of CASPaxos: the grain
// that owns the key activates it with a fresh ballot (Prepare, then Accept of
// the adopted value), and every later write is an Accept under that ballot.
// A newer activation raises the promise, so the older one's next Accept is
// rejected and its Write returns ErrFenced. Grains see only the Registers and
// Lease interfaces; a lone node is a ring of one (NewLocalRegisters), and
// replication can replace that implementation without touching a grain.
//
// Callers must build keys with UserKey, AppKey, TokenKey and UserSoftKey;
// nobody writes the layout by hand.
//
// # Key layout
//
// All Pebble keys are ASCII prefixes followed by the caller's key bytes.
//
//	"meta/layout"         → one byte, the layout version (currently 1).
//	                        Written by Open on a fresh directory; Open refuses
//	                        a directory with any other version.
//	"reg/" + register key → the acceptor record of one register, see below.
//	                        Written only by Prepare, Accept and Learn,
//	                        always with pebble.Sync.
//	"soft/" + soft key    → the raw soft value. Written by PutSoft without
//	                        waiting for fsync; a background loop syncs the
//	                        WAL every SoftSyncInterval, and Close syncs it.
//
// Register keys (the part after "reg/"):
//
//	"user/<appkey>/<user>"            UserKey:  the user grain's state
//	"app/<appkey>"                    AppKey:   the app grain's state
//	"token/<appkey>/<notifier>/<tok>" TokenKey: owner of a device token
//
// Soft keys (the part after "soft/"):
//
//	"user/<appkey>/<user>"            UserSoftKey: badge counters and recent
//	                                  message ids, written in batches
//
// An appkey ("org#app") never contains '/', so "user/<appkey>/" is a prefix
// that selects exactly one app's users for Scan.
//
// # Acceptor record
//
// The value under "reg/<key>" is
//
//	byte     record version (2)
//	ballot   promised: the highest ballot this acceptor promised
//	ballot   accepted: the ballot of the stored value (zero: none)
//	uvarint  seq: the stored value's place among its writer's writes
//	uvarint  value length, then the value bytes (absent when accepted is zero)
//
// where a ballot is uvarint Round, uvarint len(Node), Node bytes. The zero
// ballot {0, ""} sorts below every real ballot, so a missing record reads as
// "never promised, never accepted". Version-1 records have no seq field and
// read as seq 0; every write stores version 2.
//
// (accepted, seq) is the register's Version. A lease writes each mutation
// under its activation ballot with the next seq, and an acceptor takes an
// Accept only if it is newer than what it holds; an equal or older one is
// a resend and is acknowledged without change. Learn copies a newer value
// from another replica (migration, anti-entropy) and never overwrites a
// newer one.
//
// # Durability and concurrency
//
// Prepare and Accept commit with pebble.Sync and return only after the WAL
// is fsynced. Writers are never serialized behind a store-wide lock: only
// operations on the same register key wait for each other (their
// read-check-write must be atomic), so concurrent writes to different keys
// meet in Pebble's commit pipeline and share fsyncs (group commit).
package persistence
