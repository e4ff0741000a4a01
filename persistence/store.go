package persistence

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrClosed is returned by every Store method called after Close began.
var ErrClosed = errors.New("persistence: store is closed")

// Options configures a Store. The zero value is usable.
type Options struct {
	// Logger receives lifecycle messages and Pebble's own log. Nil discards.
	Logger *slog.Logger

	// SoftSyncInterval is how often soft writes (PutSoft) are fsynced. A
	// longer interval costs fewer fsyncs but loses more soft state in a
	// crash. Default 1s.
	SoftSyncInterval time.Duration

	// FS is the file system; nil means the disk. Unit tests may pass
	// vfs.NewMem().
	FS vfs.FS
}

const defaultSoftSyncInterval = time.Second

// Store is one node's Pebble database. Its methods are safe for concurrent
// use; see the package comment for the key layout.
type Store struct {
	db     *pebble.DB
	log    *slog.Logger
	locks  keyLocks
	closer closeGate

	// softDirty is set by PutSoft and cleared by the sync loop when it
	// syncs the WAL, so an idle node does not fsync every interval.
	softDirty atomic.Bool

	stopSync chan struct{} // closed by Close to stop syncLoop
	syncDone chan struct{} // closed by syncLoop when it returns
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("open store: dir is empty")
	}
	if opts.SoftSyncInterval < 0 {
		return nil, fmt.Errorf("open store: SoftSyncInterval %v is negative",
			opts.SoftSyncInterval)
	}
	if opts.SoftSyncInterval == 0 {
		opts.SoftSyncInterval = defaultSoftSyncInterval
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	db, err := pebble.Open(dir, &pebble.Options{
		FS:     opts.FS,
		Logger: pebbleLogger{logger},
	})
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", dir, err)
	}
	if err := checkLayout(db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %q: %w", dir, err)
	}

	s := &Store{
		db:       db,
		log:      logger,
		stopSync: make(chan struct{}),
		syncDone: make(chan struct{}),
	}
	s.closer.init()
	go s.syncLoop(opts.SoftSyncInterval)
	logger.Info("store opened", "dir", dir, "soft_sync_interval", opts.SoftSyncInterval)
	return s, nil
}

// checkLayout stamps a fresh database with the layout version and refuses
// a database written with another one.
func checkLayout(db *pebble.DB) error {
	got, closer, err := db.Get([]byte(metaLayoutKey))
	if errors.Is(err, pebble.ErrNotFound) {
		err := db.Set([]byte(metaLayoutKey), []byte{layoutVersion}, pebble.Sync)
		if err != nil {
			return fmt.Errorf("write layout version: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read layout version: %w", err)
	}
	defer closer.Close()
	if len(got) != 1 || got[0] != layoutVersion {
		return fmt.Errorf("unsupported layout version %v, want %d", got, layoutVersion)
	}
	return nil
}

// Close syncs soft writes, waits for in-flight operations and closes
// Pebble. Calls after the first return ErrClosed.
func (s *Store) Close() error {
	if !s.closer.shut() {
		return ErrClosed
	}

	// The gate is shut and drained: no operation is running, and the sync
	// loop can be stopped before the final sync.
	close(s.stopSync)
	<-s.syncDone

	var errs []error
	if err := s.db.LogData(nil, pebble.Sync); err != nil {
		errs = append(errs, fmt.Errorf("sync soft writes: %w", err))
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close pebble: %w", err))
	}
	s.log.Info("store closed")
	return errors.Join(errs...)
}

// syncLoop fsyncs the WAL every interval when soft writes are pending.
// It is owned by the Store and stopped by Close.
func (s *Store) syncLoop(interval time.Duration) {
	defer close(s.syncDone)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stopSync:
			return
		case <-ticker.C:
		}
		if !s.softDirty.Swap(false) {
			continue
		}
		if err := s.syncSoft(); err != nil && !errors.Is(err, ErrClosed) {
			s.softDirty.Store(true)
			s.log.Error("sync soft writes", "err", err)
		}
	}
}

func (s *Store) syncSoft() error {
	if !s.closer.enter() {
		return ErrClosed
	}
	defer s.closer.leave()
	// An empty log record with Sync forces the WAL, and with it every
	// earlier unsynced write, to stable storage.
	return s.db.LogData(nil, pebble.Sync)
}

// PutSoft stores a soft-state value without waiting for fsync. It is
// durable after the next sync (within SoftSyncInterval) or Close.
func (s *Store) PutSoft(key string, value []byte) error {
	if err := validateKey(key); err != nil {
		return fmt.Errorf("put soft: %w", err)
	}
	if err := validateValue(value); err != nil {
		return fmt.Errorf("put soft %q: %w", key, err)
	}
	if !s.closer.enter() {
		return ErrClosed
	}
	defer s.closer.leave()

	if err := s.db.Set(softPebbleKey(key), value, pebble.NoSync); err != nil {
		return fmt.Errorf("put soft %q: %w", key, err)
	}
	s.softDirty.Store(true)
	return nil
}

// GetSoft returns a soft-state value, or nil, nil if it is absent.
func (s *Store) GetSoft(key string) ([]byte, error) {
	if err := validateKey(key); err != nil {
		return nil, fmt.Errorf("get soft: %w", err)
	}
	if !s.closer.enter() {
		return nil, ErrClosed
	}
	defer s.closer.leave()

	value, err := s.get(softPebbleKey(key))
	if err != nil {
		return nil, fmt.Errorf("get soft %q: %w", key, err)
	}
	return value, nil
}

// Metrics returns Pebble's own metrics (WAL fsync latency, compaction
// debt, cache hits), from which the node exports storage health. Nil
// after Close.
func (s *Store) Metrics() *pebble.Metrics {
	if !s.closer.enter() {
		return nil
	}
	defer s.closer.leave()
	return s.db.Metrics()
}

// get returns a copy of the value under a Pebble key, nil if absent.
func (s *Store) get(key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	out := make([]byte, len(v))
	copy(out, v)
	return out, nil
}

// Scan calls fn, in key order, for every register key that starts with
// prefix and holds an accepted value. The value passed to fn is a copy. An
// error from fn stops the scan and is returned unchanged. fn may call the
// Store's other methods but not Close, which would wait for the scan.
func (s *Store) Scan(prefix string, fn func(key string, value []byte) error) error {
	if fn == nil {
		return errors.New("scan: fn is nil")
	}
	if !s.closer.enter() {
		return ErrClosed
	}
	defer s.closer.leave()

	lower := registerPebbleKey(prefix)
	iter, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: lower,
		UpperBound: prefixEnd(lower),
	})
	if err != nil {
		return fmt.Errorf("scan %q: %w", prefix, err)
	}
	defer iter.Close()

	for ok := iter.First(); ok; ok = iter.Next() {
		raw, err := iter.ValueAndErr()
		if err != nil {
			return fmt.Errorf("scan %q: %w", prefix, err)
		}
		key := string(iter.Key()[len(registerSpace):])
		rec, err := decodeRecord(raw)
		if err != nil {
			return fmt.Errorf("scan %q: key %q: %w", prefix, key, err)
		}
		if !rec.hasValue() {
			continue
		}
		if err := fn(key, rec.value); err != nil {
			return err
		}
	}
	if err := iter.Error(); err != nil {
		return fmt.Errorf("scan %q: %w", prefix, err)
	}
	return nil
}

// prefixEnd returns the smallest key greater than every key with prefix p,
// or nil (no bound) if p is all 0xff bytes.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Bounds on what callers may store. Keys are built by the key builders and
// stay short; values are one protobuf each.
const (
	maxKeyLen   = 1024
	maxValueLen = 16 << 20
)

func validateKey(key string) error {
	if key == "" {
		return errors.New("key is empty")
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("key is %d bytes, max %d", len(key), maxKeyLen)
	}
	return nil
}

func validateValue(value []byte) error {
	if len(value) > maxValueLen {
		return fmt.Errorf("value is %d bytes, max %d", len(value), maxValueLen)
	}
	return nil
}

// closeGate lets operations run concurrently until Close, then refuses new
// ones and lets Close wait for those in flight. Its mutex is held only to
// count, never across I/O, so it does not serialize writers.
type closeGate struct {
	mu      sync.Mutex
	drained *sync.Cond
	active  int  // operations between enter and leave
	closing bool // set once by shut
}

func (g *closeGate) init() {
	g.drained = sync.NewCond(&g.mu)
}

func (g *closeGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.active++
	return true
}

func (g *closeGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.active--
	if g.active == 0 && g.closing {
		g.drained.Broadcast()
	}
}

// shut refuses new operations and waits for running ones. It reports false
// if the gate was already shut.
func (g *closeGate) shut() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.closing = true
	for g.active > 0 {
		g.drained.Wait()
	}
	return true
}

// pebbleLogger routes Pebble's log through slog. Pebble's informational
// messages are detail, so they go to debug.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Debug("pebble: " + fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error("pebble: " + fmt.Sprintf(format, args...))
}

// Fatalf is called by Pebble when it cannot continue (its commit pipeline
// is broken). Pebble expects it not to return.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := "pebble: " + fmt.Sprintf(format, args...)
	l.log.Error(msg)
	panic(msg)
}

// MaxKeyLen and MaxValueLen bound register keys and values, for layers
// that check input before it reaches a store.
const (
	MaxKeyLen   = maxKeyLen
	MaxValueLen = maxValueLen
)
