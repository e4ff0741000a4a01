package persistence

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Reads of the acceptor state that change nothing: replication uses them
// to pick ballots, to copy registers to new replicas and to compare
// replicas in the background (anti-entropy).

// KeyVersion is the version one acceptor holds for one register key.
type KeyVersion struct {
	Key     string
	Version Version
}

// Get returns the stored version and value of key; the zero Version and a
// nil value if it was never written.
func (s *Store) Get(key string) (Version, []byte, error) {
	if err := validateKey(key); err != nil {
		return Version{}, nil, fmt.Errorf("get: %w", err)
	}
	if !s.closer.enter() {
		return Version{}, nil, ErrClosed
	}
	defer s.closer.leave()

	rec, err := s.readRecord(key)
	if err != nil {
		return Version{}, nil, fmt.Errorf("get %q: %w", key, err)
	}
	if !rec.hasValue() {
		return Version{}, nil, nil
	}
	return rec.version(), nonNil(rec.value), nil
}

// Seen returns the highest ballot this acceptor promised or accepted for
// key; a new activation picks a round above it.
func (s *Store) Seen(key string) (Ballot, error) {
	if err := validateKey(key); err != nil {
		return Ballot{}, fmt.Errorf("seen: %w", err)
	}
	if !s.closer.enter() {
		return Ballot{}, ErrClosed
	}
	defer s.closer.leave()

	rec, err := s.readRecord(key)
	if err != nil {
		return Ballot{}, fmt.Errorf("seen %q: %w", key, err)
	}
	return maxBallot(rec.promised, rec.accepted), nil
}

// Versions returns the stored version of each key, in order; the zero
// Version for a key never written.
func (s *Store) Versions(keys []string) ([]Version, error) {
	for i, key := range keys {
		if err := validateKey(key); err != nil {
			return nil, fmt.Errorf("versions: keys[%d]: %w", i, err)
		}
	}
	if !s.closer.enter() {
		return nil, ErrClosed
	}
	defer s.closer.leave()

	out := make([]Version, len(keys))
	for i, key := range keys {
		raw, err := s.get(registerPebbleKey(key))
		if err != nil {
			return nil, fmt.Errorf("versions %q: %w", key, err)
		}
		if raw == nil {
			continue
		}
		rec, err := decodeVersion(raw)
		if err != nil {
			return nil, fmt.Errorf("versions %q: %w", key, err)
		}
		out[i] = rec.version()
	}
	return out, nil
}

// VersionsAfter returns, in key order, up to limit register keys greater
// than after that hold a value, with their versions. Start with after ""
// and pass the last key returned to continue; fewer than limit results
// means the scan is complete. Each call is a short read, so a long pass
// over millions of keys never pins one iterator.
func (s *Store) VersionsAfter(after string, limit int) ([]KeyVersion, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("versions after %q: limit %d is not positive", after, limit)
	}
	if !s.closer.enter() {
		return nil, ErrClosed
	}
	defer s.closer.leave()

	lower := []byte(registerSpace)
	if after != "" {
		lower = append(registerPebbleKey(after), 0)
	}
	iter, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: lower,
		UpperBound: prefixEnd([]byte(registerSpace)),
	})
	if err != nil {
		return nil, fmt.Errorf("versions after %q: %w", after, err)
	}
	defer iter.Close()

	var out []KeyVersion
	for ok := iter.First(); ok && len(out) < limit; ok = iter.Next() {
		raw, err := iter.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("versions after %q: %w", after, err)
		}
		key := string(iter.Key()[len(registerSpace):])
		rec, err := decodeVersion(raw)
		if err != nil {
			return nil, fmt.Errorf("versions after %q: key %q: %w", after, key, err)
		}
		if rec.hasValue() {
			out = append(out, KeyVersion{Key: key, Version: rec.version()})
		}
	}
	if err := iter.Error(); err != nil {
		return nil, fmt.Errorf("versions after %q: %w", after, err)
	}
	return out, nil
}
