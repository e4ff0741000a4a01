package ring

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/herald-im/herald/cluster"
	"github.com/herald-im/herald/persistence"
)

// fakeClock is a Clock whose time moves only by Advance.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []clockWaiter
}

type clockWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 7, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, clockWaiter{c.now.Add(d), ch})
	return ch
}

// Advance moves time forward and fires every waiter that is due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

// fakeMembers is what gossip reports, set by the test.
type fakeMembers struct {
	mu      sync.Mutex
	members map[string]cluster.MemberInfo
}

func newFakeMembers() *fakeMembers {
	return &fakeMembers{members: map[string]cluster.MemberInfo{}}
}

func (f *fakeMembers) set(name string, state cluster.MemberState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members[name] = cluster.MemberInfo{
		Name: name, GossipAddr: "127.0.0.1:1" + name, MemberID: "id-" + name,
		Address: name + ":7000", State: state,
	}
}

func (f *fakeMembers) add(info cluster.MemberInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members[info.Name] = info
}

func (f *fakeMembers) Members() []cluster.MemberInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]cluster.MemberInfo, 0, len(f.members))
	for _, m := range f.members {
		out = append(out, m)
	}
	return out
}

// fakeMigrate records migrations and finishes them as the test says.
type fakeMigrate struct {
	mu     sync.Mutex
	calls  []migrateCall
	fail   bool
	hold   bool // block until ctx is cancelled or release
	relsed chan struct{}
}

type migrateCall struct{ from, to View }

func newFakeMigrate() *fakeMigrate {
	return &fakeMigrate{relsed: make(chan struct{})}
}

func (f *fakeMigrate) Migrate(ctx context.Context, from, to View) error {
	f.mu.Lock()
	f.calls = append(f.calls, migrateCall{from, to})
	fail, hold, rel := f.fail, f.hold, f.relsed
	f.mu.Unlock()
	if hold {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-rel:
		}
	}
	if fail {
		return context.DeadlineExceeded
	}
	return nil
}

func (f *fakeMigrate) callsNow() []migrateCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]migrateCall(nil), f.calls...)
}

func (f *fakeMigrate) configure(fail, hold bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail, f.hold = fail, hold
}

func (f *fakeMigrate) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.relsed)
	f.relsed = make(chan struct{})
}

// testLogger routes logs to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{
		Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// openStore opens a Pebble store in dir, closed when the test ends.
func openStore(t *testing.T, dir string) *persistence.Store {
	t.Helper()
	s, err := persistence.Open(filepath.Join(dir, "pebble"), persistence.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// harness is one Manager with its fakes.
type harness struct {
	t       *testing.T
	m       *Manager
	clock   *fakeClock
	members *fakeMembers
	migrate *fakeMigrate
	store   *persistence.Store
}

func newHarness(t *testing.T, self string, store *persistence.Store) *harness {
	t.Helper()
	h := &harness{t: t, clock: newFakeClock(), members: newFakeMembers(),
		migrate: newFakeMigrate(), store: store}
	if h.store == nil {
		h.store = openStore(t, t.TempDir())
	}
	m, err := New(Config{NodeName: self, Store: h.store, Migrate: h.migrate.Migrate,
		Clock: h.clock, PollInterval: time.Second, RetryInterval: 5 * time.Second,
		Logger: testLogger(t).With("node", self)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.m = m
	t.Cleanup(m.Stop)
	h.members.set(self, cluster.MemberAlive)
	return h
}

func (h *harness) start() {
	h.t.Helper()
	if err := h.m.Start(h.members); err != nil {
		h.t.Fatalf("Start: %v", err)
	}
}

// until steps the clock one poll at a time until cond holds, failing
// after a bounded number of polls or a wall-clock deadline.
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; status %+v", what, h.m.Status())
		}
		h.clock.Advance(time.Second)
		time.Sleep(time.Millisecond)
	}
}
