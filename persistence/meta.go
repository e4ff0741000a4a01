package persistence

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// metaSpace holds node-local metadata that is neither a register nor soft
// state, such as the ring's own state. It shares the "meta/" prefix with
// the layout stamp, which PutMeta refuses to overwrite.
const metaSpace = "meta/"

// PutMeta stores node metadata under key and returns once it is fsynced.
// Metadata is written rarely (a ring change), so each write syncs alone.
// The key "layout" is reserved for the layout stamp.
func (s *Store) PutMeta(key string, value []byte) error {
	if err := validateMetaKey(key); err != nil {
		return fmt.Errorf("put meta: %w", err)
	}
	if err := validateValue(value); err != nil {
		return fmt.Errorf("put meta %q: %w", key, err)
	}
	if !s.closer.enter() {
		return ErrClosed
	}
	defer s.closer.leave()

	if err := s.db.Set([]byte(metaSpace+key), value, pebble.Sync); err != nil {
		return fmt.Errorf("put meta %q: %w", key, err)
	}
	return nil
}

// GetMeta returns the metadata under key, or nil, nil if it is absent.
func (s *Store) GetMeta(key string) ([]byte, error) {
	if err := validateMetaKey(key); err != nil {
		return nil, fmt.Errorf("get meta: %w", err)
	}
	if !s.closer.enter() {
		return nil, ErrClosed
	}
	defer s.closer.leave()

	value, err := s.get([]byte(metaSpace + key))
	if err != nil {
		return nil, fmt.Errorf("get meta %q: %w", key, err)
	}
	return value, nil
}

func validateMetaKey(key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if metaSpace+key == metaLayoutKey {
		return fmt.Errorf("key %q is reserved", key)
	}
	return nil
}
