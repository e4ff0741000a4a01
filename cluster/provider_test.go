package cluster

import (
	"fmt"
	"net"
	"testing"
	"time"

	protocluster "github.com/asynkron/protoactor-go/cluster"

	"github.com/herald-im/herald/messages"
)

// askBadge sends GetBadge to grain id of kind "badge" through n.
func askBadge(t *testing.T, n *testNode, id string) {
	t.Helper()
	res, err := n.cluster.Request(id, "badge", &messages.GetBadge{},
		protocluster.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatalf("%v: Request(%q): %v", n, id, err)
	}
	reply, ok := res.(*messages.BadgeReply)
	if !ok || reply.GetCount() != 7 {
		t.Fatalf("%v: Request(%q) = %#v, want BadgeReply{Count: 7}", n, id, res)
	}
}

// Three members form a cluster through one seed; grains answer from any
// node; a killed member is dropped by the others; a client joined
// through the seed reaches the grains and is never a member.
func TestClusterMembersGrainsKillAndClient(t *testing.T) {
	t.Parallel()
	a := startNode(t, "a", false)
	seed := a.provider.GossipAddr()
	b := startNode(t, "b", false, seed)
	c := startNode(t, "c", false, seed)

	// Every node sees all three, in memberlist and in Proto.Actor.
	for _, n := range []*testNode{a, b, c} {
		waitFor(t, 10*time.Second, n.String()+" seeing three members", func() bool {
			return len(aliveNames(n.provider)) == 3 && topologyIs(n, a, b, c)
		})
		if !n.provider.Joined() {
			t.Errorf("%v: Joined() = false, want true", n)
		}
	}

	// Requests from b reach grains, some of them placed on other nodes.
	for i := range 10 {
		askBadge(t, b, fmt.Sprintf("org#app/user%d", i))
	}
	total := a.hits.Load() + b.hits.Load() + c.hits.Load()
	if total != 10 {
		t.Fatalf("grains answered %d requests, want 10", total)
	}
	if b.hits.Load() == 10 {
		t.Errorf("all 10 grains were placed on b; placement ignores a and c")
	}

	// Kill c: a and b declare it dead and drop it from the topology.
	killed := time.Now()
	c.kill()
	for _, n := range []*testNode{a, b} {
		waitFor(t, 10*time.Second, n.String()+" dropping c", func() bool {
			_, alive := aliveNames(n.provider)["c"]
			return !alive && topologyIs(n, a, b)
		})
	}
	t.Logf("killed node dropped after %v", time.Since(killed).Round(10*time.Millisecond))
	askBadge(t, a, "org#app/after-kill")

	// A client joins through the seed, calls grains, and is not a member.
	cl := startNode(t, "client", true, seed)
	waitFor(t, 10*time.Second, "client seeing a and b", func() bool {
		return topologyIs(cl, a, b)
	})
	askBadge(t, cl, "org#app/user1")
	askBadge(t, cl, "org#app/from-client")
	waitFor(t, 10*time.Second, "a seeing the client in gossip", func() bool {
		m, ok := aliveNames(a.provider)["client"]
		return ok && m.Client && len(m.Kinds) == 0
	})
	if !topologyIs(a, a, b) {
		t.Errorf("a's topology = %v after the client joined, want a and b",
			a.topology.Load().GetMembers())
	}
}

// A member cut off from the others is declared dead and blocked by them
// while it still runs. When the network heals it learns that both peers
// blocked it and closes Dead; the peers, each blocked by that one node
// only, stay. A client that blocked a live member closes Dead too.
func TestClusterNodeDeclaredDeadMustExit(t *testing.T) {
	t.Parallel()
	cut := newPartition()
	a := startNode(t, "a", false)
	seed := a.provider.GossipAddr()
	b := startNode(t, "b", false, seed)
	c := startNodeWith(t, "c", nodeOptions{net: cut}, seed)
	for _, n := range []*testNode{a, b, c} {
		waitFor(t, 10*time.Second, n.String()+" seeing three members", func() bool {
			return topologyIs(n, a, b, c)
		})
	}

	// Cut c off until both sides have declared the other dead, then heal.
	cut.set(true)
	for _, n := range []*testNode{a, b} {
		waitFor(t, 10*time.Second, n.String()+" dropping c", func() bool {
			return topologyIs(n, a, b)
		})
	}
	waitFor(t, 20*time.Second, "c dropping a and b", func() bool {
		return topologyIs(c, c)
	})
	cut.set(false)

	select {
	case <-c.provider.Dead():
	case <-time.After(20 * time.Second):
		t.Fatalf("c never learned that its peers declared it dead")
	}
	// c told a and b that it blocked them too; one blocker of two peers
	// must not make them exit. Wait until a has weighed c's notice.
	waitFor(t, 10*time.Second, "a hearing from c", func() bool {
		a.provider.mu.Lock()
		defer a.provider.mu.Unlock()
		return a.provider.blockedBy[c.system.ID]
	})
	a.provider.sync(time.Now())
	for _, n := range []*testNode{a, b} {
		select {
		case <-n.provider.Dead():
			t.Errorf("%v is dead, want only c dead", n)
		default:
		}
	}

	// c exits, as the node does on Dead. A client that then blocks a
	// live member cannot route to it any more.
	c.stopOnce.Do(func() {
		c.cluster.Shutdown(false)
		_ = c.provider.Shutdown(true)
	})
	waitFor(t, 10*time.Second, "a seeing c gone", func() bool {
		_, alive := aliveNames(a.provider)["c"]
		return !alive
	})
	cl := startNode(t, "client", true, seed)
	waitFor(t, 10*time.Second, "client seeing a and b", func() bool {
		return topologyIs(cl, a, b)
	})
	cl.cluster.Remote.BlockList().Block(a.system.ID)
	select {
	case <-cl.provider.Dead():
	case <-time.After(10 * time.Second):
		t.Fatalf("client did not notice it blocked a live member")
	}
}

// A node that leaves gracefully is dropped without failure detection.
func TestClusterGracefulLeave(t *testing.T) {
	t.Parallel()
	a := startNode(t, "a", false)
	b := startNode(t, "b", false, a.provider.GossipAddr())
	waitFor(t, 10*time.Second, "a seeing b", func() bool { return topologyIs(a, a, b) })

	b.stopOnce.Do(func() {
		b.cluster.Shutdown(false)
		if err := b.provider.Shutdown(true); err != nil {
			t.Errorf("Shutdown(true) = %v", err)
		}
	})
	waitFor(t, 10*time.Second, "a dropping b", func() bool {
		m := a.provider.Members()
		return topologyIs(a, a) && len(m) == 2 && m[1].Name == "b" && m[1].State == MemberDead
	})
	if b.provider.Joined() {
		t.Errorf("b.Joined() = true after Shutdown, want false")
	}
}

// A lone node with no seeds is a cluster of one and ready.
func TestClusterAloneIsJoined(t *testing.T) {
	t.Parallel()
	a := startNode(t, "solo", false)
	if !a.provider.Joined() {
		t.Fatalf("Joined() = false for a node without seeds")
	}
	askBadge(t, a, "org#app/me")
	got := a.provider.Members()
	if len(got) != 1 || got[0].MemberID != a.system.ID || got[0].Address != a.system.Address() {
		t.Fatalf("Members() = %+v, want only itself with id %s at %s",
			got, a.system.ID, a.system.Address())
	}
}

// Nodes sharing a gossip key form a cluster; a node with another key
// cannot join them.
func TestClusterGossipKey(t *testing.T) {
	t.Parallel()
	key := []byte("0123456789abcdef")
	a := startNodeWith(t, "a", nodeOptions{key: key})
	b := startNodeWith(t, "b", nodeOptions{key: key}, a.provider.GossipAddr())
	waitFor(t, 10*time.Second, "a and b converging", func() bool {
		return topologyIs(a, a, b) && topologyIs(b, a, b)
	})

	other := []byte("fedcba9876543210")
	c := startNodeWith(t, "c", nodeOptions{key: other}, a.provider.GossipAddr())
	if c.provider.Joined() {
		t.Errorf("node with another key: Joined() = true, want false")
	}
	if _, seen := aliveNames(a.provider)["c"]; seen {
		t.Errorf("a sees c, which gossips under another key")
	}
}

// A node whose seed is not up yet keeps trying and joins once it is.
func TestClusterJoinRetriesUntilSeedUp(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("reserve a port: %v", err)
	}
	seed := l.Addr().String()
	l.Close()

	b := startNode(t, "b", false, seed)
	if b.provider.Joined() {
		t.Fatalf("Joined() = true before any seed was up")
	}
	a := startNodeWith(t, "a", nodeOptions{addr: seed})
	waitFor(t, 10*time.Second, "b joining a", func() bool {
		return b.provider.Joined() && topologyIs(b, a, b) && topologyIs(a, a, b)
	})
}
