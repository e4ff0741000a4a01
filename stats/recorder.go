package stats

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/herald-im/herald/events"
	"github.com/herald-im/herald/persistence"
)

// Defaults of Options.
const (
	DefaultFlushInterval = time.Second
	DefaultMaxPending    = 100000
)

// bucketSeconds is the width of a counting bucket: a quarter hour, the
// finest step of any time zone offset in use.
const bucketSeconds = 15 * 60

// ErrClosed is returned by the Recorder's methods after Close.
var ErrClosed = errors.New("stats: recorder is closed")

// Options configure a Recorder. Zero fields take their defaults.
type Options struct {
	// Store keeps the counters; required. The Recorder does not close it.
	Store *persistence.Store
	// FlushInterval is how often counts move from memory to the store
	// (default 1 s). Longer means fewer writes and more loss in a crash.
	FlushInterval time.Duration
	// MaxPending bounds the counters held in memory between flushes
	// (default 100000); events for new counters beyond it are dropped and
	// counted.
	MaxPending int
	// Now dates events that carry no time; nil means time.Now.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
}

// counter names one stored counter.
type counter struct {
	appKey, platform string
	bucket           int64
}

// tally is a counter's pending increments.
type tally struct{ success, fail int64 }

// Recorder counts push outcomes; see the package comment.
type Recorder struct {
	opts  Options
	store *persistence.Store
	log   *slog.Logger

	// flushMu is held by a flush from taking the pending counts to writing
	// the last of them, and by a query while it reads, so that a query
	// never misses counts that are neither pending nor stored yet.
	flushMu sync.Mutex

	// mu guards the fields below; it is held only briefly, never across
	// I/O, so Emit never waits on the store.
	mu      sync.Mutex
	pending map[counter]tally
	dropped uint64
	closed  bool

	stop chan struct{} // closed by Close to end flushLoop
	done chan struct{} // closed when flushLoop returns
}

var _ events.Sink = (*Recorder)(nil)

// New starts a Recorder that flushes every FlushInterval.
func New(opts Options) (*Recorder, error) {
	if opts.Store == nil {
		return nil, errors.New("new stats recorder: store is nil")
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{
		opts:    opts,
		store:   opts.Store,
		log:     opts.Logger,
		pending: map[counter]tally{},
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go r.flushLoop()
	return r, nil
}

// Emit counts ev when it is Counted; it never blocks.
func (r *Recorder) Emit(ev *events.Event) {
	if ev == nil || !ev.Counted {
		return
	}
	var inc tally
	switch ev.Status {
	case events.StatusSuccess:
		inc.success = 1
	case events.StatusFail, events.StatusError:
		inc.fail = 1
	}
	platform := events.Platform(ev.Provider)
	at := ev.Time
	if at.IsZero() {
		at = r.opts.Now()
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.AppKey == "" || platform == "" || inc == (tally{}) || at.Unix() < 0 || r.closed {
		r.dropped++
		return
	}
	c := counter{appKey: ev.AppKey, platform: platform, bucket: at.Unix() / bucketSeconds}
	t, ok := r.pending[c]
	if !ok && len(r.pending) >= r.opts.MaxPending {
		r.dropped++
		return
	}
	r.pending[c] = tally{t.success + inc.success, t.fail + inc.fail}
}

// Dropped is how many events Emit could not count (malformed, memory
// bound reached, or after Close).
func (r *Recorder) Dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// flushLoop flushes every FlushInterval until Close.
func (r *Recorder) flushLoop() {
	defer close(r.done)
	tick := time.NewTicker(r.opts.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
		}
		if err := r.Flush(); err != nil {
			r.log.Warn("flush push statistics", "err", err)
		}
	}
}

// Flush adds the pending counts to the store. Counts that could not be
// written stay pending for the next flush.
func (r *Recorder) Flush() error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()

	r.mu.Lock()
	batch := r.pending
	r.pending = map[counter]tally{}
	r.mu.Unlock()

	for c, t := range batch {
		if err := r.add(c, t); err != nil {
			r.restore(batch)
			return err
		}
		delete(batch, c)
	}
	return nil
}

// restore puts counts that were not written back among the pending ones.
func (r *Recorder) restore(batch map[counter]tally) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c, t := range batch {
		p := r.pending[c]
		r.pending[c] = tally{p.success + t.success, p.fail + t.fail}
	}
}

// add adds t to one stored counter. Only flushes write counters and they
// hold flushMu, so the read and the write cannot interleave with another.
func (r *Recorder) add(c counter, t tally) error {
	key := counterKey(c.appKey, c.platform, c.bucket)
	old, err := r.store.GetSoft(key)
	if err != nil {
		return fmt.Errorf("read counter: %w", err)
	}
	stored, err := decodeTally(old)
	if err != nil {
		// A damaged counter is lost, not the whole flush: statistics are
		// best effort.
		r.log.Warn("damaged push statistics counter replaced", "key", key, "err", err)
		stored = tally{}
	}
	sum := tally{stored.success + t.success, stored.fail + t.fail}
	if err := r.store.PutSoft(key, encodeTally(sum)); err != nil {
		return fmt.Errorf("write counter: %w", err)
	}
	return nil
}

// Query answers a statistics query for appKey: begin and end are days in
// loc (see ParseQuery for the rules and errors). It merges the stored
// counts with those still pending.
func (r *Recorder) Query(appKey, begin, end, platform string, loc *time.Location) (
	Report, error) {

	if appKey == "" {
		return nil, errors.New("query statistics: app key is empty")
	}
	rg, err := ParseQuery(begin, end, platform, loc)
	if err != nil {
		return nil, err
	}
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}

	rep := emptyReport(rg)
	lo := rg.First.Unix() / bucketSeconds
	hi := (nextDay(rg.Last).Unix() + bucketSeconds - 1) / bucketSeconds
	for _, p := range rg.Platforms {
		err := r.store.ScanSoft(counterKey(appKey, p, lo), counterKey(appKey, p, hi),
			func(key string, value []byte) error {
				b, err := bucketOf(key)
				if err != nil {
					return err
				}
				t, err := decodeTally(value)
				if err != nil {
					return fmt.Errorf("counter %q: %w", key, err)
				}
				rep.add(b, p, t, loc)
				return nil
			})
		if err != nil {
			return nil, fmt.Errorf("query statistics of %q: %w", appKey, err)
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	for c, t := range r.pending {
		if c.appKey == appKey && c.bucket >= lo && c.bucket < hi &&
			slices.Contains(rg.Platforms, c.platform) {
			rep.add(c.bucket, c.platform, t, loc)
		}
	}
	return rep, nil
}

// add counts t into the day (in loc) where bucket b starts; buckets
// outside the report's days are ignored.
func (rep Report) add(b int64, platform string, t tally, loc *time.Location) {
	day := time.Unix(b*bucketSeconds, 0).In(loc).Format(DayLayout)
	byPlatform, ok := rep[day]
	if !ok {
		return
	}
	c := byPlatform[platform]
	c.SuccessCount += t.success
	c.FailCount += t.fail
	byPlatform[platform] = c
}

// Close stops the flush loop, writes what is pending and refuses further
// events and queries. It does not close the store.
func (r *Recorder) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	r.closed = true
	r.mu.Unlock()

	close(r.stop)
	<-r.done
	if err := r.Flush(); err != nil {
		return fmt.Errorf("close stats recorder: %w", err)
	}
	return nil
}

// counterKey is the soft key of one counter; see the package comment.
func counterKey(appKey, platform string, bucket int64) string {
	return fmt.Sprintf("%s%s/%010d", persistence.StatsSoftKey(appKey), platform, bucket)
}

// bucketOf reads the bucket back from a counter key.
func bucketOf(key string) (int64, error) {
	const digits = 10
	if len(key) < digits {
		return 0, fmt.Errorf("counter key %q is too short", key)
	}
	b, err := strconv.ParseInt(key[len(key)-digits:], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("counter key %q: %w", key, err)
	}
	return b, nil
}

func encodeTally(t tally) []byte {
	buf := make([]byte, 0, 2*binary.MaxVarintLen64)
	buf = binary.AppendUvarint(buf, uint64(t.success))
	return binary.AppendUvarint(buf, uint64(t.fail))
}

// decodeTally reads a stored counter; nil is a counter never written.
func decodeTally(v []byte) (tally, error) {
	if v == nil {
		return tally{}, nil
	}
	s, n := binary.Uvarint(v)
	if n <= 0 {
		return tally{}, errors.New("bad success count")
	}
	f, m := binary.Uvarint(v[n:])
	if m <= 0 || n+m != len(v) {
		return tally{}, errors.New("bad fail count")
	}
	return tally{int64(s), int64(f)}, nil
}
