package replication

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/herald-im/herald/persistence"
	"github.com/herald-im/herald/ring"
)

// testWriter routes a logger's output to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t},
		&slog.HandlerOptions{Level: slog.LevelWarn}))
}

// membership is the static ring and liveness all test nodes share: the
// test decides the view and who is dead.
type membership struct {
	mu   sync.Mutex
	view atomic.Pointer[ring.View] // replaced, never changed in place
	dead map[string]bool
}

func (m *membership) setView(v ring.View) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.view.Store(&v)
}

func (m *membership) setDead(name string, dead bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dead[name] = dead
}

// setAddress records a node's new remote address after a restart, in
// both node sets of the view.
func (m *membership) setAddress(name, addr string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := *m.view.Load()
	v.Nodes = slices.Clone(v.Nodes)
	if v.Previous != nil {
		v.Previous = slices.Clone(v.Previous)
	}
	for _, set := range [][]ring.Node{v.Nodes, v.Previous} {
		for i := range set {
			if set[i].Name == name {
				set[i].Address = addr
			}
		}
	}
	m.view.Store(&v)
}

// source is one node's RingSource over the shared membership.
type source struct {
	m    *membership
	name string
}

func (s source) View() ring.View {
	return *s.m.view.Load()
}

func (s source) Self() ring.Node {
	v := s.View()
	for _, n := range append(v.Nodes, v.Previous...) {
		if n.Name == s.name {
			return n
		}
	}
	return ring.Node{Name: s.name}
}

func (s source) Alive(name string) bool {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return !s.m.dead[name]
}

// testNode is one in-process node: its own Pebble directory, actor
// system with remote on 127.0.0.1, acceptor and registers.
type testNode struct {
	t    testing.TB
	name string
	dir  string
	m    *membership

	store  *persistence.Store
	system *actor.ActorSystem
	remote *remote.Remote
	pid    *actor.PID
	regs   *Registers
	up     bool
}

func (n *testNode) start() {
	n.t.Helper()
	store, err := persistence.Open(n.dir, persistence.Options{SoftSyncInterval: time.Hour})
	if err != nil {
		n.t.Fatalf("%s: open store: %v", n.name, err)
	}
	logger := testLogger(n.t).With("node", n.name)
	// Proto.Actor reports every peer the test stops as a lost connection;
	// its log would bury the test's own.
	quiet := slog.New(slog.DiscardHandler)
	system := actor.NewActorSystem(actor.WithLoggerFactory(
		func(*actor.ActorSystem) *slog.Logger { return quiet }))
	r := remote.NewRemote(system, remote.Configure("127.0.0.1", 0))
	r.Start()
	pid, err := SpawnAcceptor(system, store, logger)
	if err != nil {
		n.t.Fatalf("%s: %v", n.name, err)
	}
	n.store, n.system, n.remote, n.pid = store, system, r, pid
	n.regs = NewRegisters(system, store, source{m: n.m, name: n.name}, logger)
	n.up = true
	n.m.setAddress(n.name, system.Address())
	n.m.setDead(n.name, false)
}

// stop takes the node down the way a crash would for its peers: it is
// reported dead, stops answering, and its store is closed.
func (n *testNode) stop() {
	n.t.Helper()
	if !n.up {
		return
	}
	n.up = false
	n.m.setDead(n.name, true)
	n.regs.Close()
	n.remote.Shutdown(false)
	if err := n.system.Root.StopFuture(n.pid).Wait(); err != nil {
		n.t.Errorf("%s: stop acceptor: %v", n.name, err)
	}
	n.system.Shutdown()
	if err := n.store.Close(); err != nil {
		n.t.Errorf("%s: close store: %v", n.name, err)
	}
}

type testCluster struct {
	m     *membership
	nodes map[string]*testNode
}

// startCluster starts one node per name and makes them the ring.
func startCluster(t testing.TB, names ...string) *testCluster {
	t.Helper()
	c := &testCluster{m: &membership{dead: map[string]bool{}}, nodes: map[string]*testNode{}}
	var nodes []ring.Node
	for _, name := range names {
		nodes = append(nodes, ring.Node{Name: name})
	}
	c.m.setView(ring.View{Epoch: 1, Nodes: nodes})
	for _, name := range names {
		c.add(t, name)
	}
	return c
}

// add starts a node; the test puts it in the view.
func (c *testCluster) add(t testing.TB, name string) *testNode {
	n := &testNode{t: t, name: name, dir: t.TempDir(), m: c.m}
	c.nodes[name] = n
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (c *testCluster) node(name string) *testNode {
	return c.nodes[name]
}

// ringNodes returns the named nodes with their current addresses.
func (c *testCluster) ringNodes(names ...string) []ring.Node {
	out := make([]ring.Node, len(names))
	for i, name := range names {
		addr := ""
		if n := c.nodes[name]; n != nil && n.up {
			addr = n.system.Address()
		}
		out[i] = ring.Node{Name: name, Address: addr}
	}
	return out
}

func activate(t testing.TB, n *testNode, key string) (persistence.Lease, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lease, value, err := n.regs.Activate(ctx, key)
	if err != nil {
		t.Fatalf("%s: Activate(%q): %v", n.name, key, err)
	}
	return lease, value
}

func write(t testing.TB, n *testNode, l persistence.Lease, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Write(ctx, []byte(value)); err != nil {
		t.Fatalf("%s: Write(%q): %v", n.name, value, err)
	}
}

// stored returns the value a node's own replica holds for key.
func stored(t testing.TB, n *testNode, key string) (persistence.Version, string) {
	t.Helper()
	v, value, err := n.store.Get(key)
	if err != nil {
		t.Fatalf("%s: Get(%q): %v", n.name, key, err)
	}
	return v, string(value)
}

// waitFor polls cond until it holds, failing the test after a deadline.
// The deadline only bounds a broken run; nothing asserts on timing.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func userKey(i int) string {
	return persistence.UserKey("org#app", fmt.Sprintf("u%04d", i))
}

// waitStored waits until n's replica holds value for key.
func waitStored(t testing.TB, n *testNode, key, value string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s to hold %q for %s", n.name, value, key), func() bool {
		_, v := stored(t, n, key)
		return v == value
	})
}
