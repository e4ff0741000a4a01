// Package ring decides which nodes replicate each register. The ring is the
// set of nodes that ever joined and were not removed by an operator; a dead
// node stays in it. During a join or a removal the ring also carries the
// previous node set, and quorums are then joint over both.
//
// A View places keys (Replicas, Rendezvous). The ring's own state (State:
// the view, per-node "migration done" epochs and the tombstones of removed
// names) is a value with pure transitions (Join, Remove, MarkDone, Settle)
// and a commutative, idempotent Merge, so nodes that exchange it in any
// order agree.
//
// A Manager owns one node's copy: it persists it in the node's store,
// spreads it through memberlist's push/pull (it is the
// cluster.Config.State), adds live nodes, removes nodes on an operator's
// request, runs this node's migration after each change and drops the
// previous set once every live node finished. Callers create it with New
// before the membership provider (which needs it as its StateDelegate),
// call Start once the node is a started cluster member, and Stop before
// closing the store.
package ring

import (
	"cmp"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// ReplicationFactor is how many nodes hold each register (fewer when the
// ring is smaller).
const ReplicationFactor = 3

// Node is one ring member. Address is its Proto.Actor remote address
// (host:port), where its register acceptor answers.
type Node struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// View is one version of the ring. Previous is the node set before the
// latest join or removal, kept until every live node has copied the
// registers that moved; it is nil when the ring is stable.
type View struct {
	Epoch    uint64
	Nodes    []Node
	Previous []Node
}

// Replicas returns the replicas of key under the current node set and,
// while a ring change is in progress, under the previous one (nil when
// stable).
func (v View) Replicas(key string) (current, previous []Node) {
	current = Rendezvous(v.Nodes, key, ReplicationFactor)
	if v.Previous != nil {
		previous = Rendezvous(v.Previous, key, ReplicationFactor)
	}
	return current, previous
}

// Rendezvous returns the min(n, len(nodes)) nodes with the highest
// rendezvous score for key, best first. The score of a node is
// xxhash64(name + "\x00" + key); equal scores fall back to the name so
// every node computes the same order.
func Rendezvous(nodes []Node, key string, n int) []Node {
	if n <= 0 || len(nodes) == 0 {
		return nil
	}
	type scored struct {
		node  Node
		score uint64
	}
	all := make([]scored, len(nodes))
	for i, node := range nodes {
		all[i] = scored{node: node, score: score(node.Name, key)}
	}
	slices.SortFunc(all, func(a, b scored) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.node.Name, b.node.Name)
	})
	n = min(n, len(all))
	top := make([]Node, n)
	for i := range top {
		top[i] = all[i].node
	}
	return top
}

// score hashes name + "\x00" + key. Short inputs (every real one) are
// joined in a stack buffer and hashed in one call, which is several times
// faster than streaming the three parts.
func score(name, key string) uint64 {
	var buf [256]byte
	if len(name)+1+len(key) <= len(buf) {
		b := append(buf[:0], name...)
		b = append(b, 0)
		b = append(b, key...)
		return xxhash.Sum64(b)
	}
	d := xxhash.New()
	_, _ = d.WriteString(name)
	_, _ = d.WriteString("\x00")
	_, _ = d.WriteString(key)
	return d.Sum64()
}
