package cluster

import (
	"fmt"
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

// A node whose member id a majority of its peers blocked (they declared
// it dead before) learns so and closes Dead; so does a client that
// blocked a member that is still alive.
func TestClusterBlockedNodeMustExit(t *testing.T) {
	a := startNode(t, "a", false)
	seed := a.provider.GossipAddr()
	b := startNode(t, "b", false, seed)
	c := startNode(t, "c", false, seed)
	cl := startNode(t, "client", true, seed)
	for _, n := range []*testNode{a, b, c, cl} {
		waitFor(t, 10*time.Second, n.String()+" seeing three members", func() bool {
			return topologyIs(n, a, b, c)
		})
	}

	// One of two peers blocking c is no majority: c must stay. The check
	// runs on every sync, so once a has sent its notice and c has synced
	// twice more, c has weighed it.
	a.cluster.Remote.BlockList().Block(c.system.ID)
	waitFor(t, 10*time.Second, "c hearing from a", func() bool {
		c.provider.mu.Lock()
		defer c.provider.mu.Unlock()
		return c.provider.blockedBy["a"]
	})
	c.provider.sync(time.Now())
	select {
	case <-c.provider.Dead():
		t.Fatalf("c is dead after one of two peers blocked it")
	default:
	}

	// Both peers blocking c is a majority.
	b.cluster.Remote.BlockList().Block(c.system.ID)
	select {
	case <-c.provider.Dead():
	case <-time.After(10 * time.Second):
		t.Fatalf("c did not learn that both peers blocked it")
	}
	for _, n := range []*testNode{a, b} {
		select {
		case <-n.provider.Dead():
			t.Errorf("%v is dead, want only c dead", n)
		default:
		}
	}

	// A client that blocked a live member cannot route to it any more.
	cl.cluster.Remote.BlockList().Block(a.system.ID)
	select {
	case <-cl.provider.Dead():
	case <-time.After(10 * time.Second):
		t.Fatalf("client did not notice it blocked a live member")
	}
}

// A node that leaves gracefully is dropped without failure detection.
func TestClusterGracefulLeave(t *testing.T) {
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
