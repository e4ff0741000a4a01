package persistence

import (
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// Promise is an acceptor's answer to Prepare.
type Promise struct {
	// OK is true when the acceptor promised the ballot.
	OK bool
	// Promised is the acceptor's promise after the call: the prepared
	// ballot if OK, otherwise the higher ballot that caused the refusal.
	Promised Ballot
	// Accepted is the ballot of the stored value; zero if never written.
	Accepted Ballot
	// Seq is the stored value's place among its writer's writes.
	Seq uint64
	// Value is the stored value, nil if never written. Set only if OK.
	Value []byte
}

// Prepare promises to ignore every ballot lower than b for key, if b is
// higher than any ballot promised so far, and returns the accepted value.
// The promise is fsynced before Prepare returns.
func (s *Store) Prepare(key string, b Ballot) (Promise, error) {
	if err := validateKey(key); err != nil {
		return Promise{}, fmt.Errorf("prepare: %w", err)
	}
	if err := validateBallot(b); err != nil {
		return Promise{}, fmt.Errorf("prepare %q: %w", key, err)
	}
	if !s.closer.enter() {
		return Promise{}, ErrClosed
	}
	defer s.closer.leave()
	unlock := s.locks.lock(key)
	defer unlock()

	old, err := s.readRecord(key)
	if err != nil {
		return Promise{}, fmt.Errorf("prepare %q: %w", key, err)
	}
	if !old.promised.Less(b) {
		return Promise{Promised: old.promised, Accepted: old.accepted, Seq: old.seq}, nil
	}

	next := old
	next.promised = b
	checkTransition(key, old, next)
	if err := s.writeRecord(key, next); err != nil {
		return Promise{}, fmt.Errorf("prepare %q: %w", key, err)
	}

	p := Promise{OK: true, Promised: b, Accepted: old.accepted, Seq: old.seq}
	if old.hasValue() {
		p.Value = nonNil(old.value)
	}
	return p, nil
}

// Accept stores value as write seq of ballot b for key unless a higher
// ballot was promised; it then also promises b. A write that is not newer
// than the stored one, (b, seq) <= (accepted, seq), is a resend: it is
// acknowledged and changes nothing. Accept returns after the write is
// fsynced. If refused, ok is false and promised is the ballot that won.
func (s *Store) Accept(key string, b Ballot, seq uint64, value []byte) (
	ok bool, promised Ballot, err error) {
	if err := validateWrite(key, b, seq, value); err != nil {
		return false, Ballot{}, fmt.Errorf("accept: %w", err)
	}
	if !s.closer.enter() {
		return false, Ballot{}, ErrClosed
	}
	defer s.closer.leave()
	unlock := s.locks.lock(key)
	defer unlock()

	old, err := s.readRecord(key)
	if err != nil {
		return false, Ballot{}, fmt.Errorf("accept %q: %w", key, err)
	}
	if b.Less(old.promised) {
		return false, old.promised, nil
	}
	if !old.version().Less(Version{Ballot: b, Seq: seq}) {
		return true, old.promised, nil
	}

	next := record{promised: b, accepted: b, seq: seq, value: nonNil(value)}
	checkTransition(key, old, next)
	if err := s.writeRecord(key, next); err != nil {
		return false, Ballot{}, fmt.Errorf("accept %q: %w", key, err)
	}
	return true, b, nil
}

// Learn copies a value that another replica holds onto this one, as
// migration and anti-entropy do. It is taken only if (b, seq) is newer
// than the stored version, whatever the promise; the promise is raised to
// b if lower. It returns after the write is fsynced.
func (s *Store) Learn(key string, b Ballot, seq uint64, value []byte) (taken bool, err error) {
	if err := validateWrite(key, b, seq, value); err != nil {
		return false, fmt.Errorf("learn: %w", err)
	}
	if !s.closer.enter() {
		return false, ErrClosed
	}
	defer s.closer.leave()
	unlock := s.locks.lock(key)
	defer unlock()

	old, err := s.readRecord(key)
	if err != nil {
		return false, fmt.Errorf("learn %q: %w", key, err)
	}
	if !old.version().Less(Version{Ballot: b, Seq: seq}) {
		return false, nil
	}

	next := record{
		promised: maxBallot(old.promised, b),
		accepted: b,
		seq:      seq,
		value:    nonNil(value),
	}
	checkTransition(key, old, next)
	if err := s.writeRecord(key, next); err != nil {
		return false, fmt.Errorf("learn %q: %w", key, err)
	}
	return true, nil
}

// validateWrite checks the arguments of Accept and Learn. Seq 0 is
// reserved for values written before versions had a seq.
func validateWrite(key string, b Ballot, seq uint64, value []byte) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if err := validateBallot(b); err != nil {
		return fmt.Errorf("%q: %w", key, err)
	}
	if seq == 0 {
		return fmt.Errorf("%q: seq is zero", key)
	}
	if err := validateValue(value); err != nil {
		return fmt.Errorf("%q: %w", key, err)
	}
	return nil
}

// readRecord returns the acceptor record of key; the zero record if absent.
func (s *Store) readRecord(key string) (record, error) {
	raw, err := s.get(registerPebbleKey(key))
	if err != nil {
		return record{}, err
	}
	if raw == nil {
		return record{}, nil
	}
	return decodeRecord(raw)
}

// writeRecord commits one record with pebble.Sync. Callers hold the key's
// lock but nothing store-wide, so concurrent writes to other keys join the
// same fsync in Pebble's commit pipeline.
func (s *Store) writeRecord(key string, r record) error {
	return s.db.Set(registerPebbleKey(key), r.encode(), pebble.Sync)
}

// checkTransition asserts, in invariants builds, that an acceptor's ballots
// never go down and that it never accepts above its promise.
func checkTransition(key string, old, next record) {
	if !invariantsEnabled {
		return
	}
	if next.promised.Less(old.promised) {
		panic(fmt.Sprintf("persistence: register %q: promised ballot went down from %v to %v",
			key, old.promised, next.promised))
	}
	if next.accepted.Less(old.accepted) {
		panic(fmt.Sprintf("persistence: register %q: accepted ballot went down from %v to %v",
			key, old.accepted, next.accepted))
	}
	if next.promised.Less(next.accepted) {
		panic(fmt.Sprintf("persistence: register %q: accepted ballot %v above promise %v",
			key, next.accepted, next.promised))
	}
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// keyLocks makes the read-check-write of one register key atomic. Only
// operations on the same key wait for each other; the map's mutex is held
// just to find or drop an entry, never across I/O.
type keyLocks struct {
	mu   sync.Mutex
	held map[string]*keyLock // entries live while refs > 0
}

type keyLock struct {
	mu   sync.Mutex
	refs int // guarded by keyLocks.mu
}

// lock acquires key's lock and returns the function that releases it.
func (l *keyLocks) lock(key string) (unlock func()) {
	l.mu.Lock()
	if l.held == nil {
		l.held = make(map[string]*keyLock)
	}
	kl := l.held[key]
	if kl == nil {
		kl = &keyLock{}
		l.held[key] = kl
	}
	kl.refs++
	l.mu.Unlock()

	kl.mu.Lock()
	return func() {
		kl.mu.Unlock()
		l.mu.Lock()
		kl.refs--
		if kl.refs == 0 {
			delete(l.held, key)
		}
		l.mu.Unlock()
	}
}
