package ring

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/herald-im/herald/cluster"
)

// gossipNode is one in-process node wired the way a Herald node wires
// the ring: Manager first (it is the provider's StateDelegate), then the
// provider and the Proto.Actor member, then Start.
type gossipNode struct {
	name     string
	ring     *Manager
	provider *cluster.Provider
	pc       *protocluster.Cluster
}

// quietLog routes warnings to t.Log until the test ends; Proto.Actor
// goroutines that log later are dropped.
type quietLog struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *quietLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(p))
	}
	return len(p), nil
}

func startGossipNode(t *testing.T, name string, seeds ...string) *gossipNode {
	t.Helper()
	w := &quietLog{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn})).
		With("node", name)

	n := &gossipNode{name: name}
	var err error
	n.ring, err = New(Config{NodeName: name, Store: openStore(t, t.TempDir()),
		Migrate: func(context.Context, View, View) error { return nil }, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	n.provider, err = cluster.NewProvider(cluster.Config{NodeName: name,
		GossipAddr: "127.0.0.1:0", Seeds: seeds, State: n.ring, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(
		func(*actor.ActorSystem) *slog.Logger { return logger }))
	n.pc = protocluster.New(system, protocluster.Configure("ring-test", n.provider,
		disthash.New(), remote.Configure("127.0.0.1", 0)))
	n.pc.StartMember()
	t.Cleanup(func() {
		n.ring.Stop()
		n.pc.Shutdown(false)
		_ = n.provider.Shutdown(false)
	})
	if err := n.ring.Start(n.provider); err != nil {
		t.Fatal(err)
	}
	return n
}

// Real memberlist gossip: three nodes agree on a ring of three, and a
// fourth node that joins later adopts the cluster's ring through the
// join's state exchange instead of founding a ring of its own.
func TestGossipNodesAgreeOnRing(t *testing.T) {
	if raceEnabled {
		// TODO: run under -race once the races below are fixed. They are
		// outside this package: cluster.Provider.checkMemberBlocks reads
		// protoactor's BlockList while protoactor's gossip writes it, and
		// protoactor's MemberList shares an ImmutableSet across goroutines.
		t.Skip("protoactor-go and cluster/ race on topology changes; see TODO")
	}
	a := startGossipNode(t, "a")
	if v := a.ring.View(); !slices.Equal(viewNames(v), []string{"a"}) {
		t.Fatalf("first node's ring = %+v, want [a]", v)
	}
	if self := a.ring.Self(); self.Address == "" || self.Address != a.pc.ActorSystem.Address() {
		t.Fatalf("Self() = %+v, want the actor system address %s", self,
			a.pc.ActorSystem.Address())
	}

	seed := a.provider.GossipAddr()
	b := startGossipNode(t, "b", seed)
	c := startGossipNode(t, "c", seed)
	nodes := []*gossipNode{a, b, c}
	want := []string{"a", "b", "c"}
	waitRing(t, nodes, want)

	d := startGossipNode(t, "d", seed)
	// Right after Start, d already extends the cluster's ring.
	if v := d.ring.View(); len(v.Nodes) < 4 || v.Epoch <= 1 {
		t.Fatalf("d's ring right after Start = %+v, want the cluster's ring plus d", v)
	}
	waitRing(t, append(nodes, d), append(want, "d"))
}

// waitRing waits until every node's ring is exactly want.
func waitRing(t *testing.T, nodes []*gossipNode, want []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := true
		for _, n := range nodes {
			ok = ok && slices.Equal(viewNames(n.ring.View()), want)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			for _, n := range nodes {
				t.Logf("%s: %+v", n.name, n.ring.View())
			}
			t.Fatalf("rings did not become %v", want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
