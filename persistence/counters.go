package persistence

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// StatsSoftKey is the soft-state prefix of an app's push statistics; the
// stats package appends platform and time bucket. StatsSoftKey("") is the
// prefix of every app's statistics.
func StatsSoftKey(appKey string) string {
	return "stats/" + appKey + "/"
}

// ScanSoft calls fn, in key order, for every soft key k with from <= k <
// to, and its value (a copy). An empty to means no upper bound. An error
// from fn stops the scan and is returned unchanged. fn may call the
// Store's other methods but not Close.
func (s *Store) ScanSoft(from, to string, fn func(key string, value []byte) error) error {
	if fn == nil {
		return errors.New("scan soft: fn is nil")
	}
	if err := validateKey(from); err != nil {
		return fmt.Errorf("scan soft: from: %w", err)
	}
	if !s.closer.enter() {
		return ErrClosed
	}
	defer s.closer.leave()

	opts := &pebble.IterOptions{
		LowerBound: softPebbleKey(from),
		UpperBound: prefixEnd([]byte(softSpace)),
	}
	if to != "" {
		opts.UpperBound = softPebbleKey(to)
	}
	iter, err := s.db.NewIter(opts)
	if err != nil {
		return fmt.Errorf("scan soft %q: %w", from, err)
	}
	defer iter.Close()

	for ok := iter.First(); ok; ok = iter.Next() {
		raw, err := iter.ValueAndErr()
		if err != nil {
			return fmt.Errorf("scan soft %q: %w", from, err)
		}
		value := append([]byte(nil), raw...)
		if err := fn(string(iter.Key()[len(softSpace):]), value); err != nil {
			return err
		}
	}
	if err := iter.Error(); err != nil {
		return fmt.Errorf("scan soft %q: %w", from, err)
	}
	return nil
}
