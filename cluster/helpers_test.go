package cluster

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/herald-im/herald/messages"
)

// testLogger routes logs to t.Log until the test ends; protoactor
// goroutines that log after that are dropped instead of panicking.
func testLogger(t *testing.T, level slog.Level) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(p))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

var _ io.Writer = (*testWriter)(nil)

// testNode is one in-process Proto.Actor system with our provider.
type testNode struct {
	name     string
	system   *actor.ActorSystem
	cluster  *protocluster.Cluster
	provider *Provider
	hits     *atomic.Int64 // GetBadge requests answered by grains here

	isClient bool
	stopOnce sync.Once

	// topology is the last member set Proto.Actor published; reading
	// MemberList.Members directly races with its updates.
	topology atomic.Pointer[protocluster.ClusterTopology]
}

// badgeKind is a tiny grain kind answering GetBadge with BadgeReply and
// counting answers in hits.
func badgeKind(hits *atomic.Int64) *protocluster.Kind {
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*messages.GetBadge); ok {
			hits.Add(1)
			ctx.Respond(&messages.BadgeReply{Count: 7})
		}
	})
	return protocluster.NewKind("badge", props)
}

// startNode starts a member (or, with client, a cluster client) on
// 127.0.0.1 joined through seeds. The node is killed at test end.
func startNode(t *testing.T, name string, client bool, seeds ...string) *testNode {
	t.Helper()
	return startNodeWith(t, name, nodeOptions{client: client}, seeds...)
}

// nodeOptions are the less common settings of a test node.
type nodeOptions struct {
	client bool
	addr   string     // gossip bind; default 127.0.0.1:0
	key    []byte     // gossip key
	net    *partition // when set, the node's gossip goes through it
}

// startNodeWith is startNode with options.
func startNodeWith(t *testing.T, name string, o nodeOptions, seeds ...string) *testNode {
	t.Helper()
	client := o.client
	logger := testLogger(t, slog.LevelWarn).With(slog.String("test_node", name))
	if o.addr == "" {
		o.addr = "127.0.0.1:0"
	}
	cfg := Config{
		NodeName:   name,
		GossipAddr: o.addr,
		Seeds:      seeds,
		SecretKey:  o.key,
		Logger:     logger,
	}
	if o.net != nil {
		cfg.wrapTransport = o.net.wrap
	}
	p, err := NewProvider(cfg)
	if err != nil {
		t.Fatalf("NewProvider(%s): %v", name, err)
	}

	system := actor.NewActorSystem(actor.WithLoggerFactory(
		func(*actor.ActorSystem) *slog.Logger { return logger }))
	n := &testNode{name: name, system: system, provider: p, hits: new(atomic.Int64),
		isClient: client}
	var opts []protocluster.ConfigOption
	if !client {
		opts = append(opts, protocluster.WithKinds(badgeKind(n.hits)))
	}
	pcfg := protocluster.Configure("herald-test", p, disthash.New(),
		remote.Configure("127.0.0.1", 0), opts...)
	n.cluster = protocluster.New(system, pcfg)
	system.EventStream.Subscribe(func(ev any) {
		if tp, ok := ev.(*protocluster.ClusterTopology); ok {
			n.topology.Store(tp)
		}
	})
	if client {
		n.cluster.StartClient()
	} else {
		n.cluster.StartMember()
	}
	t.Cleanup(n.kill)
	return n
}

// kill stops the node the way a killed process disappears: no leave.
// Cluster.Shutdown panics on a client (its gossiper never started), so a
// client's parts are stopped one by one.
func (n *testNode) kill() {
	n.stopOnce.Do(func() {
		if n.isClient {
			n.system.Shutdown()
			n.cluster.Remote.Shutdown(false)
		} else {
			n.cluster.Shutdown(false)
		}
		_ = n.provider.Shutdown(false)
	})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// aliveNames lists the names Members reports alive.
func aliveNames(p *Provider) map[string]MemberInfo {
	out := map[string]MemberInfo{}
	for _, m := range p.Members() {
		if m.State == MemberAlive {
			out[m.Name] = m
		}
	}
	return out
}

// topologyIs reports whether n's Proto.Actor member list holds exactly
// the member ids of want.
func topologyIs(n *testNode, want ...*testNode) bool {
	tp := n.topology.Load()
	if tp == nil || len(tp.Members) != len(want) {
		return false
	}
	ids := map[string]bool{}
	for _, m := range tp.Members {
		ids[m.Id] = true
	}
	for _, w := range want {
		if !ids[w.system.ID] {
			return false
		}
	}
	return true
}

func (n *testNode) String() string { return fmt.Sprintf("node %s", n.name) }
